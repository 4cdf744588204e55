import Delivery
import Foundation
import GatewayStub
import Testing

// The receipt pollers against the stubs' query APIs over loopback HTTP through CurlTransport,
// after a real send by the adapter.

@Suite("PollersAgainstStubs")
struct PollersAgainstStubsTests {
    @Test("QuerySendDetails after a send yields a delivered receipt with our id and the BizId")
    func aliyunQuerySendDetails() async throws {
        let credentials = Credentials(id: "testId", secret: "testSecret")
        let configuration = StubConfiguration(kind: .aliyun, receipts: StubReceipts(delay: .zero))
        try await withCurlStub(configuration) { rig in
            let sentAt = Date()
            let adapter = AliyunSMSAdapter(
                configuration: .init(baseURL: rig.base, timeout: .seconds(5), connectTimeout: .seconds(1)),
                credentials: credentials, clock: { sentAt })
            let message = OutboundMessage(
                id: "poll-ali-1", recipient: "13900139000", templateID: "SMS_15305001", signName: "税务局",
                params: [.init(key: "policy", value: "减免")])
            let outcome = await adapter.send(message, using: rig.transport)
            guard case .accepted(let bizID?) = outcome else {
                Issue.record("expected accepted, got \(outcome)")
                return
            }

            let poller = AliyunReceiptPoller(
                gateway: "aliyun-main", endpoint: rig.base + "/", timeout: .seconds(5),
                sign: aliyunV2QuerySigner(credentials: credentials))
            let page = try await poller.poll(
                .init(phoneNumber: "13900139000", sendDate: sentAt, bizID: bizID), using: rig.transport)
            #expect(page.totalCount == 1)
            #expect(page.pending == 0)
            try #require(page.receipts.count == 1)
            let receipt = page.receipts[0]
            #expect(receipt.gateway == "aliyun-main")
            #expect(receipt.messageID == "poll-ali-1")
            #expect(receipt.providerID == bizID)
            #expect(receipt.recipient == "13900139000")
            #expect(receipt.status == .delivered)
            #expect(receipt.reasonCode == "DELIVERED")

            // Another number has nothing; the query is not counted as a send.
            let other = try await poller.poll(
                .init(phoneNumber: "13700137000", sendDate: sentAt), using: rig.transport)
            #expect(other.receipts.isEmpty && other.totalCount == 0)
            #expect(rig.stub.stats.received == 1)
        }
    }

    @Test("QuerySendDetails signed with a wrong secret is refused with the provider code")
    func aliyunQueryWrongSecret() async throws {
        try await withCurlStub(StubConfiguration(kind: .aliyun)) { rig in
            let poller = AliyunReceiptPoller(
                gateway: "aliyun-main", endpoint: rig.base + "/", timeout: .seconds(5),
                sign: aliyunV2QuerySigner(credentials: Credentials(id: "testId", secret: "wrong")))
            do {
                _ = try await poller.poll(.init(phoneNumber: "13900139000", sendDate: Date()), using: rig.transport)
                Issue.record("expected a refusal")
            } catch let error as ReceiptError {
                #expect(error.code == .provider)
                #expect(error.providerCode == "SignatureDoesNotMatch")
            }
        }
    }

    @Test("PullSmsSendStatus after a send yields the receipt once, then nothing")
    func tencentPullSmsSendStatus() async throws {
        let credentials = Credentials(id: "AKIDstubSecretId", secret: "stubSecretKey")
        let configuration = StubConfiguration(kind: .tencent, receipts: StubReceipts(delay: .zero))
        try await withCurlStub(configuration) { rig in
            let adapter = TencentSMSAdapter(
                configuration: .init(
                    baseURL: rig.base, smsSdkAppID: "1400006666", timeout: .seconds(5), connectTimeout: .seconds(1)),
                credentials: credentials)
            let message = OutboundMessage(
                id: "poll-tc-1", recipient: "13900139000", templateID: "1234567", signName: "税务局",
                params: [.init(key: "1", value: "减免")])
            let outcome = await adapter.send(message, using: rig.transport)
            guard case .accepted(let serialNo?) = outcome else {
                Issue.record("expected accepted, got \(outcome)")
                return
            }

            let poller = TencentReceiptPoller(
                gateway: "tencent-main", smsSdkAppID: "1400006666", endpoint: rig.base + "/", timeout: .seconds(5),
                sign: tencentTC3PollSigner(credentials: credentials))
            let first = try await poller.poll(using: rig.transport)
            try #require(first.count == 1)
            let receipt = first[0]
            #expect(receipt.gateway == "tencent-main")
            #expect(receipt.messageID == "poll-tc-1")
            #expect(receipt.providerID == serialNo)
            #expect(receipt.recipient == "13900139000")
            #expect(receipt.status == .delivered)

            let second = try await poller.poll(using: rig.transport)
            #expect(second.isEmpty)
            #expect(rig.stub.stats.received == 1)
        }
    }

    @Test("PullSmsSendStatusByPhoneNumber finds our SessionContext, again and again, within the time range")
    func tencentPullByPhoneNumber() async throws {
        let credentials = Credentials(id: "AKIDstubSecretId", secret: "stubSecretKey")
        let configuration = StubConfiguration(kind: .tencent, receipts: StubReceipts(delay: .zero))
        try await withCurlStub(configuration) { rig in
            let adapter = TencentSMSAdapter(
                configuration: .init(
                    baseURL: rig.base, smsSdkAppID: "1400006666", timeout: .seconds(5), connectTimeout: .seconds(1)),
                credentials: credentials)
            let before = Date().addingTimeInterval(-1)
            var serials: [String] = []
            for (index, id) in ["bynum-1", "bynum-2"].enumerated() {
                // Different parameters, so that the 30-second rule does not refuse the second send.
                let message = OutboundMessage(
                    id: id, recipient: "13900139000", templateID: "1234567", signName: "税务局",
                    params: [.init(key: "1", value: "减免\(index)")])
                guard case .accepted(let serialNo?) = await adapter.send(message, using: rig.transport) else {
                    Issue.record("send \(id) was not accepted")
                    return
                }
                serials.append(serialNo)
            }
            let other = OutboundMessage(
                id: "bynum-other", recipient: "13700137000", templateID: "1234567", signName: "税务局",
                params: [.init(key: "1", value: "减免")])
            _ = await adapter.send(other, using: rig.transport)

            let poller = TencentReceiptPoller(
                gateway: "tencent-main", smsSdkAppID: "1400006666", endpoint: rig.base + "/", timeout: .seconds(5),
                sign: tencentTC3PollSigner(credentials: credentials))
            let query = TencentReceiptPoller.PhoneNumberQuery(phoneNumber: "+8613900139000", beginTime: before)
            let first = try await poller.poll(query, using: rig.transport)
            #expect(first.map(\.messageID) == ["bynum-1", "bynum-2"])
            #expect(first.map(\.providerID) == serials)
            #expect(first.allSatisfy { $0.gateway == "tencent-main" && $0.status == .delivered })
            #expect(first.allSatisfy { $0.recipient == "13900139000" })

            // Not consumed, unlike PullSmsSendStatus; and the two pulls do not take from each other.
            let again = try await poller.poll(query, using: rig.transport)
            #expect(again == first)
            #expect(try await poller.poll(using: rig.transport).count == 3)
            #expect(try await poller.poll(query, using: rig.transport) == first)

            // Paged by Offset/Limit; nothing outside [BeginTime, EndTime].
            var paged = query
            paged.offset = 1
            paged.limit = 1
            #expect(try await poller.poll(paged, using: rig.transport).map(\.messageID) == ["bynum-2"])
            let later = TencentReceiptPoller.PhoneNumberQuery(
                phoneNumber: "13900139000", beginTime: Date().addingTimeInterval(60))
            #expect(try await poller.poll(later, using: rig.transport).isEmpty)
            let earlier = TencentReceiptPoller.PhoneNumberQuery(
                phoneNumber: "13900139000", beginTime: before.addingTimeInterval(-3600),
                endTime: before.addingTimeInterval(-1800))
            #expect(try await poller.poll(earlier, using: rig.transport).isEmpty)
            #expect(rig.stub.stats.received == 3, "pulls are not sends")
        }
    }

    @Test("PullSmsSendStatusByPhoneNumber refuses a malformed number with the provider code")
    func tencentPullByPhoneNumberBadNumber() async throws {
        try await withCurlStub(StubConfiguration(kind: .tencent)) { rig in
            let poller = TencentReceiptPoller(
                gateway: "tencent-main", smsSdkAppID: "1400006666", endpoint: rig.base + "/", timeout: .seconds(5),
                sign: tencentTC3PollSigner(credentials: Credentials(id: "AKIDstubSecretId", secret: "stubSecretKey")))
            do {
                _ = try await poller.poll(.init(phoneNumber: "+86123", beginTime: Date()), using: rig.transport)
                Issue.record("expected a refusal")
            } catch let error as ReceiptError {
                #expect(error.code == .provider)
                #expect(error.providerCode == "InvalidParameterValue.IncorrectPhoneNumber")
            }
        }
    }

    @Test("PullSmsSendStatus signed with a wrong key is refused with the provider code")
    func tencentPullWrongKey() async throws {
        try await withCurlStub(StubConfiguration(kind: .tencent)) { rig in
            let poller = TencentReceiptPoller(
                gateway: "tencent-main", smsSdkAppID: "1400006666", endpoint: rig.base + "/", timeout: .seconds(5),
                sign: tencentTC3PollSigner(credentials: Credentials(id: "AKIDstubSecretId", secret: "wrong")))
            do {
                _ = try await poller.poll(using: rig.transport)
                Issue.record("expected a refusal")
            } catch let error as ReceiptError {
                #expect(error.code == .provider)
                #expect(error.providerCode == "AuthFailure.SignatureFailure")
            }
        }
    }
}
