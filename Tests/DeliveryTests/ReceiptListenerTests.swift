import Foundation
import HTTPServer
import Synchronization
import Testing

@testable import Delivery

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A tiny loopback client over URLSession (test-only; production uses CurlTransport).
struct ReceiptLoopbackClient {
    let port: Int
    let session = URLSession(configuration: .ephemeral)

    func send(
        _ method: String, _ path: String, query: [(String, String)] = [], headers: [(String, String)] = [],
        body: String = ""
    ) async throws -> (status: Int, body: String) {
        var components = URLComponents()
        components.scheme = "http"
        components.host = "127.0.0.1"
        components.port = port
        components.path = path
        if !query.isEmpty { components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) } }
        var request = URLRequest(url: try #require(components.url))
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if !body.isEmpty { request.httpBody = Data(body.utf8) }
        let (data, response) = try await session.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        return (status, String(decoding: data, as: UTF8.self))
    }
}

/// Collects what the listener hands over; can be told to fail.
final class ReceiptSink: Sendable {
    private let state = Mutex<(batches: [[Receipt]], failing: Bool)>(([], false))

    var batches: [[Receipt]] { state.withLock { $0.batches } }
    func setFailing(_ failing: Bool) { state.withLock { $0.failing = failing } }

    @Sendable func consume(_ receipts: [Receipt]) async throws {
        struct StoreDown: Error {}
        try state.withLock { state in
            if state.failing { throw StoreDown() }
            state.batches.append(receipts)
        }
    }
}

let receiptPathToken = "p7Qk2vX9sLm4Tz8R"
let receiptHeaderToken = "h3Jw6nB1cYe5Ua0D"

func receiptListenerConfiguration(maxBodyBytes: Int = 64 << 10) -> ReceiptListener.Configuration {
    ReceiptListener.Configuration(
        server: .init(maxBodyBytes: maxBodyBytes),
        gateways: [
            "aliyun": .init(kind: .aliyun, authentication: .pathToken(receiptPathToken)),
            "tencent": .init(kind: .tencent, authentication: .headerToken(receiptHeaderToken)),
            "wechat": .init(kind: .wechat, authentication: .wechatSignature(token: "testtoken")),
            "generic": .init(kind: .generic, authentication: .headerToken(receiptHeaderToken)),
        ])
}

/// Runs `body` against a started listener and stops it afterwards.
func withReceiptListener(
    _ configuration: ReceiptListener.Configuration = receiptListenerConfiguration(),
    now: Date = receiptWeChatNowE,
    routes: ReceiptListener.Routes? = nil,
    sink: ReceiptSink = ReceiptSink(),
    _ body: (ReceiptListener, ReceiptLoopbackClient) async throws -> Void
) async throws {
    let listener = ReceiptListener(configuration: configuration, clock: { now }, routes: routes, consumer: sink.consume)
    try listener.start()
    defer { listener.stop() }
    let client = ReceiptLoopbackClient(port: listener.port)
    defer { client.session.invalidateAndCancel() }
    try await body(listener, client)
}

/// An Aliyun report dated just before `receiptWeChatNowE`, the listener's clock in these tests: a
/// report dated more than a day after the clock is refused as implausible.
func receiptAliyunReport(biz: String, phone: String = "13812345678", code: String = "DELIVERED") -> String {
    #"{"phone_number":"\#(phone)","send_time":"2014-08-29 17:20:00","report_time":"2014-08-29 17:20:05","success":\#(code == "DELIVERED"),"err_code":"\#(code)","err_msg":"x","sms_size":"1","biz_id":"\#(biz)","out_id":"m-\#(biz)"}"#
}

@Suite struct ReceiptListenerTests {
    @Test func acceptsEachProvidersPushAndAnswersItsSuccessBody() async throws {
        let sink = ReceiptSink()
        try await withReceiptListener(sink: sink) { listener, client in
            let aliyun = try await client.send(
                "POST", "/receipts/aliyun/\(receiptPathToken)", body: "[\(receiptAliyunReport(biz: "1"))]")
            #expect(aliyun.status == 200)
            #expect(aliyun.body == #"{"code":0,"msg":"接收成功"}"#)

            let tencent = try await client.send(
                "POST", "/receipts/tencent", headers: [("X-PolicyPush-Token", receiptHeaderToken)],
                body:
                    #"[{"user_receive_time":"2014-08-29 17:20:04","mobile":"13800001111","report_status":"SUCCESS","errmsg":"DELIVRD","sid":"s1"}]"#
            )
            #expect(tencent.status == 200)
            #expect(tencent.body == #"{"result":0,"errmsg":"OK"}"#)

            let wechat = try await client.send(
                "POST", "/receipts/wechat", query: receiptWeChatQueryE.map { ($0.name, $0.value) },
                body: receiptTemplateEvent(status: "failed:user block"))
            #expect(wechat.status == 200)
            #expect(wechat.body == "success")

            let generic = try await client.send(
                "POST", "/receipts/generic", headers: [("x-policypush-token", receiptHeaderToken)],
                body: #"[{"id":"m1","status":"delivered","code":"DELIVRD","time":"2014-08-29T09:20:05Z"}]"#)
            #expect(generic.status == 200)
            #expect(generic.body == #"{"ok":true}"#)

            let gateways = sink.batches.flatMap { $0 }.map(\.gateway)
            #expect(gateways == ["aliyun", "tencent", "wechat", "generic"])
            #expect(sink.batches[2].first?.fallbackAllowed == true)
            #expect(listener.stats.accepted == 4)
            #expect(listener.stats.rejected.isEmpty)
        }
    }

    @Test func duplicatedAndReorderedReceiptsAreAcknowledgedOnce() async throws {
        let sink = ReceiptSink()
        try await withReceiptListener(sink: sink) { listener, client in
            let path = "/receipts/aliyun/\(receiptPathToken)"
            let a = receiptAliyunReport(biz: "A")
            let b = receiptAliyunReport(biz: "B", code: "UNDELIV")
            let c = receiptAliyunReport(biz: "C")
            let answer1 = try await client.send("POST", path, body: "[\(a),\(b)]")
            #expect(answer1.status == 200)
            let again = try await client.send("POST", path, body: "[\(b),\(a),\(c),\(c)]")
            #expect(again.status == 200)
            #expect(again.body == AliyunReceiptParser.successReply)
            let onlyDuplicates = try await client.send("POST", path, body: "[\(a)]")
            #expect(onlyDuplicates.status == 200)

            #expect(sink.batches.map { $0.map(\.providerID) } == [["A", "B"], ["C"]])
            let stats = listener.stats
            #expect(stats.received == 7)
            #expect(stats.accepted == 3)
            #expect(stats.duplicates == 4)
        }
    }

    @Test func consumerFailureAnswers500AndTheRepushIsAccepted() async throws {
        let sink = ReceiptSink()
        try await withReceiptListener(sink: sink) { listener, client in
            let path = "/receipts/aliyun/\(receiptPathToken)"
            let body = "[\(receiptAliyunReport(biz: "X"))]"
            sink.setFailing(true)
            let answer2 = try await client.send("POST", path, body: body)
            #expect(answer2.status == 500)
            sink.setFailing(false)
            // The failed push was not remembered, so the provider's re-push is stored, not dropped as a duplicate.
            let answer3 = try await client.send("POST", path, body: body)
            #expect(answer3.status == 200)
            #expect(sink.batches.count == 1)
            #expect(listener.stats.rejected[.consumerFailed] == 1)
            #expect(listener.stats.duplicates == 0)
        }
    }

    @Test func badRequestsGetTheRight4xxAndTheListenerKeepsServing() async throws {
        try await withReceiptListener(receiptListenerConfiguration(maxBodyBytes: 16 << 10)) { listener, client in
            let aliyun = "/receipts/aliyun/\(receiptPathToken)"
            let token = [("X-PolicyPush-Token", receiptHeaderToken)]
            let cases: [(String, String, [(String, String)], String, Int)] = [
                ("POST", aliyun, [], "[{", 400),  // malformed JSON
                ("POST", aliyun, [], #"[{"phone_number":1,"success":true,"biz_id":"b"}]"#, 400),  // wrong type
                ("POST", aliyun, [], #"{"not":"an array"}"#, 400),
                ("POST", "/receipts/generic", token, #"[{"id":"m","status":"queued"}]"#, 400),  // unsupported
                ("POST", "/receipts/wechat", receiptWeChatQueryE.map { ($0.name, $0.value) }, "<xml><A>", 400),
                ("POST", "/receipts/aliyun", [], "[]", 401),  // no path token
                ("POST", "/receipts/aliyun/wrongtokenwrongtoken", [], "[]", 403),
                ("POST", "/receipts/tencent", [], "[]", 401),  // no header
                ("POST", "/receipts/tencent", [("X-PolicyPush-Token", "nope")], "[]", 403),
                ("POST", "/receipts/wechat", [], receiptTemplateEvent(status: "success"), 401),
                (
                    "POST", "/receipts/wechat",
                    [("signature", "00"), ("timestamp", "1409304348"), ("nonce", "xxxxxx")],
                    receiptTemplateEvent(status: "success"), 403
                ),
                ("POST", "/receipts/nowhere", [], "[]", 404),
                ("POST", "/receipts/aliyun/\(receiptPathToken)/extra", [], "[]", 404),
                ("POST", "/elsewhere", [], "[]", 404),
                ("GET", aliyun, [], "", 405),
                ("PUT", "/receipts/wechat", [], "x", 405),
                // A body over the server's limit.
                ("POST", aliyun, [], "[" + String(repeating: " ", count: 32 << 10) + "]", 413),
            ]
            for (method, path, extra, body, expected) in cases {
                let isQuery = path.hasPrefix("/receipts/wechat")
                let answer = try await client.send(
                    method, path, query: isQuery ? extra : [], headers: isQuery ? [] : extra, body: body)
                #expect(answer.status == expected, "\(method) \(path) \(body.prefix(30))")
                #expect(!answer.body.contains(receiptPathToken) && !answer.body.contains(receiptHeaderToken))
            }
            let tencentItem = #"{"user_receive_time":"2014-08-29 17:20:04","report_status":"SUCCESS","sid":"s"}"#
            let tooMany = "[" + Array(repeating: tencentItem, count: 101).joined(separator: ",") + "]"
            let answer4 = try await client.send("POST", "/receipts/tencent", headers: token, body: tooMany)
            #expect(answer4.status == 413)

            // Still serving.
            let answer5 = try await client.send("POST", aliyun, body: "[\(receiptAliyunReport(biz: "ok"))]")
            #expect(answer5.status == 200)
            let rejected = listener.stats.rejected
            #expect(rejected[.malformed] == 4)
            #expect(rejected[.unsupported] == 1)
            #expect(rejected[.unauthenticated] == 6)
            #expect(rejected[.unknownGateway] == 2)
            #expect(rejected[.methodNotAllowed] == 2)
            #expect(rejected[.tooLarge] == 1)  // the 101 Tencent items; the server itself refuses the oversized body
            #expect(listener.stats.accepted == 1)
        }
    }

    @Test func wechatHandshakeAndTimestampWindow() async throws {
        try await withReceiptListener { _, client in
            let query = receiptWeChatQueryE.map { ($0.name, $0.value) } + [("echostr", "5837397520721467123")]
            let handshake = try await client.send("GET", "/receipts/wechat", query: query)
            #expect(handshake.status == 200)
            #expect(handshake.body == "5837397520721467123")
            var forged = query
            forged[0].1 = "30d7c91db269b3e0cb3e1a131646b6d1ae4750f6"
            let answer6 = try await client.send("GET", "/receipts/wechat", query: forged)
            #expect(answer6.status == 403)
        }
        // Ten minutes later the same signed request is a replay.
        try await withReceiptListener(now: receiptWeChatNowE.addingTimeInterval(600)) { listener, client in
            let replay = try await client.send(
                "POST", "/receipts/wechat", query: receiptWeChatQueryE.map { ($0.name, $0.value) },
                body: receiptTemplateEvent(status: "success"))
            #expect(replay.status == 403)
            #expect(listener.stats.rejected[.unauthenticated] == 1)
        }
    }

    @Test func extraRoutesShareThePort() async throws {
        let routes: ReceiptListener.Routes = { request in
            request.path == "/healthz" ? .text("ok\n") : nil
        }
        try await withReceiptListener(routes: routes) { _, client in
            let health = try await client.send("GET", "/healthz")
            #expect(health.status == 200)
            #expect(health.body == "ok\n")
            let answer7 = try await client.send("GET", "/metrics")
            #expect(answer7.status == 404)
        }
    }

    @Test func configurationValidationReportsEveryProblem() {
        let configuration = ReceiptListener.Configuration(
            gateways: [
                "a/b": .init(kind: .aliyun, authentication: .pathToken("tiny1")),
                "wx": .init(kind: .wechat, authentication: .headerToken("long-enough-token-123")),
                "tx": .init(kind: .tencent, authentication: .wechatSignature(token: "", maxAge: .zero)),
            ],
            tokenHeader: "", dedupeCapacity: 0)
        do {
            try configuration.validate()
            Issue.record("expected validation problems")
        } catch {
            #expect(error.problems.count == 8)
            #expect(error.problems.contains("tokenHeader: must not be empty"))
            #expect(error.problems.allSatisfy { !$0.contains("tiny1") && !$0.contains("long-enough-token-123") })
        }
        #expect(throws: Never.self) { try receiptListenerConfiguration().validate() }
    }

    @Test func recentKeysForgetTheOldestFirst() {
        var keys = RecentKeys(capacity: 2)
        keys.insert("a")
        keys.insert("b")
        keys.insert("a")
        keys.insert("c")
        #expect(!keys.contains("a"))
        #expect(keys.contains("b") && keys.contains("c"))
    }
}
