import Delivery
import Foundation
import HTTPServer
import Synchronization
import Testing

// MARK: - Shared test support

/// 2023-11-14T22:13:20Z, which is already 2023-11-15 06:13:20 in Beijing.
let fixedNow = Date(timeIntervalSince1970: 1_700_000_000)

/// Runs `body` against a loopback server on an ephemeral port playing the provider.
func withProvider<T: Sendable>(
    _ handler: @escaping HTTPServer.Handler, _ body: (_ baseURL: String) async throws -> T
) async throws -> T {
    let server = HTTPServer(handler: handler)
    try server.start()
    defer { server.stop() }
    return try await body("http://127.0.0.1:\(server.port)")
}

/// What a scripted provider saw, shared between its handler and the test.
final class Recorder: Sendable {
    private let state = Mutex<[HTTPServerRequest]>([])

    func record(_ request: HTTPServerRequest) -> Int {
        state.withLock {
            $0.append(request)
            return $0.count
        }
    }

    var requests: [HTTPServerRequest] { state.withLock { $0 } }
}

/// Decodes `a=b&c=d` as the provider would.
func formFields(_ text: String) -> [(String, String)] {
    text.split(separator: "&").map { pair in
        let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        let decode = { (part: Substring) in String(part).removingPercentEncoding ?? String(part) }
        return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
    }
}

func httpResponse(_ status: Int, _ body: String, headers: HTTPHeaders = [:]) -> Result<HTTPResponse, TransportError> {
    .success(HTTPResponse(status: status, headers: headers, body: Array(body.utf8)))
}

let sampleSMS = OutboundMessage(
    id: "c1-e42-sms", recipient: "13800138000", text: "【税务局】您可享受小微企业所得税优惠", templateID: "SMS_15305001",
    signName: "税务局", params: [.init(key: "name", value: "示例公司"), .init(key: "count", value: "3")])

// MARK: - Shared behaviour

@Suite struct AdapterTests {
    @Test func transportErrorsBecomeRetryOrAmbiguous() {
        #expect(
            TransportError(code: .connect).deliveryOutcome == .retry(after: nil, reason: .init("transport", "connect")))
        #expect(
            TransportError(code: .timeout).deliveryOutcome == .retry(after: nil, reason: .init("transport", "timeout")))
        #expect(TransportError(code: .reset).deliveryOutcome == .retry(after: nil, reason: .init("transport", "reset")))
        #expect(
            TransportError(code: .timeoutAfterSend, requestSent: true).deliveryOutcome
                == .ambiguous(reason: .init("transport", "timeout_after_send")))
        #expect(
            TransportError(code: .reset, requestSent: true).deliveryOutcome
                == .ambiguous(reason: .init("transport", "reset")))
    }

    @Test func everyAdapterMapsTransportErrorsTheSameWay() throws {
        let credentials = Credentials(id: "id", secret: "secret")
        let tokens = WeChatTokenCache(credentials: credentials, client: URLSessionClient())
        let adapters: [any OutcomeClassifier] = [
            GenericJSONAdapter(configuration: .init(url: "http://127.0.0.1:1/send")),
            AliyunSMSAdapter(configuration: .init(), credentials: credentials),
            TencentSMSAdapter(configuration: .init(smsSdkAppID: "1400006666"), credentials: credentials),
            WeChatTemplateAdapter(tokens: tokens),
        ]
        for adapter in adapters {
            #expect(
                adapter.classify(.failure(TransportError(code: .connect)))
                    == .retry(after: nil, reason: .init("transport", "connect")))
            #expect(
                adapter.classify(.failure(TransportError(code: .timeoutAfterSend, requestSent: true)))
                    == .ambiguous(reason: .init("transport", "timeout_after_send")))
        }
        #expect(adapters.map(\.deduplicates) == [true, false, false, true])
    }

    @Test func libcurlMayResendOnlyWhatTheProviderDeduplicates() throws {
        let credentials = Credentials(id: "id", secret: "secret")
        let generic = GenericJSONAdapter(configuration: .init(url: "http://127.0.0.1:1/send"))
        #expect(try generic.request(for: sampleSMS, at: fixedNow).allowsTransportResend)
        let strict = GenericJSONAdapter(configuration: .init(url: "http://127.0.0.1:1/send", deduplicates: false))
        #expect(!strict.deduplicates)
        #expect(try !strict.request(for: sampleSMS, at: fixedNow).allowsTransportResend)
        for version in [AliyunSMSAdapter.SignatureVersion.v2, .v3] {
            let aliyun = AliyunSMSAdapter(configuration: .init(signatureVersion: version), credentials: credentials)
            #expect(try !aliyun.request(for: sampleSMS, at: fixedNow).allowsTransportResend)
        }
        let tencent = TencentSMSAdapter(configuration: .init(smsSdkAppID: "1400006666"), credentials: credentials)
        #expect(try !tencent.request(for: sampleSMS, at: fixedNow).allowsTransportResend)
        let tokens = WeChatTokenCache(credentials: credentials, client: URLSessionClient())
        let wechat = WeChatTemplateAdapter(tokens: tokens)
        let wechatMessage = OutboundMessage(id: "m-1", recipient: "openid", templateID: "TPL")
        #expect(try wechat.request(for: wechatMessage, accessToken: "AT", at: fixedNow).allowsTransportResend)

        // Queries may be resent.
        let aliyunPoller = AliyunReceiptPoller(gateway: "ali", sign: { _ in })
        #expect(
            try aliyunPoller.makeRequest(for: .init(phoneNumber: "13800138000", sendDate: fixedNow))
                .allowsTransportResend)
        let tencentPoller = TencentReceiptPoller(gateway: "tc", smsSdkAppID: "1400006666", sign: { _ in })
        #expect(try tencentPoller.makeRequest().allowsTransportResend)
    }

    @Test func refusedConnectionIsRetriedOverRealSockets() async throws {
        let server = HTTPServer { _ in .json("{}") }
        try server.start()
        let port = server.port
        server.stop()
        let adapter = GenericJSONAdapter(configuration: .init(url: "http://127.0.0.1:\(port)/send"))
        let outcome = await adapter.send(sampleSMS, using: URLSessionClient())
        #expect(outcome == .retry(after: nil, reason: .init("transport", "connect")))
    }

    // MARK: Retry-After

    @Test(arguments: [("120", 120.0), ("0", 0), (" 5 ", 5), ("7200", 3600), ("99999999999999999999999", 3600)])
    func retryAfterSeconds(value: String, delay: Double) {
        #expect(
            RetryAfter.parse(value, now: fixedNow, maximum: RetryAfter.gatewayMaximum)
                == fixedNow.addingTimeInterval(delay))
    }

    @Test func retryAfterIMFFixdate() {
        let now = Date(timeIntervalSince1970: 1_445_412_000)  // 2015-10-21T07:20:00Z
        #expect(
            RetryAfter.parse("Wed, 21 Oct 2015 07:28:00 GMT", now: now, maximum: RetryAfter.gatewayMaximum)
                == now.addingTimeInterval(480))
        // Past dates mean now; far dates are capped at one hour.
        #expect(RetryAfter.parse("Wed, 21 Oct 2015 07:00:00 GMT", now: now, maximum: RetryAfter.gatewayMaximum) == now)
        #expect(
            RetryAfter.parse("Thu, 22 Oct 2015 07:28:00 GMT", now: now, maximum: RetryAfter.gatewayMaximum)
                == now.addingTimeInterval(3600))
    }

    @Test(arguments: [
        "", "-5", "1.5", "soon", "Wed, 21 Oct 2015 07:28:00 UTC", "21 Oct 2015 07:28:00 GMT",
        "Wed, 21 Foo 2015 07:28:00 GMT", "Wed, 21 Oct 2015 25:28:00 GMT",
    ])
    func retryAfterIgnoresInvalidValues(value: String) {
        #expect(RetryAfter.parse(value, now: fixedNow, maximum: RetryAfter.gatewayMaximum) == nil)
    }

    // MARK: Credentials

    @Test func credentialsFromJSONFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cred-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try #"{"access_key_id": "LTAI5tExample", "access_key_secret": "s3cr3t-value"}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        let credentials = try CredentialSource.file(path).load()
        #expect(credentials == Credentials(id: "LTAI5tExample", secret: "s3cr3t-value"))
        #expect(credentials.description == "Credentials(id: LTAI****, secret: ****)")
        #expect(!"\(credentials)".contains("s3cr3t"))
        #expect(!String(reflecting: credentials).contains("s3cr3t"))
    }

    @Test func credentialFileErrorsNameTheFileNotTheContent() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cred-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: CredentialError(code: .unreadable, location: path)) { try CredentialSource.file(path).load() }
        try "ACCESS_KEY_SECRET=oops".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: CredentialError(code: .malformed, location: path)) { try CredentialSource.file(path).load() }
        try #"{"access_key_id": "x"}"#.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: CredentialError(code: .missing, location: "\(path): access_key_secret")) {
            try CredentialSource.file(path).load()
        }
    }

    @Test func credentialsFromEnvironment() throws {
        let environment = ["ALIYUN_ACCESS_KEY_ID": "LTAIenv", "ALIYUN_ACCESS_KEY_SECRET": "envsecret"]
        #expect(
            try CredentialSource.environment(prefix: "ALIYUN").load(environment: environment)
                == Credentials(id: "LTAIenv", secret: "envsecret"))
        #expect(throws: CredentialError(code: .missing, location: "TENCENT_ACCESS_KEY_SECRET")) {
            try CredentialSource.environment(prefix: "TENCENT").load(environment: environment)
        }
    }
}

/// The pure classification of any adapter, for tests that loop over all of them.
protocol OutcomeClassifier: GatewayAdapter {
    func classify(_ result: Result<HTTPResponse, TransportError>) -> DeliveryOutcome
}

extension GenericJSONAdapter: OutcomeClassifier {
    func classify(_ result: Result<HTTPResponse, TransportError>) -> DeliveryOutcome {
        outcome(for: result, message: sampleSMS, at: fixedNow)
    }
}

extension AliyunSMSAdapter: OutcomeClassifier {
    func classify(_ result: Result<HTTPResponse, TransportError>) -> DeliveryOutcome {
        outcome(for: result, message: sampleSMS, at: fixedNow)
    }
}

extension TencentSMSAdapter: OutcomeClassifier {
    func classify(_ result: Result<HTTPResponse, TransportError>) -> DeliveryOutcome {
        outcome(for: result, message: sampleSMS, at: fixedNow)
    }
}

extension WeChatTemplateAdapter: OutcomeClassifier {
    func classify(_ result: Result<HTTPResponse, TransportError>) -> DeliveryOutcome {
        outcome(for: result, message: sampleSMS, at: fixedNow)
    }
}

// MARK: - Generic JSON gateway

@Suite struct GenericJSONAdapterTests {
    @Test func requestShape() throws {
        let adapter = GenericJSONAdapter(
            configuration: .init(url: "http://gw.example/send", headers: ["X-Tenant": "district-7"]),
            credentials: Credentials(id: "", secret: "tok-123"))
        let request = try adapter.request(for: sampleSMS, at: fixedNow)
        #expect(request.method == .post)
        #expect(request.url == "http://gw.example/send")
        #expect(request.headers.first(name: "idempotency-key") == "\"c1-e42-sms\"")
        #expect(request.headers.first(name: "authorization") == "Bearer tok-123")
        #expect(request.headers.first(name: "x-tenant") == "district-7")
        #expect(request.headers.first(name: "content-type") == "application/json; charset=utf-8")
        #expect(
            String(decoding: request.body, as: UTF8.self)
                == #"{"id":"c1-e42-sms","to":"13800138000","text":"【税务局】您可享受小微企业所得税优惠","#
                + #""template":"SMS_15305001","params":{"name":"示例公司","count":"3"}}"#)
    }

    @Test func bodyTemplateGetsJSONEscapedValues() throws {
        let adapter = GenericJSONAdapter(
            configuration: .init(
                url: "http://gw.example/send", bodyTemplate: #"{"msisdn":"{{to}}","content":"{{text}}","ref":"{{id}}"}"#
            ))
        let message = OutboundMessage(id: "a\"b", recipient: "13800138000", text: "line1\nsays \"hi\" \\ ok")
        let body = try adapter.request(for: message, at: fixedNow).body
        #expect(
            String(decoding: body, as: UTF8.self)
                == #"{"msisdn":"13800138000","content":"line1\nsays \"hi\" \\ ok","ref":"a\"b"}"#)
        let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: String]
        #expect(object?["content"] == "line1\nsays \"hi\" \\ ok")
        // The sf-string escapes quotes too.
        #expect(try adapter.request(for: message, at: fixedNow).headers.first(name: "idempotency-key") == #""a\"b""#)
    }

    @Test func idThatCannotBeAnSFStringFailsTheMessage() async {
        let adapter = GenericJSONAdapter(configuration: .init(url: "http://127.0.0.1:1/send"))
        let message = OutboundMessage(id: "编号-1", recipient: "13800138000", text: "x")
        #expect(
            await adapter.send(message, using: URLSessionClient())
                == .failed(reason: .init("adapter", "invalid_field.id"), fallback: false))
    }

    @Test(arguments: [200, 201, 202, 204])
    func successStatusesAccept(status: Int) {
        let adapter = GenericJSONAdapter(configuration: .init(url: "http://gw/send"))
        #expect(adapter.classify(httpResponse(status, #"{"id":"p-1"}"#)) == .accepted(providerID: "p-1"))
    }

    @Test func providerIDFieldIsConfigurableWithFallbacks() {
        let plain = GenericJSONAdapter(configuration: .init(url: "http://gw/send"))
        #expect(plain.classify(httpResponse(200, #"{"bizId":"b-9"}"#)) == .accepted(providerID: "b-9"))
        #expect(plain.classify(httpResponse(200, #"{"messageId":12345}"#)) == .accepted(providerID: "12345"))
        #expect(plain.classify(httpResponse(200, "")) == .accepted(providerID: nil))
        let nested = GenericJSONAdapter(configuration: .init(url: "http://gw/send", providerIDField: "data.sid"))
        #expect(nested.classify(httpResponse(200, #"{"data":{"sid":"s-1"}}"#)) == .accepted(providerID: "s-1"))
    }

    @Test(arguments: [408, 409, 425, 429, 500, 502, 503, 504])
    func retryStatuses(status: Int) {
        let adapter = GenericJSONAdapter(configuration: .init(url: "http://gw/send"))
        #expect(adapter.classify(httpResponse(status, "{}")) == .retry(after: nil, reason: .init("http", "\(status)")))
        #expect(
            adapter.classify(httpResponse(status, "{}", headers: ["Retry-After": "30"]))
                == .retry(after: fixedNow.addingTimeInterval(30), reason: .init("http", "\(status)")))
    }

    @Test(arguments: [400, 404, 405, 410, 413, 422, 501])
    func permanentStatuses(status: Int) {
        let adapter = GenericJSONAdapter(configuration: .init(url: "http://gw/send"))
        #expect(
            adapter.classify(httpResponse(status, "{}")) == .failed(reason: .init("http", "\(status)"), fallback: false)
        )
    }

    @Test(arguments: [401, 403])
    func credentialStatuses(status: Int) {
        let adapter = GenericJSONAdapter(configuration: .init(url: "http://gw/send"))
        #expect(
            adapter.classify(httpResponse(status, "{}"))
                == .pauseGateway(reason: .init("http", "\(status)"), kind: .credentials, until: nil))
    }

    @Test func acceptedOverLoopback() async throws {
        let recorder = Recorder()
        let handler: HTTPServer.Handler = { request in
            _ = recorder.record(request)
            return .json(#"{"messageId":"gw-77"}"#, status: 201)
        }
        let outcome = try await withProvider(handler) { baseURL in
            let adapter = GenericJSONAdapter(
                configuration: .init(url: baseURL + "/v1/send"), credentials: Credentials(id: "", secret: "tok"),
                clock: { fixedNow })
            return await adapter.send(sampleSMS, using: URLSessionClient())
        }
        #expect(outcome == .accepted(providerID: "gw-77"))
        let seen = try #require(recorder.requests.first)
        #expect(seen.method == "POST" && seen.path == "/v1/send")
        #expect(seen.header("idempotency-key") == "\"c1-e42-sms\"")
        #expect(seen.header("authorization") == "Bearer tok")
        let body = try #require(try JSONSerialization.jsonObject(with: Data(seen.body)) as? [String: Any])
        #expect(body["id"] as? String == "c1-e42-sms")
        #expect((body["params"] as? [String: String])?["name"] == "示例公司")
    }

    @Test func retryAfterBothFormsOverLoopback() async throws {
        let handler: HTTPServer.Handler = { request in
            var response = HTTPServerResponse.json(#"{"type":"about:blank","status":503}"#, status: 503)
            response.headers.append(
                ("Retry-After", request.path == "/seconds" ? "120" : "Tue, 14 Nov 2023 22:43:20 GMT"))
            return response
        }
        let outcomes = try await withProvider(handler) { baseURL in
            let client = URLSessionClient()
            let seconds = GenericJSONAdapter(configuration: .init(url: baseURL + "/seconds"), clock: { fixedNow })
            let date = GenericJSONAdapter(configuration: .init(url: baseURL + "/date"), clock: { fixedNow })
            return [await seconds.send(sampleSMS, using: client), await date.send(sampleSMS, using: client)]
        }
        #expect(outcomes[0] == .retry(after: fixedNow.addingTimeInterval(120), reason: .init("http", "503")))
        #expect(outcomes[1] == .retry(after: fixedNow.addingTimeInterval(1800), reason: .init("http", "503")))
    }
}
