import Config
import Delivery
import Foundation
import Kit
import Ops
import Planning
import Storage

/// Asks a provider what became of one message, through its query API: Aliyun
/// `QuerySendDetails` (records carry our `OutId`), Tencent `PullSmsSendStatusByPhoneNumber`
/// (status reports carry our `SessionContext`). WeChat and generic gateways have none.
///
/// Reconciliation uses it to settle a message whose send was ambiguous, and to find the fate of
/// an accepted message whose receipt never came.
public struct ProviderLookup: Sendable {
    /// What the provider knows of the message.
    public enum Finding: Sendable, Hashable {
        /// The provider took it and has no final report yet.
        case pending(providerID: String?)
        /// The provider took it and reports its fate.
        case reported(Receipt)
        /// The provider has no record of it.
        case absent
    }

    public let gateway: String
    private let body: @Sendable (OutboxMessage, Date) async throws -> Finding

    public init(gateway: String, lookUp: @escaping @Sendable (OutboxMessage, Date) async throws -> Finding) {
        self.gateway = gateway
        self.body = lookUp
    }

    /// Looks `message` up at its provider at `now`.
    ///
    /// - Throws: the transport's or the provider's error; the caller tries again later.
    public func lookUp(_ message: OutboxMessage, now: Date) async throws -> Finding {
        try await body(message, now)
    }

    /// The lookup for a configured gateway, or `nil` for a kind without a query API.
    static func make(
        _ settings: GatewaySettings, credentials: Credentials?, client: any HTTPClient
    ) -> ProviderLookup? {
        guard let credentials else { return nil }
        switch settings.kind {
        case .aliyun:
            let poller = AliyunReceiptPoller(
                gateway: settings.name, endpoint: settings.baseURL + "/", timeout: settings.timeout,
                sign: AliyunReceiptPoller.v2Signer(
                    credentials: credentials, regionID: settings.options["region"] ?? "cn-hangzhou"))
            return ProviderLookup(gateway: settings.name) { message, _ in
                try await aliyun(message, poller: poller, client: client)
            }
        case .tencent:
            guard let appID = settings.options["sdk_app_id"] else { return nil }
            let poller = TencentReceiptPoller(
                gateway: settings.name, smsSdkAppID: appID, endpoint: settings.baseURL + "/",
                region: settings.options["region"] ?? "ap-guangzhou", timeout: settings.timeout,
                sign: TencentReceiptPoller.tc3Signer(credentials: credentials))
            return ProviderLookup(gateway: settings.name) { message, now in
                try await tencent(message, poller: poller, client: client, now: now)
            }
        case .wechat, .generic:
            return nil
        }
    }

    /// Tencent lists a number's status reports over a time range, each carrying the send's
    /// `SessionContext` (our id) and `SerialNo`. It has no row for a send before the carrier
    /// reports, so absence is only believed after the settle time (``ReconcileSettings``).
    static func tencent(
        _ message: OutboxMessage, poller: TencentReceiptPoller, client: any HTTPClient, now: Date
    )
        async throws -> Finding
    {
        let sent = message.lastAttemptAt ?? message.acceptedAt ?? message.firstAttemptAt ?? now
        var offset = 0
        while offset < 2_000 {
            let page = try await poller.poll(
                .init(
                    phoneNumber: message.recipient, beginTime: sent.addingTimeInterval(-300), endTime: now,
                    offset: offset),
                using: client)
            let ours = page.first { receipt in
                receipt.messageID == message.idempotencyKey
                    || (message.providerID != nil && receipt.providerID == message.providerID)
            }
            if let ours { return .reported(ours) }
            guard page.count == 100 else { break }
            offset += 100
        }
        return .absent
    }

    /// Aliyun keeps one record per send from the moment it takes it (`SendStatus` 1 until the
    /// carrier reports), listed by number and Beijing send date; ours carries `OutId`.
    static func aliyun(
        _ message: OutboxMessage, poller: AliyunReceiptPoller, client: any HTTPClient
    ) async throws
        -> Finding
    {
        let key = message.idempotencyKey
        let sent = message.lastAttemptAt ?? message.acceptedAt ?? message.firstAttemptAt ?? Date()
        // A request sent just before Beijing midnight may be dated the next day.
        var dates = [sent]
        let later = sent.addingTimeInterval(120)
        if beijingDay(later) != beijingDay(sent) { dates.append(later) }
        var unidentified = 0
        for date in dates {
            var page = 1
            while page <= 20 {
                let answer = try await poller.poll(
                    .init(phoneNumber: message.recipient, sendDate: date, bizID: message.providerID, currentPage: page),
                    using: client)
                if let receipt = answer.receipts.first(where: { $0.messageID == key }) { return .reported(receipt) }
                if answer.pendingIDs.contains(key) { return .pending(providerID: message.providerID) }
                unidentified += answer.rowsWithoutOutID
                if page * 50 >= answer.totalCount { break }
                page += 1
            }
        }
        // Rows that name no OutId could be ours: "absent" would resend a message Aliyun may have.
        if unidentified > 0 { throw LookupError.unidentifiedRecords(unidentified) }
        return .absent
    }

    /// The provider answered, but not in a way that settles the message.
    public enum LookupError: Error, CustomStringConvertible {
        /// Records without our id: whether ours is among them cannot be told.
        case unidentifiedRecords(Int)
        public var description: String {
            switch self {
            case .unidentifiedRecords(let n): "\(n) provider record(s) without our id; absence unproven"
            }
        }
    }

    static func beijingDay(_ date: Date) -> Int {
        Int((date.timeIntervalSince1970 + 8 * 3600) / 86_400)
    }
}
