import Foundation
import HTTPServer
import Testing

/// A raw HTTP/1.1 exchange over a fresh loopback socket, on its own thread (blocking calls stay
/// off the cooperative pool, which the server's handlers need). Returns everything the server
/// sent until it closed the connection.
func rawExchange(port: Int, _ request: String) async -> String {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(returning: blockingExchange(port: port, Array(request.utf8)))
        }
    }
}

private func blockingExchange(port: Int, _ request: [UInt8]) -> String {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socket >= 0 else { return "" }
    defer { close(socket) }
    // Generous: on a loaded machine the handler waits for a cooperative thread; content, not speed, is tested.
    var timeout = timeval(tv_sec: 20, tv_usec: 0)
    setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else { return "" }
    _ = request.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, 0) }
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        if count <= 0 { break }
        received += buffer[0..<count]
    }
    return String(decoding: received, as: UTF8.self)
}

/// Answers `/echo` with what it received, everything else with 404.
@Sendable func echoHandler(_ request: HTTPServerRequest) async throws -> HTTPServerResponse {
    switch request.path {
    case "/echo":
        let query = request.query.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
        var response = HTTPServerResponse.text(request.bodyText, status: 200)
        response.headers.append(("X-Method", request.method))
        response.headers.append(("X-Query", query))
        response.headers.append(("X-Token", request.header("x-token") ?? "-"))
        response.headers.append(("X-Remote", request.remoteAddress ?? "-"))
        return response
    case "/fail":
        struct HandlerFailure: Error {}
        throw HandlerFailure()
    default:
        return .notFound
    }
}

@Suite struct HTTPServerTests {
    @Test func startsOnAnEphemeralPortAndStopsIdempotently() throws {
        let server = HTTPServer(handler: echoHandler)
        #expect(server.port == 0)
        try server.start()
        #expect(server.port > 0)
        #expect(throws: HTTPServerError.self) { try server.start() }
        server.stop()
        server.stop()
        #expect(server.port == 0)
        #expect(throws: HTTPServerError.self) { try server.start() }
    }

    @Test func getDecodesPathQueryAndHeaders() async throws {
        let server = HTTPServer(handler: echoHandler)
        try server.start()
        defer { server.stop() }
        let answer = await rawExchange(
            port: server.port,
            "GET /echo?name=%E7%A4%BA%E4%BE%8B&flag&n=1 HTTP/1.1\r\nHost: x\r\nX-TOKEN: abc\r\nConnection: close\r\n\r\n"
        )
        #expect(answer.hasPrefix("HTTP/1.1 200"))
        #expect(answer.contains("X-Method: GET"))
        #expect(answer.contains("X-Query: name=示例&flag=&n=1"))
        #expect(answer.contains("X-Token: abc"))
        #expect(answer.contains("X-Remote: 127.0.0.1"))
    }

    @Test func postBodyRoundTrips() async throws {
        let server = HTTPServer(handler: echoHandler)
        try server.start()
        defer { server.stop() }
        let body = #"{"phone":"13800000000","text":"减税降费"}"#
        let answer = await rawExchange(
            port: server.port,
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        )
        #expect(answer.hasPrefix("HTTP/1.1 200"))
        #expect(answer.contains("Content-Type: text/plain; charset=utf-8"))
        #expect(answer.hasSuffix(body))
    }

    @Test func oversizedBodyGets413() async throws {
        let server = HTTPServer(configuration: .init(maxBodyBytes: 16), handler: echoHandler)
        try server.start()
        defer { server.stop() }
        let body = String(repeating: "x", count: 100)
        let announced = await rawExchange(
            port: server.port,
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nConnection: close\r\n\r\n\(body)"
        )
        #expect(announced.hasPrefix("HTTP/1.1 413"))
        let chunked = await rawExchange(
            port: server.port,
            "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n64\r\n\(body)\r\n0\r\n\r\n"
        )
        #expect(chunked.hasPrefix("HTTP/1.1 413"))
    }

    @Test func unknownRouteIs404AndThrowingHandlerIs500() async throws {
        let server = HTTPServer(handler: echoHandler)
        try server.start()
        defer { server.stop() }
        let missing = await rawExchange(
            port: server.port, "GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(missing.hasPrefix("HTTP/1.1 404"))
        let failing = await rawExchange(port: server.port, "GET /fail HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(failing.hasPrefix("HTTP/1.1 500"))
    }

    @Test func keepsServingAfterMalformedRequests() async throws {
        let server = HTTPServer(handler: echoHandler)
        try server.start()
        defer { server.stop() }
        let garbage = await rawExchange(port: server.port, "\u{1}\u{2}GARBAGE\r\n\r\n")
        #expect(!garbage.hasPrefix("HTTP/1.1 2"))
        let badLength = await rawExchange(
            port: server.port, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\nConnection: close\r\n\r\n"
        )
        #expect(badLength.hasPrefix("HTTP/1.1 4"))
        let fine = await rawExchange(port: server.port, "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(fine.hasPrefix("HTTP/1.1 200"))
    }

    @Test func resetClosesWithoutAnswer() async throws {
        let server = HTTPServer { _ in .resetConnection }
        try server.start()
        defer { server.stop() }
        let answer = await rawExchange(port: server.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(answer.isEmpty)
    }

    @Test func stopEndsScriptedDelays() async throws {
        let (received, signal) = AsyncStream<Void>.makeStream()
        let server = HTTPServer { _ in
            signal.yield()
            return HTTPServerResponse.text("late").delayed(by: .seconds(30))
        }
        try server.start()
        let port = server.port
        async let answer = rawExchange(port: port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        for await _ in received { break }
        let clock = ContinuousClock()
        let elapsed = clock.measure { server.stop() }
        #expect(elapsed < .seconds(5))
        #expect(await answer.isEmpty)
    }

    @Test func stopDrainingAnswersTheRequestInProgressFirst() async throws {
        let (received, signal) = AsyncStream<Void>.makeStream()
        let (gate, open) = AsyncStream<Void>.makeStream()
        let server = HTTPServer { _ in
            signal.yield()
            for await _ in gate { break }
            return .text("answered")
        }
        try server.start()
        #expect(server.requestsInProgress == 0)
        async let answer = rawExchange(port: server.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        for await _ in received { break }
        #expect(server.requestsInProgress == 1)
        async let stopped: Void = server.stop(draining: .seconds(10))
        open.yield()
        await stopped
        #expect(server.port == 0)
        let text = await answer
        #expect(text.hasPrefix("HTTP/1.1 200"))
        #expect(text.hasSuffix("answered"))
    }

    @Test func stopDrainingGivesUpAfterItsTimeout() async throws {
        let (received, signal) = AsyncStream<Void>.makeStream()
        let server = HTTPServer { _ in
            signal.yield()
            return HTTPServerResponse.text("late").delayed(by: .seconds(30))
        }
        try server.start()
        async let answer = rawExchange(port: server.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        for await _ in received { break }
        let elapsed = await ContinuousClock().measure { await server.stop(draining: .milliseconds(200)) }
        #expect(elapsed < .seconds(5))
        #expect(await answer.isEmpty)
        await server.stop(draining: .seconds(1))
    }
}
