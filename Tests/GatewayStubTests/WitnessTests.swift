import Delivery
import Foundation
import GatewayStub
import Testing

// Witness mode: the stubs record every acceptance by our id and by recipient, so a crash or
// fault test can see a message that reached its recipient twice; and the drop-after-accept
// fault, which takes a send and closes the connection without a word.

private let aliyunKeys = Credentials(id: "testId", secret: "testSecret")
private let tencentKeys = Credentials(id: "AKIDstubSecretId", secret: "stubSecretKey")
private let wechatKeys = Credentials(id: "wxstubappid", secret: "stubappsecret")

/// A stub for `configuration` and a libcurl transport that opens a fresh connection per request,
/// so that no request is resent by libcurl itself (it does so only on a reused connection).
private func withFreshConnections<T>(
    _ configuration: StubConfiguration, _ body: (StubGateway, String, CurlTransport) async throws -> T
) async throws -> T {
    let transport = CurlTransport(configuration: .init(keepAlive: false))
    do {
        let result = try await withStub(configuration) { stub, base in try await body(stub, base, transport) }
        await transport.shutdown()
        return result
    } catch {
        await transport.shutdown()
        throw error
    }
}

private func dropping(_ kind: GatewayKind) -> StubConfiguration {
    StubConfiguration(
        kind: kind, faults: StubFaults(dropAfterAcceptRate: 1), receipts: StubReceipts(delay: .zero))
}

private let reset = DeliveryOutcome.ambiguous(reason: ReasonCode("transport", "reset"))

@Suite(.timeLimit(.minutes(1))) struct WitnessTests {
    let client = URLSessionClient()

    func aliyunSend(_ base: String, outID: String, to number: String = "13800138000") async throws -> HTTPResponse {
        let params = AliyunSigner.params(AliyunStubTests.sms(outID, number: number))
        return try await client.send(HTTPRequest(method: .get, url: base + "/?" + AliyunSigner.query(params)))
    }

    func genericSend(_ base: String, key: String, to number: String = "13800138000") async throws -> HTTPResponse {
        try await client.send(
            HTTPRequest(
                method: .post, url: base + "/sms/send",
                headers: ["Content-Type": "application/json", "Idempotency-Key": "\"\(key)\""],
                body: Array(#"{"to":"\#(number)","text":"hi"}"#.utf8)))
    }

    // MARK: Witness

    @Test func aliyunRepeatsAreAcceptedAndWitnessedByIDAndRecipient() async throws {
        try await withStub(StubConfiguration(kind: .aliyun)) { stub, base in
            _ = try await aliyunSend(base, outID: "m-1")
            _ = try await aliyunSend(base, outID: "m-1", to: "+8613800138000")
            _ = try await aliyunSend(base, outID: "m-2")
            _ = try await aliyunSend(base, outID: "m-3", to: "13900139000")
            let stats = stub.stats
            #expect(stats.accepted == 4)
            #expect(stats.deduplicated == 0)
            #expect(stats.acceptedIds == ["m-1", "m-1", "m-2", "m-3"])
            #expect(stats.duplicateSends == ["m-1"])
            #expect(stats.duplicateDeliveries == [StubDuplicateDelivery(id: "m-1", recipient: "13800138000", count: 2)])
            #expect(
                stats.duplicateRecipients == [StubRepeatedRecipient(recipient: "13800138000", ids: ["m-1", "m-2"])])
        }
    }

    @Test func tencentRepeatsAreWitnessedPerNumberOfARequest() async throws {
        try await withStub(StubConfiguration(kind: .tencent)) { stub, base in
            let numbers = ["+8613800138000", "13900139000"]
            _ = try await client.send(
                TC3Signer.request(base: base, body: TencentStubTests.sms(numbers, context: "t-1")))
            // Different parameters: not the same content, so the 30-second rule lets it through.
            let again = try await client.send(
                TC3Signer.request(
                    base: base, body: TencentStubTests.sms(["13800138000"], context: "t-1", params: ["4"])))
            let set = (jsonObject(again)["Response"] as? [String: Any])?["SendStatusSet"] as? [[String: Any]]
            #expect(set?.first?["Code"] as? String == "Ok")
            let stats = stub.stats
            #expect(stats.accepted == 3)
            #expect(stats.acceptedIds == ["t-1", "t-1"])
            #expect(stats.duplicateSends == ["t-1"])
            #expect(stats.duplicateDeliveries == [StubDuplicateDelivery(id: "t-1", recipient: "13800138000", count: 2)])
            #expect(stats.duplicateRecipients == [])
        }
    }

    @Test func wechatDedupesWithinItsWindowAndWitnessesRepeatsAfterIt() async throws {
        try await withStub(StubConfiguration(kind: .wechat)) { stub, base in
            let token = try await WeChatStubTests().classicToken(base)
            _ = try await WeChatStubTests().send(base, token: token, clientMsgID: "c-1")
            _ = try await WeChatStubTests().send(base, token: token, clientMsgID: "c-1")
            #expect(stub.stats.deduplicated == 1)
            #expect(stub.stats.duplicateDeliveries == [])
        }
        let windowless = StubConfiguration(kind: .wechat, limits: StubLimits(wechatDedupeWindow: .zero))
        try await withStub(windowless) { stub, base in
            let token = try await WeChatStubTests().classicToken(base)
            _ = try await WeChatStubTests().send(base, token: token, clientMsgID: "c-1")
            _ = try await WeChatStubTests().send(base, token: token, clientMsgID: "c-1")
            _ = try await WeChatStubTests().send(base, token: token, clientMsgID: "c-2")
            let stats = stub.stats
            #expect(stats.accepted == 3)
            #expect(stats.duplicateDeliveries == [StubDuplicateDelivery(id: "c-1", recipient: "oUser1", count: 2)])
            #expect(stats.duplicateRecipients == [StubRepeatedRecipient(recipient: "oUser1", ids: ["c-1", "c-2"])])
        }
    }

    @Test func genericWithoutDedupeAcceptsEveryRepeatOfAKey() async throws {
        let configuration = StubConfiguration(kind: .generic, genericDeduplicates: false)
        try await withStub(configuration) { stub, base in
            let first = try await genericSend(base, key: "k-1")
            let second = try await genericSend(base, key: "k-1", to: "+8613800138000")
            #expect(first.status == 200 && second.status == 200)
            let ids = [first, second].compactMap { jsonObject($0)["id"] as? String }
            #expect(ids.count == 2 && ids[0] != ids[1], "each repeat is a new send with its own id")
            // Another body under the same key: no 422, the key is ignored.
            #expect(try await genericSend(base, key: "k-1", to: "13900139000").status == 200)
            let missing = try await client.send(
                HTTPRequest(method: .post, url: base + "/sms/send", body: Array(#"{"to":"13800138000"}"#.utf8)))
            #expect(missing.status == 400, "the key is still required")
            let stats = stub.stats
            #expect(stats.accepted == 3)
            #expect(stats.deduplicated == 0)
            #expect(stats.rejected == ["http:400": 1])
            #expect(stats.duplicateSends == ["k-1"])
            #expect(stats.duplicateDeliveries == [StubDuplicateDelivery(id: "k-1", recipient: "13800138000", count: 2)])
        }
    }

    @Test func genericWithoutDedupeHasNoInFlightConflict() async throws {
        var configuration = StubConfiguration(kind: .generic, genericDeduplicates: false)
        configuration.faults.latency = .milliseconds(300)
        try await withStub(configuration) { stub, base in
            async let slow = genericSend(base, key: "k-1")
            let racing = try await genericSend(base, key: "k-1")
            let first = try await slow
            #expect(first.status == 200)
            #expect(racing.status == 200)
            #expect(stub.stats.duplicateDeliveries?.first?.count == 2)
        }
    }

    @Test func statsEndpointServesTheWitnessLists() async throws {
        let configuration = StubConfiguration(kind: .generic, genericDeduplicates: false)
        try await withStub(configuration) { _, base in
            _ = try await genericSend(base, key: "k-1")
            _ = try await genericSend(base, key: "k-1")
            _ = try await genericSend(base, key: "k-2")
            let plain = try await client.send(HTTPRequest(method: .get, url: base + "/_stub/stats"))
            let object = jsonObject(plain)
            #expect(object["duplicateDeliveries"] == nil)
            #expect(object["droppedAfterAccept"] as? Int == 0)
            let response = try await client.send(HTTPRequest(method: .get, url: base + "/_stub/stats?ids=1"))
            let stats = try JSONDecoder().decode(StubStats.self, from: Data(response.body))
            #expect(stats.duplicateDeliveries == [StubDuplicateDelivery(id: "k-1", recipient: "13800138000", count: 2)])
            #expect(
                stats.duplicateRecipients == [StubRepeatedRecipient(recipient: "13800138000", ids: ["k-1", "k-2"])])
            let rows = jsonObject(response)["duplicateDeliveries"] as? [[String: Any]]
            #expect(rows?.first?["id"] as? String == "k-1")
            #expect(rows?.first?["recipient"] as? String == "13800138000")
            #expect(rows?.first?["count"] as? Int == 2)
        }
    }

    @Test func witnessAndDropOptionsParse() throws {
        let configuration = try StubGateway.parseOptions([
            "--kind", "generic", "--no-dedupe", "--drop-after-accept-rate", "0.25",
        ])
        #expect(!configuration.genericDeduplicates)
        #expect(configuration.faults.dropAfterAcceptRate == 0.25)
        #expect(try StubGateway.parseOptions(["--kind", "generic"]).genericDeduplicates)
        #expect(throws: StubError.self) {
            try StubGateway.parseOptions(["--kind", "aliyun", "--drop-after-accept-rate", "1.5"])
        }
        #expect(StubGateway.optionsHelp.contains("--no-dedupe"))
        #expect(StubGateway.optionsHelp.contains("--drop-after-accept-rate"))
    }

    // MARK: Drop after accept

    @Test("Aliyun: accepted, no answer; the client is left ambiguous, QuerySendDetails has the send")
    func aliyunDropAfterAccept() async throws {
        try await withFreshConnections(dropping(.aliyun)) { stub, base, transport in
            let sentAt = Date()
            let adapter = AliyunSMSAdapter(
                configuration: .init(baseURL: base, timeout: .seconds(5), connectTimeout: .seconds(1)),
                credentials: aliyunKeys, clock: { sentAt })
            let message = OutboundMessage(
                id: "drop-ali-1", recipient: "13800138000", templateID: "SMS_15305001", signName: "税务局",
                params: [.init(key: "policy", value: "减免")])
            #expect(await adapter.send(message, using: transport) == reset)
            let stats = stub.stats
            #expect(stats.accepted == 1)
            #expect(stats.droppedAfterAccept == 1)
            #expect(stats.acceptedIds == ["drop-ali-1"])
            #expect(stats.rejected.isEmpty)

            let poller = AliyunReceiptPoller(
                gateway: "ali", endpoint: base + "/", timeout: .seconds(5),
                sign: aliyunV2QuerySigner(credentials: aliyunKeys))
            let page = try await poller.poll(.init(phoneNumber: "13800138000", sendDate: sentAt), using: transport)
            let ids = page.receipts.map(\.messageID)
            #expect(ids == ["drop-ali-1"])
        }
    }

    @Test("Tencent: accepted, no answer; the client is left ambiguous, the pull has the send")
    func tencentDropAfterAccept() async throws {
        try await withFreshConnections(dropping(.tencent)) { stub, base, transport in
            let adapter = TencentSMSAdapter(
                configuration: .init(
                    baseURL: base, smsSdkAppID: "1400006666", timeout: .seconds(5), connectTimeout: .seconds(1)),
                credentials: tencentKeys)
            let message = OutboundMessage(
                id: "drop-tc-1", recipient: "13800138000", templateID: "1234567", signName: "税务局",
                params: [.init(key: "1", value: "减免")])
            #expect(await adapter.send(message, using: transport) == reset)
            let stats = stub.stats
            #expect(stats.accepted == 1)
            #expect(stats.droppedAfterAccept == 1)
            #expect(stats.acceptedIds == ["drop-tc-1"])

            let poller = TencentReceiptPoller(
                gateway: "tc", smsSdkAppID: "1400006666", endpoint: base + "/", timeout: .seconds(5),
                sign: tencentTC3PollSigner(credentials: tencentKeys))
            let pulled = try await poller.poll(using: transport)
            #expect(pulled.map(\.messageID) == ["drop-tc-1"])
            // What the daemon will ask to settle the ambiguous send: did this number get our SessionContext?
            let query = TencentReceiptPoller.PhoneNumberQuery(
                phoneNumber: "13800138000", beginTime: Date().addingTimeInterval(-60))
            let byNumber = try await poller.poll(query, using: transport)
            #expect(byNumber.map(\.messageID) == ["drop-tc-1"])
        }
    }

    @Test("WeChat: accepted, no answer; a resend with the same client_msg_id is deduplicated and answered")
    func wechatDropAfterAccept() async throws {
        try await withFreshConnections(dropping(.wechat)) { stub, base, transport in
            let tokens = WeChatTokenCache(
                configuration: .init(baseURL: base, connectTimeout: .seconds(1)), credentials: wechatKeys,
                client: transport)
            let adapter = WeChatTemplateAdapter(
                configuration: .init(baseURL: base, timeout: .seconds(5), connectTimeout: .seconds(1)), tokens: tokens)
            let message = OutboundMessage(
                id: "drop-wx-1", recipient: "oStubOpenID0001", templateID: "tmpl-policy",
                params: [.init(key: "keyword1", value: "减免")])
            #expect(await adapter.send(message, using: transport) == reset)
            #expect(stub.stats.accepted == 1)
            #expect(stub.stats.droppedAfterAccept == 1)

            guard case .accepted(let msgid?) = await adapter.send(message, using: transport) else {
                Issue.record("the deduplicated resend was not answered")
                return
            }
            let stats = stub.stats
            #expect(Int64(msgid) != nil)
            #expect(stats.accepted == 1)
            #expect(stats.deduplicated == 1)
            #expect(stats.duplicateDeliveries == [])
        }
    }

    @Test("generic: accepted, no answer; the same key is replayed, or accepted again without dedupe")
    func genericDropAfterAccept() async throws {
        let message = OutboundMessage(id: "drop-gen-1", recipient: "13800138000", text: "【税务局】您可享受小微企业减免")
        func adapter(_ base: String) -> GenericJSONAdapter {
            GenericJSONAdapter(
                configuration: .init(url: base + "/sms/send", timeout: .seconds(5), connectTimeout: .seconds(1)),
                credentials: nil)
        }
        try await withFreshConnections(dropping(.generic)) { stub, base, transport in
            #expect(await adapter(base).send(message, using: transport) == reset)
            #expect(stub.stats.accepted == 1)
            #expect(stub.stats.droppedAfterAccept == 1)
            guard case .accepted = await adapter(base).send(message, using: transport) else {
                Issue.record("the replay was not answered")
                return
            }
            #expect(stub.stats.accepted == 1)
            #expect(stub.stats.deduplicated == 1)
        }
        var ignoring = dropping(.generic)
        ignoring.genericDeduplicates = false
        try await withFreshConnections(ignoring) { stub, base, transport in
            #expect(await adapter(base).send(message, using: transport) == reset)
            #expect(await adapter(base).send(message, using: transport) == reset)
            let stats = stub.stats
            #expect(stats.accepted == 2)
            #expect(stats.droppedAfterAccept == 2)
            #expect(
                stats.duplicateDeliveries == [
                    StubDuplicateDelivery(id: "drop-gen-1", recipient: "13800138000", count: 2)
                ])
        }
    }

    @Test("a kept-alive connection dropped after acceptance: libcurl's own resend is witnessed")
    func keptAliveDropIsResentByLibcurl() async throws {
        var configuration = dropping(.generic)
        configuration.genericDeduplicates = false
        try await withCurlStub(configuration) { rig in
            // Open the connection with an answered request, so that the send reuses it.
            let stats = try await rig.transport.send(HTTPRequest(method: .get, url: rig.base + "/_stub/stats"))
            #expect(stats.status == 200)
            let adapter = GenericJSONAdapter(
                configuration: .init(url: rig.base + "/sms/send", timeout: .seconds(5), connectTimeout: .seconds(1)),
                credentials: nil)
            let message = OutboundMessage(id: "keep-1", recipient: "13800138000", text: "【税务局】您好")
            #expect(await adapter.send(message, using: rig.transport) == reset)
            // One call of the adapter, two acceptances: libcurl resent the request on a fresh connection.
            #expect(rig.stub.stats.accepted == 2)
            #expect(
                rig.stub.stats.duplicateDeliveries
                    == [StubDuplicateDelivery(id: "keep-1", recipient: "13800138000", count: 2)])
        }
    }
}
