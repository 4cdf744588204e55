import Delivery
import HTTPServer
import Synchronization
import Testing

/// A gateway stand-in that counts every request it receives and closes the connection without
/// any answer byte on the first copy of each odd-numbered message (`?n=1`, `?n=3`, …).
///
/// The test sends its messages one after another through one transport: message `2k` is
/// answered and its connection kept alive, so message `2k+1` arrives on that reused connection,
/// which is exactly when libcurl resends a request by itself. Each arrival records whether it
/// came on the connection of the previous arrival (no connection was accepted in between).
private final class DroppingGateway: Sendable {
    struct Arrival: Sendable, Equatable {
        var message: Int
        var body: [UInt8]
        var onReusedConnection: Bool
        var dropped: Bool
    }

    private struct State {
        var arrivals: [Arrival] = []
        var connectionsAtLastArrival = 0
    }

    private let state = Mutex(State())
    private let server = Mutex<HTTPServer?>(nil)

    /// Starts the server and returns its base URL.
    func start() throws -> String {
        let server = HTTPServer { [self] request in answer(request) }
        self.server.withLock { $0 = server }
        try server.start()
        return "http://127.0.0.1:\(server.port)"
    }

    /// Stops the server (and breaks the gateway–server–handler cycle).
    func stop() {
        server.withLock { $0.take() }?.stop()
    }

    var arrivals: [Arrival] { state.withLock { $0.arrivals } }
    var connectionsAccepted: Int { server.withLock { $0?.connectionsAccepted ?? 0 } }

    private func answer(_ request: HTTPServerRequest) -> HTTPServerResponse {
        let accepted = connectionsAccepted
        let message = Int(request.queryValue("n") ?? "") ?? -1
        let drop = state.withLock { state in
            let reused = accepted == state.connectionsAtLastArrival
            state.connectionsAtLastArrival = accepted
            let first = !state.arrivals.contains { $0.message == message }
            let drop = message % 2 == 1 && first
            state.arrivals.append(
                Arrival(message: message, body: request.body, onReusedConnection: reused, dropped: drop))
            return drop
        }
        return drop ? .resetConnection : .json(#"{"n":\#(message)}"#)
    }
}

@Suite struct TransportResendTests {
    /// The request bodies exercised: a form body like Aliyun V2's, none at all like Aliyun V3's
    /// `POST /?<query>`, and one large enough to take several reads.
    enum Body: String, CaseIterable, Sendable {
        case form, empty, large

        func bytes(message: Int) -> [UInt8] {
            switch self {
            case .form: Array("PhoneNumbers=13800000000&OutId=m-\(message)".utf8)
            case .empty: []
            case .large: [UInt8](repeating: UInt8(truncatingIfNeeded: message), count: 300_000)
            }
        }
    }

    static let messages = 8

    /// Sends messages `0..<messages` one after another through one transport.
    private func sendSequence(
        to gateway: DroppingGateway, body: Body, allowsTransportResend: Bool
    ) async throws -> [Result<HTTPResponse, TransportError>] {
        let base = try gateway.start()
        let transport = CurlTransport()
        var results: [Result<HTTPResponse, TransportError>] = []
        for message in 0..<Self.messages {
            let request = HTTPRequest(
                method: .post, url: base + "/sms/send?n=\(message)",
                headers: ["Content-Type": "application/x-www-form-urlencoded"], body: body.bytes(message: message),
                allowsTransportResend: allowsTransportResend)
            do {
                results.append(.success(try await transport.send(request)))
            } catch let error as TransportError {
                results.append(.failure(error))
            }
        }
        await transport.shutdown()
        return results
    }

    @Test(arguments: Body.allCases)
    func requestDroppedOnAReusedConnectionIsNotResent(body: Body) async throws {
        let gateway = DroppingGateway()
        defer { gateway.stop() }
        let results = try await sendSequence(to: gateway, body: body, allowsTransportResend: false)
        let arrivals = gateway.arrivals

        for message in 0..<Self.messages {
            let copies = arrivals.filter { $0.message == message }
            #expect(copies.count == 1, "message \(message) reached the gateway \(copies.count) times")
            #expect(copies.allSatisfy { $0.body == body.bytes(message: message) })
            switch results[message] {
            case .success(let response):
                #expect(message % 2 == 0, "dropped message \(message) answered \(response.status)")
                #expect(response.bodyText == #"{"n":\#(message)}"#)
            case .failure(let error):
                #expect(message % 2 == 1, "message \(message) failed: \(error)")
                #expect(error.code == .reset)
                #expect(error.requestSent)
                #expect(error.isAmbiguous)
            }
        }
        // Each drop happened on a kept-alive connection. (libcurl 7.88 connects again before it
        // asks for the rewind, so a refused resend costs a connection, which the next message
        // reuses: hence no exact count.)
        #expect(arrivals.filter(\.dropped).count == Self.messages / 2)
        #expect(arrivals.filter(\.dropped).allSatisfy { $0.onReusedConnection })
        #expect(gateway.connectionsAccepted <= Self.messages)
    }

    /// End to end: an Aliyun `SendSms` dropped on a reused connection reaches the provider once
    /// and is ambiguous (V2 streams a form body, V3 sends none).
    @Test(arguments: [AliyunSMSAdapter.SignatureVersion.v2, .v3])
    func aliyunSendDroppedOnAReusedConnectionIsAmbiguous(version: AliyunSMSAdapter.SignatureVersion) async throws {
        let recorder = Recorder()
        let handler: HTTPServer.Handler = { request in
            let count = recorder.record(request)
            return count == 2 ? .resetConnection : .json(#"{"Code":"OK","Message":"OK","BizId":"1^\#(count)"}"#)
        }
        try await withProvider(handler) { baseURL in
            let adapter = AliyunSMSAdapter(
                configuration: .init(baseURL: baseURL, signatureVersion: version),
                credentials: Credentials(id: "id", secret: "secret"))
            let transport = CurlTransport()
            let first = await adapter.send(sampleSMS, using: transport)
            let second = await adapter.send(sampleSMS, using: transport)
            await transport.shutdown()
            #expect(first == .accepted(providerID: "1^1"))
            #expect(second == .ambiguous(reason: .init("transport", "reset")))
        }
        #expect(recorder.requests.count == 2)
    }

    @Test func requestsThatMayNotBeResentStillReuseTheConnection() async throws {
        let server = HTTPServer { request in .text("\(request.body.count)") }
        try server.start()
        defer { server.stop() }
        let transport = CurlTransport()
        for body in [Body.form, .empty, .large, .form, .empty] {
            let request = HTTPRequest(url: "http://127.0.0.1:\(server.port)/sms/send", body: body.bytes(message: 0))
            #expect(!request.allowsTransportResend)
            let response = try await transport.send(request)
            #expect(response.bodyText == "\(body.bytes(message: 0).count)")
        }
        await transport.shutdown()
        #expect(server.connectionsAccepted == 1)
    }

    /// The control: with resends allowed, libcurl sends each dropped request a second time on a
    /// fresh connection (which proves the test above can see a resend).
    @Test(arguments: Body.allCases)
    func libcurlResendsADroppedRequestWhenAllowed(body: Body) async throws {
        let gateway = DroppingGateway()
        defer { gateway.stop() }
        let results = try await sendSequence(to: gateway, body: body, allowsTransportResend: true)
        let arrivals = gateway.arrivals

        for message in 0..<Self.messages {
            let copies = arrivals.filter { $0.message == message }
            #expect(copies.count == (message % 2 == 1 ? 2 : 1), "message \(message): \(copies.count) copies")
            #expect(copies.allSatisfy { $0.body == body.bytes(message: message) })
            #expect((try? results[message].get().status) == 200)
        }
        let dropped = arrivals.filter(\.dropped)
        #expect(dropped.count == Self.messages / 2)
        #expect(dropped.allSatisfy { $0.onReusedConnection })
    }
}
