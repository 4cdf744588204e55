import Foundation
import Synchronization
import Testing

@testable import Delivery

/// Collects the replies the listener hands over; can be told to fail.
final class InboundSink: Sendable {
    private let state = Mutex<(messages: [InboundMessage], failing: Bool)>(([], false))

    var messages: [InboundMessage] { state.withLock { $0.messages } }
    func setFailing(_ failing: Bool) { state.withLock { $0.failing = failing } }

    @Sendable func consume(_ messages: [InboundMessage]) async throws {
        struct StoreDown: Error {}
        try state.withLock { state in
            if state.failing { throw StoreDown() }
            state.messages += messages
        }
    }
}

func withInboundListener(
    _ configuration: ReceiptListener.Configuration = receiptListenerConfiguration(),
    sink: InboundSink,
    _ body: (ReceiptListener, ReceiptLoopbackClient) async throws -> Void
) async throws {
    let listener = ReceiptListener(
        configuration: configuration, clock: { receiptWeChatNowE }, inbound: sink.consume, consumer: { _ in })
    try listener.start()
    defer { listener.stop() }
    let client = ReceiptLoopbackClient(port: listener.port)
    defer { client.session.invalidateAndCancel() }
    try await body(listener, client)
}

/// An Aliyun SmsUp item dated just before the tests' clock.
func aliyunReply(_ text: String, sequence: Int = 1, phone: String = "13812345678") -> String {
    #"{"phone_number":"\#(phone)","send_time":"2014-08-29 17:20:00","content":"\#(text)","sign_name":"某税务局","dest_code":"1234","sequence_id":\#(sequence)}"#
}

@Suite struct OptOutKeywordTests {
    @Test(arguments: [
        ("T", true), ("t", true), ("TD", true), ("td", true), ("退订", true), ("N", true), ("Ｔ", true), ("ＴＤ", true),
        (" T ", true), ("T。", true), ("「退订」", true), ("t!", true), ("\nTD\r\n", true), ("T\u{200B}", true),
        ("T退订", false), ("退订了吗", false), ("请问怎么申报", false), ("", false), ("TT", false),
        ("no", false), (String(repeating: "T", count: 100), false),
    ])
    func folding(text: String, optOut: Bool) {
        #expect(OptOutKeywords().matches(text) == optOut, "\(text.debugDescription)")
    }

    @Test func keywordsAreConfigurable() {
        let keywords = OptOutKeywords(["STOP", "取消"])
        #expect(keywords.matches("stop"))
        #expect(keywords.matches(" 取消。"))
        #expect(!keywords.matches("T"))
    }

    @Test(
        arguments: [
            ("13800000000", nil, "13800000000"), ("+8613800000000", nil, "13800000000"),
            ("8613800000000", nil, "13800000000"), ("008613800000000", nil, "13800000000"),
            ("13800000000", "86", "13800000000"), ("91234567", "852", "91234567"),
        ] as [(String, String?, String)])
    func mobileNumbers(raw: String, nation: String?, expected: String) {
        #expect(MobileNumber.normalized(raw, nationCode: nation) == expected)
    }
}

@Suite struct InboundParserTests {
    @Test func aliyunSmsUp() throws {
        let body = Array("[\(aliyunReply("T", sequence: 77)),\(aliyunReply("请问如何申报", sequence: 78))]".utf8)
        let replies = try InboundParser.aliyun(body, gateway: "ali", now: receiptWeChatNowE)
        #expect(replies.map(\.text) == ["T", "请问如何申报"])
        #expect(replies.map(\.dedupeKey) == ["aliyun:77", "aliyun:78"])
        #expect(replies[0].sender == "13812345678" && replies[0].kind == .smsReply && replies[0].gateway == "ali")
        #expect(replies[0].sentAt == Date(timeIntervalSince1970: 1_409_304_000))
        #expect(replies[0].raw.contains("某税务局"))
    }

    @Test func tencentReplyObjectOrArray() throws {
        let one = #"{"extend":"","mobile":"13800001111","nationcode":"86","sign":"某税务局","text":"TD","time":1409304000}"#
        let a = try InboundParser.tencent(Array(one.utf8), gateway: "tc", now: receiptWeChatNowE)
        let b = try InboundParser.tencent(Array("[\(one)]".utf8), gateway: "tc", now: receiptWeChatNowE)
        #expect(a.count == 1 && a.map(\.dedupeKey) == b.map(\.dedupeKey))
        #expect(a[0].sender == "13800001111" && a[0].text == "TD")
        // Another text at the same second from the same number is another reply.
        let other = one.replacingOccurrences(of: "\"TD\"", with: "\"你好\"")
        #expect(
            try InboundParser.tencent(Array(other.utf8), gateway: "tc", now: receiptWeChatNowE)[0].dedupeKey
                != a[0].dedupeKey)
    }

    @Test(arguments: [
        "", "{}", "[", #"[{"phone_number":"1","content":"T"}, 5]"#,
        #"[{"phone_number":"","content":"T","sequence_id":1}]"#,
        #"[{"phone_number":"13800000000","content":"T","sequence_id":-1}]"#,
        #"[{"phone_number":"13800000000","content":"T","send_time":"2099-01-01 00:00:00"}]"#,
        #"[{"phone_number":"1380000000000000000000000000000000000","content":"T"}]"#,
    ])
    func malformedAliyun(body: String) {
        #expect(throws: ReceiptError.self) {
            try InboundParser.aliyun(Array(body.utf8), gateway: "ali", now: receiptWeChatNowE)
        }
    }

    @Test func oversizedTextAndTooManyItems() {
        let long = aliyunReply(String(repeating: "长", count: 1000))
        #expect(throws: ReceiptError.self) {
            try InboundParser.aliyun(Array("[\(long)]".utf8), gateway: "ali", now: receiptWeChatNowE)
        }
        let many = "[" + (0..<5).map { aliyunReply("T", sequence: $0) }.joined(separator: ",") + "]"
        #expect(throws: ReceiptError(.tooLarge, "Aliyun SmsUp holds 5 items, limit 4")) {
            try InboundParser.aliyun(Array(many.utf8), gateway: "ali", now: receiptWeChatNowE, maxItems: 4)
        }
        let tencent = #"{"mobile":"13800001111","text":"T","time":99999999999999}"#
        #expect(throws: ReceiptError.self) {
            try InboundParser.tencent(Array(tencent.utf8), gateway: "tc", now: receiptWeChatNowE)
        }
    }

    @Test func weChatPushesAreSorted() throws {
        func event(_ inner: String) -> [UInt8] {
            Array(
                "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oABC123]]></FromUserName><CreateTime>1409304340</CreateTime>\(inner)</xml>"
                    .utf8)
        }
        let unsubscribe = try WeChatReceiptParser.parseVerifiedPush(
            event("<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[unsubscribe]]></Event>"), gateway: "wx",
            now: receiptWeChatNowE)
        guard case .inbound(let message) = unsubscribe else {
            Issue.record("\(unsubscribe)")
            return
        }
        #expect(message.kind == .wechatUnsubscribe && message.sender == "oABC123")
        #expect(message.dedupeKey == "wechat:unsubscribe|oABC123|1409304340")

        let text = try WeChatReceiptParser.parseVerifiedPush(
            event(
                "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[怎么申报？]]></Content><MsgId>1234567890123456</MsgId>"
            ),
            gateway: "wx", now: receiptWeChatNowE)
        guard case .inbound(let reply) = text else {
            Issue.record("\(text)")
            return
        }
        #expect(reply.kind == .wechatText && reply.text == "怎么申报？" && reply.dedupeKey == "wechat:text|1234567890123456")

        let subscribe = try WeChatReceiptParser.parseVerifiedPush(
            event("<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event>"), gateway: "wx",
            now: receiptWeChatNowE)
        #expect(subscribe == .ignored)
        #expect(throws: ReceiptError.self) {
            try WeChatReceiptParser.parseVerifiedPush(
                Array(
                    "<xml><FromUserName>o</FromUserName><CreateTime>9300000000000000</CreateTime><MsgType>event</MsgType><Event>unsubscribe</Event></xml>"
                        .utf8),
                gateway: "wx", now: receiptWeChatNowE)
        }
    }
}

@Suite struct InboundListenerTests {
    @Test func eachProvidersReplyPushIsStoredOnceAndAnswered() async throws {
        let sink = InboundSink()
        try await withInboundListener(sink: sink) { listener, client in
            let path = "/inbound/aliyun/\(receiptPathToken)"
            let body = "[\(aliyunReply("T", sequence: 1)),\(aliyunReply("谢谢", sequence: 2))]"
            let first = try await client.send("POST", path, body: body)
            #expect(first.status == 200 && first.body == #"{"code":0,"msg":"接收成功"}"#)
            // Aliyun pushes again after a minute: acknowledged, not handed on twice.
            let again = try await client.send("POST", path, body: body)
            #expect(again.status == 200)
            let tencent = try await client.send(
                "POST", "/inbound/tencent", headers: [("X-PolicyPush-Token", receiptHeaderToken)],
                body:
                    #"{"extend":"","mobile":"13800001111","nationcode":"86","sign":"x","text":"退订","time":1409304000}"#)
            #expect(tencent.status == 200 && tencent.body == #"{"result":0,"errmsg":"OK"}"#)
            let generic = try await client.send(
                "POST", "/inbound/generic", headers: [("X-PolicyPush-Token", receiptHeaderToken)],
                body: #"[{"id":"r1","from":"+8613900002222","text":"N","time":"2014-08-29T09:20:00Z"}]"#)
            #expect(generic.status == 200 && generic.body == #"{"ok":true}"#)

            let wechat = try await client.send(
                "POST", "/receipts/wechat", query: receiptWeChatQueryE.map { ($0.name, $0.value) },
                body:
                    "<xml><ToUserName>gh</ToUserName><FromUserName>oXYZ</FromUserName><CreateTime>1409304340</CreateTime><MsgType>event</MsgType><Event>unsubscribe</Event></xml>"
            )
            #expect(wechat.status == 200 && wechat.body == "success")

            #expect(sink.messages.map(\.text) == ["T", "谢谢", "退订", "N", ""])
            #expect(
                sink.messages.map(\.sender) == ["13812345678", "13812345678", "13800001111", "13900002222", "oXYZ"])
            #expect(listener.stats.inboundAccepted == 5 && listener.stats.inboundDuplicates == 2)
            #expect(listener.stats.accepted == 0, "no receipt came")
        }
    }

    @Test func refusedPushesReachNobody() async throws {
        let sink = InboundSink()
        try await withInboundListener(receiptListenerConfiguration(maxBodyBytes: 16 << 10), sink: sink) {
            listener, client in
            let cases: [(String, String, [(String, String)], String, Int)] = [
                ("POST", "/inbound/aliyun", [], "[]", 401),  // no path token
                ("POST", "/inbound/aliyun/wrongtokenwrongtoken", [], "[\(aliyunReply("T"))]", 403),
                (
                    "POST", "/inbound/tencent", [("X-PolicyPush-Token", "nope")],
                    #"{"mobile":"1","text":"T","time":1}"#, 403
                ),
                ("POST", "/inbound/aliyun/\(receiptPathToken)", [], "[{\"content\":\"T\"}]", 400),
                ("POST", "/inbound/aliyun/\(receiptPathToken)", [], "not json", 400),
                ("GET", "/inbound/aliyun/\(receiptPathToken)", [], "", 405),
                ("POST", "/inbound/wechat", [], "<xml/>", 404),  // WeChat uses its server URL
                ("POST", "/inbound/nope/\(receiptPathToken)", [], "[]", 404),
                (
                    "POST", "/inbound/aliyun/\(receiptPathToken)", [],
                    "[" + String(repeating: "x", count: 20 << 10) + "]", 413
                ),
            ]
            for (method, path, headers, body, status) in cases {
                let answer = try await client.send(method, path, headers: headers, body: body)
                #expect(answer.status == status, "\(method) \(path): \(answer)")
            }
            #expect(sink.messages.isEmpty)
            // Still serving.
            let good = try await client.send(
                "POST", "/inbound/aliyun/\(receiptPathToken)", body: "[\(aliyunReply("T"))]")
            #expect(good.status == 200 && sink.messages.count == 1)
        }
    }

    @Test func aStoreFailureAsksTheProviderToPushAgain() async throws {
        let sink = InboundSink()
        sink.setFailing(true)
        try await withInboundListener(sink: sink) { _, client in
            let path = "/inbound/aliyun/\(receiptPathToken)"
            let refused = try await client.send("POST", path, body: "[\(aliyunReply("T"))]")
            #expect(refused.status == 500)
            sink.setFailing(false)
            let stored = try await client.send("POST", path, body: "[\(aliyunReply("T"))]")
            #expect(stored.status == 200)
            #expect(sink.messages.count == 1)
        }
    }

    @Test func withoutAnInboundConsumerThereIsNoRoute() async throws {
        try await withReceiptListener { _, client in
            let answer = try await client.send(
                "POST", "/inbound/aliyun/\(receiptPathToken)", body: "[\(aliyunReply("T"))]")
            #expect(answer.status == 404)
        }
    }
}
