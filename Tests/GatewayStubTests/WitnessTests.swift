import Delivery
import Foundation
import GatewayStub
import Testing

// Witness mode: the stubs record every acceptance by our id and by recipient, so a crash or
// fault test can see a message that reached its recipient twice.

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
            #expect(stats.duplicateRecipients == [StubRepeatedRecipient(recipient: "13800138000", ids: ["m-1", "m-2"])])
        }
    }

    @Test func tencentRepeatsAreWitnessedPerNumberOfARequest() async throws {
        try await withStub(StubConfiguration(kind: .tencent)) { stub, base in
            let numbers = ["+8613800138000", "13900139000"]
            _ = try await client.send(TC3Signer.request(base: base, body: TencentStubTests.sms(numbers, context: "t-1")))
            // Different parameters: not the same content, so the 30-second rule lets it through.
            let again = try await client.send(
                TC3Signer.request(base: base, body: TencentStubTests.sms(["13800138000"], context: "t-1", params: ["4"])))
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
            let response = try await client.send(HTTPRequest(method: .get, url: base + "/_stub/stats?ids=1"))
            let stats = try JSONDecoder().decode(StubStats.self, from: Data(response.body))
            #expect(stats.duplicateDeliveries == [StubDuplicateDelivery(id: "k-1", recipient: "13800138000", count: 2)])
            #expect(stats.duplicateRecipients == [StubRepeatedRecipient(recipient: "13800138000", ids: ["k-1", "k-2"])])
            let rows = jsonObject(response)["duplicateDeliveries"] as? [[String: Any]]
            #expect(rows?.first?["id"] as? String == "k-1")
            #expect(rows?.first?["recipient"] as? String == "13800138000")
            #expect(rows?.first?["count"] as? Int == 2)
        }
    }

    @Test func witnessOptionsParse() throws {
        let configuration = try StubGateway.parseOptions(["--kind", "generic", "--no-dedupe"])
        #expect(!configuration.genericDeduplicates)
        #expect(try StubGateway.parseOptions(["--kind", "generic"]).genericDeduplicates)
        #expect(StubGateway.optionsHelp.contains("--no-dedupe"))
    }
}
