import Foundation

extension TencentReceiptPoller {
    /// One page of one number's delivery states over a time range, for
    /// `PullSmsSendStatusByPhoneNumber` (Delivery/Gateways.md §4 Polling; 20 requests/s).
    ///
    /// Unlike `PullSmsSendStatus`, the states are not consumed: asking again answers the same rows.
    /// That makes it the way to reconcile a send whose answer was lost: the rows carry the
    /// `SessionContext` of every message that reached the number, so whether Tencent took ours
    /// can be read from them.
    public struct PhoneNumberQuery: Sendable, Hashable {
        /// The number, E.164 (`+8613800138000`); a mainland number without `+86` gets it.
        public var phoneNumber: String
        /// Start of the range (`BeginTime`, Unix seconds, rounded down); Tencent keeps 7 days.
        public var beginTime: Date
        /// End of the range (`EndTime`, Unix seconds, rounded down); `nil` leaves it open.
        public var endTime: Date?
        /// Rows to skip (`Offset`), from 0. Default 0.
        public var offset: Int
        /// Rows per page (`Limit`), 1–100. Default 100.
        public var limit: Int

        public init(phoneNumber: String, beginTime: Date, endTime: Date? = nil, offset: Int = 0, limit: Int = 100) {
            self.phoneNumber = phoneNumber
            self.beginTime = beginTime
            self.endTime = endTime
            self.offset = offset
            self.limit = limit
        }
    }

    /// The signed `PullSmsSendStatusByPhoneNumber` request for `query`: `POST` with
    /// `{"BeginTime":…,"EndTime":…,"Limit":…,"Offset":…,"PhoneNumber":"+86…","SmsSdkAppId":"…"}`
    /// (`EndTime` only when set).
    ///
    /// - Throws: ``ReceiptError`` `.invalidQuery` (no number or app id, limit out of 1–100, a
    ///   negative offset, an end before the beginning), or what `sign` throws.
    public func makeRequest(for query: PhoneNumberQuery) throws -> HTTPRequest {
        guard !query.phoneNumber.isEmpty else { throw ReceiptError(.invalidQuery, "no phone number") }
        guard (1...100).contains(query.limit) else { throw ReceiptError(.invalidQuery, "Limit must be 1-100") }
        guard query.offset >= 0 else { throw ReceiptError(.invalidQuery, "Offset starts at 0") }
        guard !smsSdkAppID.isEmpty else { throw ReceiptError(.invalidQuery, "no SmsSdkAppId") }
        let begin = Int64(query.beginTime.timeIntervalSince1970.rounded(.down))
        let end = query.endTime.map { Int64($0.timeIntervalSince1970.rounded(.down)) }
        if let end, end < begin { throw ReceiptError(.invalidQuery, "EndTime before BeginTime") }
        struct Body: Encodable {
            var beginTime: Int64
            var endTime: Int64?
            var limit: Int
            var offset: Int
            var phoneNumber: String
            var smsSdkAppId: String
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .custom(ReceiptJSON.upperFirst)
        let body = try encoder.encode(
            Body(
                beginTime: begin, endTime: end, limit: query.limit, offset: query.offset,
                phoneNumber: TencentSMSAdapter.e164(query.phoneNumber), smsSdkAppId: smsSdkAppID))
        var request = HTTPRequest(
            method: .post, url: endpoint,
            headers: [
                "Content-Type": "application/json; charset=utf-8",
                "X-TC-Action": "PullSmsSendStatusByPhoneNumber",
                "X-TC-Version": "2021-01-11",
                "X-TC-Region": region,
            ],
            // A query changes nothing at the provider: libcurl may replay it.
            body: Array(body), timeout: timeout, allowsTransportResend: true)
        try sign(&request)
        return request
    }

    /// Asks once for `query` through `client` and parses the answer; a full page (`limit` rows)
    /// may have more after it at `offset + limit`.
    ///
    /// - Throws: `TransportError`, ``ReceiptError`` (`.provider` with Tencent's error `Code`, or
    ///   `http:<status>` for a non-200 answer), or what `sign` throws.
    public func poll(_ query: PhoneNumberQuery, using client: some HTTPClient) async throws -> [Receipt] {
        let response = try await client.send(makeRequest(for: query))
        guard response.status == 200 else {
            throw ReceiptError(
                .provider, "PullSmsSendStatusByPhoneNumber failed", providerCode: "http:\(response.status)")
        }
        return try Self.parsePhoneNumberStatus(response.body, gateway: gateway)
    }

    /// Parses a `PullSmsSendStatusByPhoneNumber` answer: the same `PullSmsSendStatusSet` rows as
    /// `PullSmsSendStatus`, into receipts with ``Receipt/messageID`` = `SessionContext`,
    /// ``Receipt/providerID`` = `SerialNo` and the dedupe keys of the callback and the pull.
    ///
    /// - Throws: ``ReceiptError`` `.provider` (an `Error` answer), `.malformed`, `.tooLarge` (more than
    ///   100 rows), `.unsupported` (a `ReportStatus` other than `SUCCESS`/`FAIL`).
    public static func parsePhoneNumberStatus(_ body: [UInt8], gateway: String) throws(ReceiptError) -> [Receipt] {
        try parseStatusSet(body, gateway: gateway, action: "PullSmsSendStatusByPhoneNumber")
    }
}
