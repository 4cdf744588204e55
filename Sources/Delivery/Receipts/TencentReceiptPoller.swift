import Foundation

/// Pulls Tencent Cloud SMS delivery states with `PullSmsSendStatus` (Delivery/Gateways.md §4; the
/// feature is enabled by Tencent support, and pulled states are consumed), or one number's
/// states over a time range with `PullSmsSendStatusByPhoneNumber` (not consumed; see
/// ``PhoneNumberQuery``).
///
/// Builds the API 3.0 request (JSON body, `X-TC-*` headers) and hands it to `sign`, which adds
/// `X-TC-Timestamp` and the TC3 `Authorization`. Receipts carry the same dedupe keys as the
/// status callback.
public struct TencentReceiptPoller: Sendable {
    /// Adds the timestamp and the signature to a request.
    public typealias Signer = @Sendable (inout HTTPRequest) throws -> Void

    /// The configured gateway name, copied into every receipt.
    public var gateway: String
    /// The API endpoint; a stub or proxy may stand in. Default `https://sms.tencentcloudapi.com/`.
    public var endpoint: String
    /// `SmsSdkAppId`, e.g. `1400006666`.
    public var smsSdkAppID: String
    /// `X-TC-Region`. Default `ap-guangzhou`.
    public var region: String
    /// States per pull, 1–100. Default 100.
    public var limit: Int
    /// Deadline of one pull. Default 10 s.
    public var timeout: Duration
    let sign: Signer

    public init(
        gateway: String, smsSdkAppID: String, endpoint: String = "https://sms.tencentcloudapi.com/",
        region: String = "ap-guangzhou", limit: Int = 100, timeout: Duration = .seconds(10), sign: @escaping Signer
    ) {
        self.gateway = gateway
        self.smsSdkAppID = smsSdkAppID
        self.endpoint = endpoint
        self.region = region
        self.limit = limit
        self.timeout = timeout
        self.sign = sign
    }

    /// The signed `PullSmsSendStatus` request: `POST` with `{"Limit":N,"SmsSdkAppId":"…"}`.
    ///
    /// - Throws: ``ReceiptError`` `.invalidQuery` (limit out of 1–100, no app id), or what `sign` throws.
    public func makeRequest() throws -> HTTPRequest {
        guard (1...100).contains(limit) else { throw ReceiptError(.invalidQuery, "Limit must be 1-100") }
        guard !smsSdkAppID.isEmpty else { throw ReceiptError(.invalidQuery, "no SmsSdkAppId") }
        struct Body: Encodable {
            var limit: Int
            var smsSdkAppId: String
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .custom(ReceiptJSON.upperFirst)
        let body = try encoder.encode(Body(limit: limit, smsSdkAppId: smsSdkAppID))
        // A resend by libcurl only pulls again; the statuses of an unanswered pull are lost either way.
        var request = HTTPRequest(
            method: .post, url: endpoint,
            headers: [
                "Content-Type": "application/json; charset=utf-8",
                "X-TC-Action": "PullSmsSendStatus",
                "X-TC-Version": "2021-01-11",
                "X-TC-Region": region,
            ],
            body: Array(body), timeout: timeout, allowsTransportResend: true)
        try sign(&request)
        return request
    }

    /// Pulls once through `client` and parses the answer.
    ///
    /// - Throws: `TransportError`, ``ReceiptError`` (`.provider` with Tencent's error `Code`, or
    ///   `http:<status>` for a non-200 answer), or what `sign` throws.
    public func poll(using client: some HTTPClient) async throws -> [Receipt] {
        let response = try await client.send(makeRequest())
        guard response.status == 200 else {
            throw ReceiptError(.provider, "PullSmsSendStatus failed", providerCode: "http:\(response.status)")
        }
        return try Self.parse(response.body, gateway: gateway)
    }

    struct Answer: Decodable {
        struct Response: Decodable {
            struct Failure: Decodable {
                var code: String
            }
            var error: Failure?
            var pullSmsSendStatusSet: [Row]?
        }
        struct Row: Decodable {
            var userReceiveTime: LenientInt?
            var countryCode: String?
            var subscriberNumber: String?
            var phoneNumber: String?
            var serialNo: String
            var reportStatus: String
            var description: String?
            var sessionContext: String?
        }
        var response: Response
    }

    /// Parses a `PullSmsSendStatus` answer.
    ///
    /// A `UserReceiveTime` outside 2000-01-01 … `now` + 1 day leaves ``Receipt/occurredAt`` nil:
    /// pulled states are consumed, so one absurd row must not lose the page.
    ///
    /// - Throws: ``ReceiptError`` `.provider` (an `Error` answer), `.malformed`, `.tooLarge` (more than
    ///   100 rows), `.unsupported` (a `ReportStatus` other than `SUCCESS`/`FAIL`).
    public static func parse(_ body: [UInt8], gateway: String, now: Date = Date()) throws(ReceiptError) -> [Receipt] {
        try parseStatusSet(body, gateway: gateway, action: "PullSmsSendStatus", now: now)
    }

    /// Parses the `PullSmsSendStatusSet` that `PullSmsSendStatus` and `PullSmsSendStatusByPhoneNumber`
    /// both answer; `action` only names the answer in errors.
    static func parseStatusSet(
        _ body: [UInt8], gateway: String, action: String, now: Date = Date()
    ) throws(ReceiptError) -> [Receipt] {
        let answer = try ReceiptJSON.decode(Answer.self, from: body, what: "\(action) answer", keys: .pascalCase)
        if let failure = answer.response.error {
            throw ReceiptError(.provider, "\(action) refused", providerCode: failure.code)
        }
        let rows = answer.response.pullSmsSendStatusSet ?? []
        try ReceiptJSON.checkCount(rows.count, limit: 100, what: "\(action) answer")
        var receipts: [Receipt] = []
        receipts.reserveCapacity(rows.count)
        for row in rows {
            let status = try TencentReceiptParser.status(row.reportStatus)
            let occurredAt = row.userReceiveTime.flatMap { ReceiptCheck.polledUnixSeconds($0.value, now: now) }
            let reason = status == .failed ? (nonEmpty(row.description) ?? row.reportStatus) : row.reportStatus
            receipts.append(
                Receipt(
                    gateway: gateway,
                    messageID: nonEmpty(row.sessionContext),
                    providerID: nonEmpty(row.serialNo),
                    recipient: nonEmpty(row.subscriberNumber) ?? nonEmpty(row.phoneNumber),
                    status: status,
                    reasonCode: reason,
                    occurredAt: occurredAt,
                    dedupeKey: TencentReceiptParser.dedupeKey(
                        sid: row.serialNo, status: row.reportStatus, time: occurredAt,
                        raw: row.userReceiveTime.map { String($0.value) } ?? "")
                ))
        }
        return receipts
    }
}
