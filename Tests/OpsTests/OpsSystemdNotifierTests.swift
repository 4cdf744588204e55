import Foundation
import Glibc
import Ops
import Testing

/// A datagram socket bound by the test, standing in for systemd's notification socket.
private final class NotifySocket {
    let fd: Int32
    let address: String
    private let directory: String?

    /// Binds `path` (a file in a fresh temporary directory) or, with `abstract`, an abstract name.
    init(abstract: Bool = false) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        let name: [UInt8]
        if abstract {
            address = "@policypush-test-\(UUID().uuidString.prefix(12))"
            name = [0] + Array(address.utf8.dropFirst())
            directory = nil
        } else {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
                "pp-notify-\(UUID().uuidString.prefix(8))"
            ).path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            directory = dir
            address = dir + "/notify"
            name = Array(address.utf8)
        }
        var sa = sockaddr_un()
        sa.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &sa.sun_path) { $0.copyBytes(from: name) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + name.count + (abstract ? 0 : 1))
        let result = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard fd >= 0, result == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    }

    /// The next queued datagram, or `nil` when none is waiting (a Unix datagram is queued by the time
    /// `sendto` returns, so no waiting is needed).
    func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        guard count >= 0 else { return nil }
        return String(decoding: buffer.prefix(count), as: UTF8.self)
    }

    deinit {
        close(fd)
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
    }
}

@Suite("Ops: SystemdNotifier")
struct OpsSystemdNotifierTests {
    @Test func withoutNotifySocketEverythingIsANoOp() {
        let notifier = SystemdNotifier(environment: [:])
        #expect(!notifier.isEnabled)
        #expect(!notifier.ready())
        #expect(notifier.failureCount == 0)
        #expect(notifier.watchdogInterval == nil)
    }

    @Test func relativeOrUnknownAddressesDisableNotifications() {
        #expect(!SystemdNotifier(environment: ["NOTIFY_SOCKET": "run/notify"]).isEnabled)
        #expect(!SystemdNotifier(environment: ["NOTIFY_SOCKET": "vsock:2:1234"]).isEnabled)
        #expect(!SystemdNotifier(environment: ["NOTIFY_SOCKET": "/" + String(repeating: "x", count: 200)]).isEnabled)
    }

    @Test func sendsEachMessageAsOneDatagramToAPathSocket() throws {
        let socket = try NotifySocket()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.address])
        #expect(notifier.isEnabled)

        #expect(notifier.ready(status: "serving 2 gateways"))
        #expect(socket.receive() == "READY=1\nSTATUS=serving 2 gateways\n")
        notifier.status("draining\n3 in flight")
        #expect(socket.receive() == "STATUS=draining 3 in flight\n")
        notifier.stopping()
        #expect(socket.receive() == "STOPPING=1\n")
        notifier.watchdog()
        #expect(socket.receive() == "WATCHDOG=1\n")
        notifier.send(["STATUS": "x", "ERRNO": "5"])
        #expect(socket.receive() == "ERRNO=5\nSTATUS=x\n")
        #expect(socket.receive() == nil)
        #expect(notifier.sentCount == 5)
        #expect(notifier.failureCount == 0)
    }

    @Test func reloadingCarriesTheMonotonicClock() throws {
        let socket = try NotifySocket()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.address])
        var before = timespec()
        clock_gettime(CLOCK_MONOTONIC, &before)
        notifier.reloading()
        let message = try #require(socket.receive())
        let lines = message.split(separator: "\n")
        #expect(lines.first == "RELOADING=1")
        let usec = try #require(lines.last.flatMap { UInt64($0.dropFirst("MONOTONIC_USEC=".count)) })
        #expect(lines.last?.hasPrefix("MONOTONIC_USEC=") == true)
        #expect(usec >= UInt64(before.tv_sec) * 1_000_000)
    }

    @Test func reachesAnAbstractSocket() throws {
        let socket = try NotifySocket(abstract: true)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.address])
        #expect(notifier.ready())
        #expect(socket.receive() == "READY=1\n")
    }

    @Test func aVanishedSocketIsCountedNotFatal() throws {
        var socket: NotifySocket? = try NotifySocket()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": try #require(socket?.address)])
        #expect(notifier.watchdog())
        socket = nil  // closed and its directory removed
        #expect(!notifier.watchdog())
        #expect(!notifier.stopping())
        #expect(notifier.failureCount == 2)
        #expect(notifier.sentCount == 1)
    }

    @Test func watchdogIntervalComesFromTheEnvironment() {
        let pid = getpid()
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "30000000"]).watchdogInterval == .seconds(30))
        #expect(
            SystemdNotifier(environment: ["WATCHDOG_USEC": "1500000", "WATCHDOG_PID": "\(pid)"]).watchdogInterval
                == .milliseconds(1500))
        #expect(
            SystemdNotifier(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "\(pid + 1)"]).watchdogInterval
                == nil)
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "0"]).watchdogInterval == nil)
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "soon"]).watchdogInterval == nil)
    }
}
