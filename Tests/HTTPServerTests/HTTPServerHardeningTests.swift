import Foundation
import HTTPServer
import Testing

/// Hostile HTTP framing: every one gets a `4xx` (or a closed connection), never a `2xx`, and the
/// server keeps serving.
@Suite struct HTTPServerHardeningTests {
    @Test func twoDifferentContentLengthsAre400() async throws {
        let server = HTTPServer(handler: echoHandler)
        try server.start()
        defer { server.stop() }
        let answer = await rawExchange(
            port: server.port,
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello world"
        )
        #expect(answer.hasPrefix("HTTP/1.1 400"), "\(answer.prefix(40))")
        let list = await rawExchange(
            port: server.port,
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 11\r\nConnection: close\r\n\r\nhello world")
        #expect(list.hasPrefix("HTTP/1.1 4"), "\(list.prefix(40))")
        let fine = await rawExchange(
            port: server.port, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
        #expect(fine.hasPrefix("HTTP/1.1 200") && fine.hasSuffix("hello"))
    }

    @Test func contentLengthBesideTransferEncodingIs400() async throws {
        let server = HTTPServer(handler: echoHandler)
        try server.start()
        defer { server.stop() }
        let answer = await rawExchange(
            port: server.port,
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        )
        #expect(answer.hasPrefix("HTTP/1.1 400"), "\(answer.prefix(40))")
    }

    /// Inputs a hostile probe sends; the server must answer none of them with `2xx` and must
    /// still answer a good request afterwards.
    static let hostile: [String] = [
        "GET /echo HTTP/1.1\r\nHost: x\r\nX-Long: \(String(repeating: "a", count: 100_000))\r\n\r\n",
        "GET /echo HTTP/9.9\r\nHost: x\r\n\r\n",
        "GET /echo\r\n\r\n",
        "GET /echo HTTP/1.1\r\n\r\n",  // HTTP/1.1 without Host
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1e3\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\nx\r\n0\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nx\r\n0\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc",
        "GET /echo HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        "\r\n\r\n\r\n",
        String(repeating: "A", count: 70_000),
    ]

    @Test func hostileRequestsNeverGet2xxAndTheServerKeepsServing() async throws {
        let server = HTTPServer(handler: echoHandler)
        try server.start()
        defer { server.stop() }
        for (index, request) in Self.hostile.enumerated() {
            let answer = await rawExchange(port: server.port, request)
            #expect(
                !answer.hasPrefix("HTTP/1.1 2") && !answer.hasPrefix("HTTP/1.0 2"), "#\(index): \(answer.prefix(40))")
        }
        let fine = await rawExchange(port: server.port, "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(fine.hasPrefix("HTTP/1.1 200"))
    }
}
