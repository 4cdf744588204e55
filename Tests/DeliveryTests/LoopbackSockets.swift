import Foundation

/// Raw loopback sockets for hostile-client tests: the answer of one exchange within a deadline,
/// and a crowd of slow clients that never finish their request headers.
///
/// Everything here blocks, so tests call it through ``LoopbackSockets/offPool(_:)``: the
/// listener's handlers need the cooperative pool.
enum LoopbackSockets {
    /// Runs `body` on a fresh thread and returns its result.
    static func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: body()) }
        }
    }

    /// A TCP socket bound to `source` (any address of 127/8 routes to `lo` on Linux), or -1.
    static func socket(source: String) -> Int32 {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_addr.s_addr = inet_addr(source)
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else {
            close(fd)
            return -1
        }
        return fd
    }

    static func connect(_ fd: Int32, port: Int) -> Int32 {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }

    /// Sends `request` from 127.0.0.1 and reads until the server closes, `timeout` passes, or a
    /// complete answer (headers plus `Content-Length` bytes) arrived. Returns the text and the time taken.
    static func exchange(port: Int, _ request: [UInt8], timeout: Duration) -> (text: String, elapsed: Duration) {
        let clock = ContinuousClock()
        let start = clock.now
        let fd = socket(source: "127.0.0.1")
        guard fd >= 0 else { return ("", .zero) }
        defer { close(fd) }
        let seconds = timeout.components.seconds
        let micros = timeout.components.attoseconds / 1_000_000_000_000
        var limit = timeval(tv_sec: Int(seconds), tv_usec: Int(micros))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, port: port) == 0 else { return ("", clock.now - start) }
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while clock.now - start < timeout {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received += buffer[0..<count]
            if isComplete(received) { break }
        }
        return (String(decoding: received, as: UTF8.self), clock.now - start)
    }

    private static func isComplete(_ bytes: [UInt8]) -> Bool {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let end = text.range(of: "\r\n\r\n") else { return false }
        let head = text[..<end.lowerBound].lowercased()
        guard let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
            let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
        else { return false }
        return text[end.upperBound...].utf8.count >= length
    }
}

/// Many connections from one source address that send a partial header line and then trickle
/// one byte now and then, as a Slowloris attack does.
///
/// - Important: not thread-safe: the test hands it from one ``LoopbackSockets/offPool(_:)`` call
///   to the next, awaiting each before the next starts, which is what makes `@unchecked Sendable` safe.
final class SlowClients: @unchecked Sendable {
    private var sockets: [Int32] = []
    /// Connections the kernel refused or could not make (the server's backlog was full).
    private(set) var failedToConnect = 0

    /// Opens `count` non-blocking connections from `source` and sends each a partial request.
    init(count: Int, port: Int, source: String) {
        for _ in 0..<count {
            let fd = LoopbackSockets.socket(source: source)
            guard fd >= 0 else {
                failedToConnect += 1
                continue
            }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            let result = LoopbackSockets.connect(fd, port: port)
            if result != 0 && errno != EINPROGRESS {
                failedToConnect += 1
                close(fd)
                continue
            }
            sockets.append(fd)
        }
        // Wait (bounded) for the handshakes, then start every request without finishing it.
        let deadline = ContinuousClock.now + .seconds(3)
        var pending = Set(sockets)
        while !pending.isEmpty, ContinuousClock.now < deadline {
            var polls = pending.map { pollfd(fd: $0, events: Int16(POLLOUT), revents: 0) }
            _ = poll(&polls, nfds_t(polls.count), 100)
            for entry in polls where entry.revents != 0 { pending.remove(entry.fd) }
        }
        let start = Array("POST /receipts/slow HTTP/1.1\r\nHost: x\r\nX-Slow: a".utf8)
        for fd in sockets {
            _ = start.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
    }

    /// Sends one more byte of the unfinished header line on every connection still open, and
    /// forgets those the server closed.
    func drip() {
        var open: [Int32] = []
        var byte = UInt8(ascii: "a")
        for fd in sockets {
            var peek: UInt8 = 0
            let closedByServer = recv(fd, &peek, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) == 0
            if closedByServer || send(fd, &byte, 1, Int32(MSG_NOSIGNAL)) < 0 && errno != EAGAIN {
                close(fd)
            } else {
                open.append(fd)
            }
        }
        sockets = open
    }

    /// Connections not (yet) seen closed by the server.
    var openCount: Int { sockets.count }

    func closeAll() {
        for fd in sockets { close(fd) }
        sockets = []
    }
}
