import Glibc
import Synchronization

/// Tells systemd about the daemon's life cycle through the `sd_notify` protocol, without libsystemd.
///
/// systemd passes a datagram socket in `$NOTIFY_SOCKET` (a path, or `@name` for the abstract namespace)
/// to services with `Type=notify`; each message is one datagram of newline-separated `KEY=VALUE` lines
/// (`READY=1`, `STATUS=…`, `STOPPING=1`, `RELOADING=1`, `WATCHDOG=1`). When the variable is absent (the
/// daemon runs in a terminal or under another supervisor) every call is a no-op.
///
/// Failures (the socket went away, the path is too long) are swallowed and counted in `failureCount`:
/// a supervisor that stopped listening must never take the daemon down with it.
///
/// - Important: Thread-safe; each message opens, sends on and closes its own socket, as `sd_notify` does.
public final class SystemdNotifier: Sendable {
    /// The socket messages go to, as given in `$NOTIFY_SOCKET`, or `nil` when notifications are disabled.
    public let socketPath: String?
    /// The interval within which systemd expects `watchdog()`, from `$WATCHDOG_USEC`; `nil` when the
    /// watchdog is off or `$WATCHDOG_PID` names another process.
    ///
    /// Ping at half this interval, as `sd_watchdog_enabled(3)` recommends.
    public let watchdogInterval: Duration?

    /// The encoded `sockaddr_un` path bytes: a leading NUL for the abstract namespace.
    private let addressBytes: [UInt8]?
    private let failures = Atomic<Int>(0)
    private let sent = Atomic<Int>(0)

    /// Reads `$NOTIFY_SOCKET`, `$WATCHDOG_USEC` and `$WATCHDOG_PID` from `environment`.
    ///
    /// - Parameters:
    ///   - environment: The process environment (injected for tests).
    ///   - processID: Our pid, compared with `$WATCHDOG_PID`.
    public init(environment: [String: String], processID: Int32 = getpid()) {
        let path = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        if let path, let bytes = Self.encode(socketPath: path) {
            socketPath = path
            addressBytes = bytes
        } else {
            socketPath = nil
            addressBytes = nil
        }
        watchdogInterval = Self.watchdogInterval(environment: environment, processID: processID)
    }

    /// Whether `$NOTIFY_SOCKET` named a usable socket, i.e. whether messages are sent at all.
    public var isEnabled: Bool { addressBytes != nil }

    /// How many messages could not be delivered to the notification socket.
    public var failureCount: Int { failures.load(ordering: .relaxed) }

    /// How many messages were delivered to the notification socket.
    public var sentCount: Int { sent.load(ordering: .relaxed) }

    /// Start-up is complete: `READY=1` (with a `STATUS=` line when `status` is given).
    @discardableResult
    public func ready(status: String? = nil) -> Bool {
        var lines = [("READY", "1")]
        if let status { lines.append(("STATUS", status)) }
        return send(lines: lines)
    }

    /// A free-form status line shown by `systemctl status`: `STATUS=…`.
    @discardableResult
    public func status(_ text: String) -> Bool {
        send(lines: [("STATUS", text)])
    }

    /// Shutdown has begun (the drain grace period starts): `STOPPING=1`.
    @discardableResult
    public func stopping() -> Bool {
        send(lines: [("STOPPING", "1")])
    }

    /// A configuration reload has begun: `RELOADING=1` and `MONOTONIC_USEC=` (CLOCK_MONOTONIC, µs), as
    /// systemd ≥ 253 requires for `Type=notify-reload`. Send `ready()` when the reload is done.
    @discardableResult
    public func reloading() -> Bool {
        send(lines: [("RELOADING", "1"), ("MONOTONIC_USEC", String(Self.monotonicMicroseconds()))])
    }

    /// Keeps the watchdog (`WatchdogSec=`) from killing us: `WATCHDOG=1`.
    @discardableResult
    public func watchdog() -> Bool {
        send(lines: [("WATCHDOG", "1")])
    }

    /// Sends arbitrary fields in one datagram, keys in ascending order.
    ///
    /// Newlines in values are replaced by spaces (a newline would start a new field).
    /// - Returns: whether the datagram was delivered; `false` also when notifications are disabled.
    @discardableResult
    public func send(_ fields: [String: String]) -> Bool {
        send(lines: fields.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    }

    private func send(lines: [(String, String)]) -> Bool {
        guard let addressBytes else { return false }
        var message = ""
        for (key, value) in lines {
            message += key + "=" + value.replacing("\n", with: " ") + "\n"
        }
        if Self.sendDatagram(Array(message.utf8), to: addressBytes) {
            sent.add(1, ordering: .relaxed)
            return true
        }
        failures.add(1, ordering: .relaxed)
        return false
    }

    // MARK: - Socket plumbing

    /// `sun_path` bytes for a socket path, or `nil` when it is neither absolute nor abstract or too long.
    static func encode(socketPath: String) -> [UInt8]? {
        var bytes = Array(socketPath.utf8)
        let capacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)
        switch bytes.first {
        case UInt8(ascii: "@"):
            bytes[0] = 0
            guard bytes.count <= capacity else { return nil }
        case UInt8(ascii: "/"):
            guard bytes.count < capacity, !bytes.contains(0) else { return nil }  // room for the NUL
        default:
            return nil
        }
        return bytes
    }

    private static func sendDatagram(_ payload: [UInt8], to pathBytes: [UInt8]) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
        }
        // An abstract name's length is exact (no terminating NUL); a path's includes its NUL.
        let pathLength = pathBytes.first == 0 ? pathBytes.count : pathBytes.count + 1
        let length = socklen_t(MemoryLayout<sa_family_t>.size + pathLength)
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                payload.withUnsafeBytes { body in
                    var sent: Int
                    repeat {
                        sent = sendto(fd, body.baseAddress, body.count, Int32(MSG_NOSIGNAL), sa, length)
                    } while sent < 0 && errno == EINTR
                    return sent
                }
            }
        }
        return result == payload.count
    }

    private static func watchdogInterval(environment: [String: String], processID: Int32) -> Duration? {
        guard let text = environment["WATCHDOG_USEC"], let usec = UInt64(text), usec > 0,
            usec <= UInt64(Int64.max)
        else { return nil }
        if let pidText = environment["WATCHDOG_PID"], !pidText.isEmpty {
            guard let pid = Int32(pidText), pid == processID else { return nil }
        }
        return .microseconds(Int64(usec))
    }

    private static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
    }
}
