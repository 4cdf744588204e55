import Config
import Delivery
import Foundation
import HTTPServer
import Storage
import Testing

@testable import Daemon

/// Absence at the provider is believed only when the provider's records could name ours.
@Suite("Provider lookup")
struct ProviderLookupTests {
    func lookUp(answer: String) async throws -> ProviderLookup.Finding {
        let server = HTTPServer(configuration: .init(host: "127.0.0.1", port: 0)) { _ in .json(answer) }
        try server.start()
        let transport = CurlTransport(configuration: .init())
        defer { server.stop() }
        let poller = AliyunReceiptPoller(
            gateway: "ali", endpoint: "http://127.0.0.1:\(server.port)/",
            sign: AliyunReceiptPoller.v2Signer(credentials: Credentials(id: "testId", secret: "testSecret")))
        let message = OutboxMessage(
            id: 1, idempotencyKey: "pp1-code-sms-0011223344556677", campaignID: 1, creditCode: "code", channel: .sms,
            recipient: "13800138000", policyIDs: ["p"], payload: [], state: .ambiguous, attempts: 1,
            firstAttemptAt: Date(),
            nextAttemptAt: nil, gateway: "ali", providerID: nil, lastError: nil, lastAttemptAt: Date())
        do {
            let finding = try await ProviderLookup.aliyun(message, poller: poller, client: transport)
            await transport.shutdown()
            return finding
        } catch {
            await transport.shutdown()
            throw error
        }
    }

    static func answer(outID: String?) -> String {
        let field = outID.map { #","OutId":"\#($0)""# } ?? ""
        return
            #"{"Code":"OK","Message":"OK","TotalCount":1,"SmsSendDetailDTOs":{"SmsSendDetailDTO":[{"PhoneNum":"13800138000","SendStatus":1,"ErrCode":"","SendDate":"2026-12-03 10:00:00","ReceiveDate":""\#(field)}]}}"#
    }

    @Test func aRecordOfAnotherMessageProvesOursAbsent() async throws {
        #expect(try await lookUp(answer: Self.answer(outID: "someone-else")) == .absent)
    }

    @Test func aPendingRecordWithOurIdIsFound() async throws {
        #expect(
            try await lookUp(answer: Self.answer(outID: "pp1-code-sms-0011223344556677")) == .pending(providerID: nil))
    }

    /// Aliyun's rows carry `OutId` in the stub, but no provider document promises it: a row without
    /// one could be ours, and calling the message absent would send it twice.
    @Test func aRecordWithoutAnyIdProvesNothing() async throws {
        await #expect(throws: ProviderLookup.LookupError.self) { try await lookUp(answer: Self.answer(outID: nil)) }
    }
}
