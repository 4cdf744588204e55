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
