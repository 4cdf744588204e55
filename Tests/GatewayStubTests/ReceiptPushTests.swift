import Delivery
import Foundation
import GatewayStub
import HTTPServer
import Testing

@Suite(.timeLimit(.minutes(1))) struct ReceiptPushTests {
    let client = URLSessionClient()

    func configuration(_ kind: GatewayKind, url: String) -> StubConfiguration {
        var configuration = StubConfiguration(kind: kind, timeScale: 0.001)
        configuration.receipts.url = url
        configuration.receipts.delay = .zero
        return configuration
    }

    func aliyunSend(_ base: String, _ outID: String, number: String = "13800138000") async throws {
        let params = AliyunSigner.params(AliyunStubTests.sms(outID, number: number))
        let response = try await client.send(HTTPRequest(method: .get, url: base + "/?" + AliyunSigner.query(params)))
        #expect(jsonObject(response)["Code"] as? String == "OK")
    }

    static let aliyunOK = HTTPServerResponse.json(#"{"code":0,"msg":"接收成功"}"#)

    @Test func aliyunReportsArePushedAsAJSONArrayWithDuplicates() async throws {
        let receiver = PushReceiver(fallback: Self.aliyunOK)
        let url = try receiver.start()
        var configuration = configuration(.aliyun, url: url)
        configuration.receipts.duplicateRate = 1
        try await withStub(configuration, pushClient: URLSessionClient()) { _, base in
            var pushes = receiver.pushes.makeAsyncIterator()
            try await aliyunSend(base, "m-1")
            try await aliyunSend(base, "m-2", number: "13900139000")
            var reports: [[String: Any]] = []
            while reports.count < 4, let push = await pushes.next() {
                #expect(push.method == "POST")
                #expect(push.path == "/receipts")
                reports += jsonArray(push.body)
            }
            #expect(reports.count == 4)
            let outIDs = reports.compactMap { $0["out_id"] as? String }.sorted()
            #expect(outIDs == ["m-1", "m-1", "m-2", "m-2"])
            let first = try #require(reports.first)
            #expect(first["success"] as? Bool == true)
            #expect(first["err_code"] as? String == "DELIVERED")
            #expect(first["sms_size"] as? String == "1")
            #expect((first["biz_id"] as? String)?.hasSuffix("^0") == true)
            #expect(["13800138000", "13900139000"].contains(first["phone_number"] as? String ?? ""))
        }
        await receiver.stop()
    }

    @Test func aliyunRepushesAfterA500OnTheScaledSchedule() async throws {
        let receiver = PushReceiver(script: [.text("busy", status: 500)], fallback: Self.aliyunOK)
        let url = try receiver.start()
        try await withStub(configuration(.aliyun, url: url), pushClient: URLSessionClient()) { stub, base in
            var pushes = receiver.pushes.makeAsyncIterator()
            try await aliyunSend(base, "m-1")
            let attempts = await collect(2, from: &pushes)
            #expect(attempts.count == 2)
            #expect(attempts.first?.body == attempts.last?.body)
            // The pusher works in order: once the next message's push arrives, the re-push was counted.
            try await aliyunSend(base, "m-2", number: "13900139000")
            _ = await collect(1, from: &pushes)
            #expect(stub.stats.receiptsPushed >= 1)
            #expect(stub.stats.delivered == 2)
        }
        await receiver.stop()
    }

    @Test func tencentCallbackCarriesFailureAndSessionContext() async throws {
        let receiver = PushReceiver(fallback: .json(#"{"result":0,"errmsg":"OK"}"#))
        let url = try receiver.start()
        var configuration = configuration(.tencent, url: url)
        configuration.receipts.failureRate = 1
        configuration.receipts.failureCodes = ["UNDELIV"]
        try await withStub(configuration, pushClient: URLSessionClient()) { stub, base in
            var pushes = receiver.pushes.makeAsyncIterator()
            let response = try await client.send(
                TC3Signer.request(base: base, body: TencentStubTests.sms(["13800138000"], context: "ctx-1")))
            let set = (jsonObject(response)["Response"] as? [String: Any])?["SendStatusSet"] as? [[String: Any]]
            let push = try #require(await collect(1, from: &pushes).first)
            let callback = try #require(jsonArray(push.body).first)
            #expect(callback["report_status"] as? String == "FAIL")
            #expect(callback["errmsg"] as? String == "UNDELIV")
            #expect(callback["mobile"] as? String == "13800138000")
            #expect(callback["nationcode"] as? String == "86")
            #expect(callback["ext"] as? String == "ctx-1")
            #expect(callback["sid"] as? String == set?.first?["SerialNo"] as? String)
            #expect(stub.stats.failed == 1)
        }
        await receiver.stop()
    }

    @Test func wechatEventIsSignedXML() async throws {
        let receiver = PushReceiver(fallback: .text("success"))
        let url = try receiver.start()
        var configuration = configuration(.wechat, url: url)
        configuration.receipts.failureRate = 1
        configuration.receipts.failureCodes = ["failed:user block"]
        try await withStub(configuration, pushClient: URLSessionClient()) { _, base in
            var pushes = receiver.pushes.makeAsyncIterator()
            let token = try await WeChatStubTests().classicToken(base)
            let answer = try await WeChatStubTests().send(base, token: token, openID: "oUserX")
            let push = try #require(await collect(1, from: &pushes).first)
            let signature = push.queryValue("signature") ?? ""
            let timestamp = push.queryValue("timestamp") ?? ""
            let nonce = push.queryValue("nonce") ?? ""
            #expect(signature == Digest.hex(try Digest.sha1(["testtoken", timestamp, nonce].sorted().joined())))
            let xml = push.bodyText
            #expect(xml.contains("<Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event>"))
            #expect(xml.contains("<FromUserName><![CDATA[oUserX]]></FromUserName>"))
            #expect(xml.contains("<MsgID>\((answer["msgid"] as? NSNumber)?.int64Value ?? 0)</MsgID>"))
            #expect(xml.contains("<Status><![CDATA[failed:user block]]></Status>"))
        }
        await receiver.stop()
    }

    @Test func genericReceiptsCarryOurIDAndTheProviderID() async throws {
        let receiver = PushReceiver(fallback: .text("ok"))
        let url = try receiver.start()
        try await withStub(configuration(.generic, url: url), pushClient: URLSessionClient()) { _, base in
            var pushes = receiver.pushes.makeAsyncIterator()
            let response = try await client.send(
                HTTPRequest(
                    method: .post, url: base + "/sms/send", headers: ["Idempotency-Key": "\"k-1\""],
                    body: Array(#"{"to":"13800138000"}"#.utf8)))
            let push = try #require(await collect(1, from: &pushes).first)
            let receipt = try #require(jsonArray(push.body).first)
            #expect(receipt["id"] as? String == "k-1")
            #expect(receipt["provider_id"] as? String == jsonObject(response)["id"] as? String)
            #expect(receipt["status"] as? String == "delivered")
            #expect(receipt["code"] as? String == "DELIVRD")
            #expect((receipt["time"] as? String)?.hasSuffix("Z") == true)
        }
        await receiver.stop()
    }
}

/// The stub's replies, parsed by the daemon's own listener: what the daemon's inbound route will see.
@Suite(.timeLimit(.minutes(1))) struct ReplyPushTests {
    let client = URLSessionClient()

    final class Inbox: Sendable {
        let (stream, continuation) = AsyncStream<InboundMessage>.makeStream()
    }

    func withListener(
        _ kind: GatewayKind, _ body: (String, Inbox) async throws -> Void
    ) async throws {
        let inbox = Inbox()
        let listener = ReceiptListener(
            configuration: .init(gateways: ["gw": .init(kind: kind, authentication: .pathToken("tok-123456789012"))]),
            inbound: { messages in for m in messages { inbox.continuation.yield(m) } }, consumer: { _ in })
        try listener.start()
        defer { listener.stop() }
        try await body("http://127.0.0.1:\(listener.port)/inbound/gw/tok-123456789012", inbox)
    }

    func configuration(_ kind: GatewayKind, replies url: String) -> StubConfiguration {
        var configuration = StubConfiguration(kind: kind, timeScale: 0.001)
        configuration.receipts.delay = .zero
        configuration.replies = StubReplies(url: url, rate: 1, text: "ＴＤ")
        return configuration
    }

    @Test func aliyunRepliesReachTheInboundRoute() async throws {
        try await withListener(.aliyun) { url, inbox in
            try await withStub(configuration(.aliyun, replies: url), pushClient: URLSessionClient()) { stub, base in
                let params = AliyunSigner.params(AliyunStubTests.sms("m-1", number: "13800138000"))
                _ = try await client.send(HTTPRequest(method: .get, url: base + "/?" + AliyunSigner.query(params)))
                var messages = inbox.stream.makeAsyncIterator()
                let reply = try #require(await messages.next())
                #expect(reply.sender == "13800138000" && reply.text == "ＴＤ" && reply.kind == .smsReply)
                #expect(OptOutKeywords().matches(reply.text))
                while stub.stats.repliesPushed < 1 { try await Task.sleep(for: .milliseconds(10)) }
            }
        }
    }

    @Test func tencentRepliesReachTheInboundRoute() async throws {
        try await withListener(.tencent) { url, inbox in
            try await withStub(configuration(.tencent, replies: url), pushClient: URLSessionClient()) { _, base in
                _ = try await client.send(
                    TC3Signer.request(
                        base: base, body: TencentStubTests.sms(["13800138000", "13900139000"], context: "c")))
                var messages = inbox.stream.makeAsyncIterator()
                var senders: [String] = []
                while senders.count < 2, let reply = await messages.next() { senders.append(reply.sender) }
                #expect(senders.sorted() == ["13800138000", "13900139000"])
            }
        }
    }

    @Test func noReplyWithoutARate() async throws {
        try await withListener(.aliyun) { url, _ in
            var configuration = configuration(.aliyun, replies: url)
            configuration.replies.rate = 0
            try await withStub(configuration, pushClient: URLSessionClient()) { stub, base in
                let params = AliyunSigner.params(AliyunStubTests.sms("m-1", number: "13800138000"))
                _ = try await client.send(HTTPRequest(method: .get, url: base + "/?" + AliyunSigner.query(params)))
                try await Task.sleep(for: .milliseconds(200))
                #expect(stub.stats.repliesPushed == 0 && stub.stats.accepted == 1)
            }
        }
    }
}
