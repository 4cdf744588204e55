import Delivery
import Foundation
import HTTPServer
import Testing

/// Starts an in-process server, runs `body` with a transport pointed at it, then shuts both down.
private func withGateway<T>(
    transport configuration: CurlTransport.Configuration = .init(),
    handler: @escaping HTTPServer.Handler,
    _ body: (CurlTransport, HTTPServer, String) async throws -> T
) async throws -> T {
    let server = HTTPServer(handler: handler)
    try server.start()
    let transport = CurlTransport(configuration: configuration)
    let result: Result<T, any Error>
    do {
        result = .success(try await body(transport, server, "http://127.0.0.1:\(server.port)"))
    } catch {
        result = .failure(error)
    }
    await transport.shutdown()
    server.stop()
    return try result.get()
}

/// Runs `operation` and returns the `TransportError` it threw, or records an issue.
private func transportError(_ operation: () async throws -> HTTPResponse) async -> TransportError? {
    do {
        let response = try await operation()
        Issue.record("expected a transport error, got status \(response.status)")
        return nil
    } catch let error as TransportError {
        return error
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}

@Suite struct TransportTests {
    @Test func postRoundTripReadsStatusHeadersAndBody() async throws {
        let gateway: HTTPServer.Handler = { request in
            var response = HTTPServerResponse.json(#"{"code":"OK","echo":\#(request.bodyText)}"#, status: 201)
            response.headers.append(("X-Request-Id", request.header("x-request-id") ?? "-"))
            response.headers.append(("Set-Cookie", "a=1"))
            response.headers.append(("Set-Cookie", "b=2"))
            response.headers.append(("X-Method", request.method))
            return response
        }
        try await withGateway(handler: gateway) { transport, _, base in
            let request = HTTPRequest(
                url: base + "/sms/send",
                headers: ["Content-Type": "application/json", "X-Request-Id": "r-1"],
                body: Array(#"{"phone":"13800000000"}"#.utf8)
            )
            let response = try await transport.send(request)
            #expect(response.status == 201)
            #expect(response.bodyText == #"{"code":"OK","echo":{"phone":"13800000000"}}"#)
            #expect(response.headers.first(name: "content-type") == "application/json; charset=utf-8")
            #expect(response.headers.first(name: "X-Request-Id") == "r-1")
            #expect(response.headers["set-cookie"] == ["a=1", "b=2"])
            #expect(response.headers.fields.allSatisfy { $0.name == $0.name.lowercased() })
            #expect(response.headers.first(name: "x-method") == "POST")
            #expect(response.totalSeconds > 0)

            let get = try await transport.send(HTTPRequest(method: .get, url: base + "/status"))
            #expect(get.headers.first(name: "x-method") == "GET")
            let put = try await transport.send(HTTPRequest(method: .put, url: base + "/x", body: [1, 0, 2]))
            #expect(put.headers.first(name: "x-method") == "PUT")
        }
    }

    @Test func largeBinaryBodyIsSentWhole() async throws {
        let gateway: HTTPServer.Handler = { request in
            let sum = request.body.reduce(0) { $0 &+ Int($1) }
            return .text("\(request.body.count) \(sum) \(request.header("expect") ?? "-")")
        }
        try await withGateway(handler: gateway) { transport, _, base in
            let body = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 % 251) }
            let response = try await transport.send(HTTPRequest(url: base + "/upload", body: body))
            #expect(response.bodyText == "\(body.count) \(body.reduce(0) { $0 &+ Int($1) }) -")
        }
    }

    @Test func concurrentSendsSucceedOverReusedConnections() async throws {
        let configuration = CurlTransport.Configuration(maxConnectionsPerHost: 8, maxConnections: 16)
        let gateway: HTTPServer.Handler = { request in .json(#"{"code":"OK","n":"\#(request.bodyText)"}"#) }
        try await withGateway(transport: configuration, handler: gateway) { transport, server, base in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<100 {
                    group.addTask {
                        let response = try await transport.send(
                            HTTPRequest(url: base + "/sms/send", body: Array("\(index)".utf8))
                        )
                        #expect(response.status == 200)
                        #expect(response.bodyText == #"{"code":"OK","n":"\#(index)"}"#)
                    }
                }
                try await group.waitForAll()
            }
            #expect(server.connectionsAccepted >= 1)
            #expect(server.connectionsAccepted <= 8)
        }
    }

    @Test func timeoutAfterTheRequestWasSentIsAmbiguous() async throws {
        let gateway: HTTPServer.Handler = { _ in HTTPServerResponse.json("{}").delayed(by: .seconds(30)) }
        try await withGateway(handler: gateway) { transport, _, base in
            let request = HTTPRequest(url: base + "/sms/send", body: [1, 2, 3], timeout: .milliseconds(200))
            let error = await transportError { try await transport.send(request) }
            #expect(error?.code == .timeoutAfterSend)
            #expect(error?.requestSent == true)
            #expect(error?.isAmbiguous == true)
        }
    }

    @Test func refusedConnectionIsNotAmbiguous() async throws {
        let closed = HTTPServer { _ in .notFound }
        try closed.start()
        let port = closed.port
        closed.stop()
        let transport = CurlTransport()
        let error = await transportError {
            try await transport.send(HTTPRequest(url: "http://127.0.0.1:\(port)/sms/send", body: [1]))
        }
        await transport.shutdown()
        #expect(error?.code == .connect)
        #expect(error?.isAmbiguous == false)
    }

    @Test func oversizedResponseFailsTooLarge() async throws {
        let configuration = CurlTransport.Configuration(maxResponseBytes: 1000)
        let gateway: HTTPServer.Handler = { _ in
            HTTPServerResponse(status: 200, body: [UInt8](repeating: 65, count: 5000))
        }
        try await withGateway(transport: configuration, handler: gateway) { transport, _, base in
            let error = await transportError { try await transport.send(HTTPRequest(url: base + "/big")) }
            #expect(error?.code == .tooLarge)
        }
    }

    @Test func peerClosingWithoutAnswerIsReset() async throws {
        let gateway: HTTPServer.Handler = { _ in .resetConnection }
        try await withGateway(handler: gateway) { transport, _, base in
            let request = HTTPRequest(url: base + "/sms/send", body: [1])
            let error = await transportError { try await transport.send(request) }
            #expect(error?.code == .reset)
            #expect(error?.requestSent == true)
            #expect(error?.isAmbiguous == true)
        }
    }

    @Test func cancellingTheTaskCancelsTheTransferPromptly() async throws {
        let (received, signal) = AsyncStream<Void>.makeStream()
        let gateway: HTTPServer.Handler = { _ in
            signal.yield()
            return HTTPServerResponse.json("{}").delayed(by: .seconds(30))
        }
        try await withGateway(handler: gateway) { transport, _, base in
            let task = Task { try await transport.send(HTTPRequest(url: base + "/sms/send", body: [1])) }
            for await _ in received { break }
            let clock = ContinuousClock()
            let start = clock.now
            task.cancel()
            let error = await transportError { try await task.value }
            #expect(clock.now - start < .seconds(2))
            #expect(error?.code == .cancelled)
            #expect(error?.requestSent == true)
        }
    }

    @Test func shutdownFailsPendingRequestsAndRefusesNewOnes() async throws {
        let (received, signal) = AsyncStream<Void>.makeStream()
        let gateway: HTTPServer.Handler = { _ in
            signal.yield()
            return HTTPServerResponse.json("{}").delayed(by: .seconds(30))
        }
        try await withGateway(handler: gateway) { transport, _, base in
            let pending = Task { try await transport.send(HTTPRequest(url: base + "/sms/send", body: [1])) }
            for await _ in received { break }
            await transport.shutdown()
            let error = await transportError { try await pending.value }
            #expect(error?.code == .cancelled)
            let late = await transportError { try await transport.send(HTTPRequest(url: base + "/sms/send")) }
            #expect(late?.code == .cancelled)
            #expect(late?.requestSent == false)
            await transport.shutdown()
        }
    }

    @Test func configurationValidationNamesKeyPaths() {
        #expect(CurlTransport.Configuration().validate().isEmpty)
        let problems = CurlTransport.Configuration(maxConnectionsPerHost: 0, maxResponseBytes: 0).validate()
        #expect(problems.contains { $0.hasPrefix("maxConnectionsPerHost:") })
        #expect(problems.contains { $0.hasPrefix("maxResponseBytes:") })
    }

    /// Throughput against a real gateway stand-in; run by hand:
    /// `/work/shared/bench/nginx-gateway.sh start`, then
    /// `TRANSPORT_BENCH_URL=http://127.0.0.1:18080/sms/send swift test -c release --filter throughput`.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["TRANSPORT_BENCH_URL"] != nil))
    func throughput() async throws {
        let url = ProcessInfo.processInfo.environment["TRANSPORT_BENCH_URL"] ?? ""
        let total = Int(ProcessInfo.processInfo.environment["TRANSPORT_BENCH_COUNT"] ?? "") ?? 20000
        let width = 64
        let transport = CurlTransport(configuration: .init(maxConnectionsPerHost: width, maxConnections: width))
        let body = Array(
            #"{"phone":"13800000000","template":"SMS_POLICY_PACKAGE","outId":"m-000000000001","params":{"name":"示例企业有限公司","count":"3","policies":"小型微利企业所得税优惠等","link":"https://example.org/p/abc123"}}"#
                .utf8)
        let request = HTTPRequest(url: url, headers: ["Content-Type": "application/json"], body: body)
        func cpuSeconds() -> Double {
            var usage = rusage()
            getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
            return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
                + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        }
        let clock = ContinuousClock()
        let cpuStart = cpuSeconds()
        let start = clock.now
        let failures = try await withThrowingTaskGroup(of: Bool.self) { group in
            var sent = 0
            var failures = 0
            for _ in 0..<width {
                group.addTask { (try? await transport.send(request).status) == 200 }
                sent += 1
            }
            while let ok = try await group.next() {
                if !ok { failures += 1 }
                if sent < total {
                    group.addTask { (try? await transport.send(request).status) == 200 }
                    sent += 1
                }
            }
            return failures
        }
        let wall = (clock.now - start) / .seconds(1)
        let cpu = cpuSeconds() - cpuStart
        await transport.shutdown()
        print(
            "CurlTransport, \(width) in flight: \(total) requests in \(wall) s = \(Int(Double(total) / wall)) req/s, "
                + "CPU \(Int(cpu / Double(total) * 1e6)) us/req, failures \(failures)"
        )
        #expect(failures == 0)
    }
}
