import Foundation
import HTTPServer
import Synchronization
import Testing

/// A blocking TCP connection to 127.0.0.1:`port` from `source` (any address of 127/8 routes to
/// `lo` on Linux, so tests can play several clients); -1 on failure. Receives time out after `timeout`.
private func connection(from source: String, port: Int, timeout: Int = 5) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return -1 }
    var limit = timeval(tv_sec: timeout, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    var local = sockaddr_in()
    local.sin_family = sa_family_t(AF_INET)
    local.sin_addr.s_addr = inet_addr(source)
    var remote = sockaddr_in()
    remote.sin_family = sa_family_t(AF_INET)
    remote.sin_port = in_port_t(UInt16(port).bigEndian)
    remote.sin_addr.s_addr = inet_addr("127.0.0.1")
    let ok = withUnsafePointer(to: &local) { localPointer in
        withUnsafePointer(to: &remote) { remotePointer in
            localPointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { l in
                remotePointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { r in
                    bind(fd, l, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                        && connect(fd, r, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
        }
    }
    guard ok else {
        close(fd)
        return -1
    }
    return fd
}

private func send(_ fd: Int32, _ text: String) {
    _ = Array(text.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
}

/// Reads until the peer closes (or resets) or the receive timeout passes; returns the text and
/// whether the peer closed.
private func readAll(_ fd: Int32) -> (text: String, closed: Bool) {
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count == 0 { return (String(decoding: received, as: UTF8.self), true) }
        if count < 0 { return (String(decoding: received, as: UTF8.self), errno == ECONNRESET) }
        received += buffer[0..<count]
    }
}

/// Runs blocking socket work on its own thread, off the cooperative pool the handlers need.
private func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: body()) }
    }
}

@Suite(.timeLimit(.minutes(1))) struct HTTPServerLimitsTests {
    @Test func oneAddressGetsAtMostItsShareOfConnections() async throws {
        let server = HTTPServer(configuration: .init(perIPConnectionLimit: 2), handler: echoHandler)
        try server.start()
        defer { server.stop() }
        let port = server.port
        let (held, third, other) = await offPool { () -> (Int, (String, Bool), String) in
            // Two unfinished requests from 127.0.0.2 fill its share...
            let first = connection(from: "127.0.0.2", port: port)
            let second = connection(from: "127.0.0.2", port: port)
            defer {
                close(first)
                close(second)
            }
            send(first, "GET /echo HTTP/1.1\r\nHost: x\r\n")
            send(second, "GET /echo HTTP/1.1\r\nHost: x\r\n")
            // ...so a third is closed without an answer, while 127.0.0.3 is served.
            let extra = connection(from: "127.0.0.2", port: port, timeout: 3)
            send(extra, "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let refused = readAll(extra)
            close(extra)
            let fine = connection(from: "127.0.0.3", port: port)
            send(fine, "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let served = readAll(fine).text
            close(fine)
            return ([first, second].filter { $0 >= 0 }.count, refused, served)
        }
        #expect(held == 2)
        #expect(third.0.isEmpty && third.1, "the third connection got \(third.0.prefix(30).debugDescription)")
        #expect(other.hasPrefix("HTTP/1.1 200"))
    }

    /// A client that stops sending is closed after the timeout; a handler that takes longer than
    /// the timeout still gets its answer through.
    @Test func idleClientsTimeOutButSlowHandlersDoNot() async throws {
        let server = HTTPServer(configuration: .init(connectionTimeout: 1)) { request in
            if request.path == "/slow" { try await Task.sleep(for: .milliseconds(2500)) }
            return .text("done")
        }
        try server.start()
        defer { server.stop() }
        let port = server.port
        let (idle, slow) = await offPool { () -> ((String, Bool, Duration), String) in
            let clock = ContinuousClock()
            let start = clock.now
            let stalled = connection(from: "127.0.0.1", port: port)
            send(stalled, "GET / HTTP/1.1\r\nHost: x\r\nX-Partial: ")
            let (text, closed) = readAll(stalled)
            close(stalled)
            let elapsed = clock.now - start
            let waiting = connection(from: "127.0.0.1", port: port)
            send(waiting, "GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let answer = readAll(waiting).text
            close(waiting)
            return ((text, closed, elapsed), answer)
        }
        #expect(idle.0.isEmpty && idle.1 && idle.2 < .seconds(4), "stalled client: closed \(idle.1) after \(idle.2)")
        #expect(slow.hasPrefix("HTTP/1.1 200") && slow.hasSuffix("done"))
    }

    @Test func configurationProblemsAreReportedByKeyPath() {
        #expect(HTTPServer.Configuration().validate().isEmpty)
        let bad = HTTPServer.Configuration(
            port: 70000, connectionLimit: 0, perIPConnectionLimit: -1, connectionTimeout: -1, threadPoolSize: 0)
        let problems = bad.validate()
        #expect(problems.count == 5)
        for key in ["port:", "connectionLimit:", "perIPConnectionLimit:", "connectionTimeout:", "threadPoolSize:"] {
            #expect(problems.contains { $0.hasPrefix(key) }, "\(key)")
        }
        let error = #expect(throws: HTTPServerError.self) {
            try HTTPServer(configuration: bad, handler: echoHandler).start()
        }
        #expect(error?.code == .invalidConfiguration)
    }
}

/// Timing-bound: runs with the other `RealTime` suites on a quiet machine (scripts/test), not
/// among the parallel tests, where two loaded cores once stretched 0.5 s to over 5.
@Suite(.timeLimit(.minutes(1))) struct HTTPServerRealTimeTests {
    /// One libmicrohttpd thread, forty requests whose handler takes half a second each: they are
    /// answered together, because a connection waits for its handler suspended, not on a thread.
    @Test func slowHandlersHoldNoThread() async throws {
        let server = HTTPServer(configuration: .init(perIPConnectionLimit: 0, threadPoolSize: 1)) { _ in
            try await Task.sleep(for: .milliseconds(500))
            return .text("late")
        }
        try server.start()
        defer { server.stop() }
        let port = server.port
        let clock = ContinuousClock()
        let elapsed = await clock.measure {
            await withTaskGroup(of: String.self) { group in
                for _ in 0..<40 {
                    group.addTask {
                        await rawExchange(port: port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    }
                }
                for await answer in group { #expect(answer.hasPrefix("HTTP/1.1 200") && answer.hasSuffix("late")) }
            }
        }
        // Held on the thread they would take 20 s; suspended, about 0.5 s.
        #expect(elapsed < .seconds(8), "40 × 0.5 s handlers took \(elapsed)")
    }
}
