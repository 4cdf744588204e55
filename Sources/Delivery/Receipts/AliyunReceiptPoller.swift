import Foundation

/// Pulls Aliyun SMS delivery states with `QuerySendDetails` (Delivery/Gateways.md §3).
///
/// Builds the RPC request with its business parameters and hands it to `sign`, which adds the
/// common parameters and the signature (V2 or V3; it may also change the method or move the
/// parameters). Parses the answer into receipts with the same dedupe keys as the
/// `SmsReport` push, so a pushed and a pulled report of one event coincide when their times do.
public struct AliyunReceiptPoller: Sendable {
    /// One page of one number's sends on one Beijing date.
    public struct Query: Sendable, Hashable {
        /// The 11-digit number (one per query).
        public var phoneNumber: String
        /// Any instant of the send date; sent as its Beijing date `yyyyMMdd` (≤30 days back).
        public var sendDate: Date
        /// The send's `BizId`, narrowing the answer to one send.
        public var bizID: String?
        /// 1–50. Default 50.
        public var pageSize: Int
        /// From 1. Default 1.
        public var currentPage: Int

        public init(phoneNumber: String, sendDate: Date, bizID: String? = nil, pageSize: Int = 50, currentPage: Int = 1)
        {
            self.phoneNumber = phoneNumber
            self.sendDate = sendDate
            self.bizID = bizID
            self.pageSize = pageSize
            self.currentPage = currentPage
        }
    }

    /// One parsed answer.
    public struct Page: Sendable, Hashable {
        /// Final states (`SendStatus` 2 failed, 3 delivered).
        public var receipts: [Receipt]
        /// Rows still waiting for a carrier report (`SendStatus` 1, or a status we do not know).
        public var pending: Int
        /// The `OutId` of each pending row that carries one: sends Aliyun took, not yet reported.
        public var pendingIDs: [String]
        /// Rows without an `OutId` (its presence in the answer is unverified): while there are
        /// any, the absence of ours proves nothing.
        public var rowsWithoutOutID = 0
        /// `TotalCount`: all rows of the query, across pages.
        public var totalCount: Int

        public init(receipts: [Receipt], pending: Int, pendingIDs: [String] = [], totalCount: Int) {
            self.receipts = receipts
            self.pending = pending
            self.pendingIDs = pendingIDs
            self.totalCount = totalCount
        }
    }

    /// Adds the common parameters and the signature to a request.
    public typealias Signer = @Sendable (inout HTTPRequest) throws -> Void

    /// The configured gateway name, copied into every receipt.
    public var gateway: String
    /// The RPC endpoint; a stub or proxy may stand in. Default `https://dysmsapi.aliyuncs.com/`.
    public var endpoint: String
    /// Deadline of one query. Default 10 s.
    public var timeout: Duration
    private let sign: Signer

    public init(
        gateway: String, endpoint: String = "https://dysmsapi.aliyuncs.com/", timeout: Duration = .seconds(10),
        sign: @escaping Signer
    ) {
        self.gateway = gateway
        self.endpoint = endpoint
        self.timeout = timeout
        self.sign = sign
    }

    /// The signed request for `query`: `GET endpoint?Action=QuerySendDetails&…` with the business
    /// parameters sorted and RFC 3986-encoded, then passed through `sign`.
    ///
    /// - Throws: ``ReceiptError`` `.invalidQuery`, or whatever `sign` throws.
    public func makeRequest(for query: Query) throws -> HTTPRequest {
        guard !query.phoneNumber.isEmpty else { throw ReceiptError(.invalidQuery, "no phone number") }
        guard (1...50).contains(query.pageSize) else { throw ReceiptError(.invalidQuery, "PageSize must be 1-50") }
        guard query.currentPage >= 1 else { throw ReceiptError(.invalidQuery, "CurrentPage starts at 1") }
        var parameters = [
            ("Action", "QuerySendDetails"),
            ("CurrentPage", String(query.currentPage)),
            ("Format", "JSON"),
            ("PageSize", String(query.pageSize)),
            ("PhoneNumber", query.phoneNumber),
            ("SendDate", BeijingTime.compactDate(query.sendDate)),
            ("Version", "2017-05-25"),
        ]
        if let bizID = query.bizID, !bizID.isEmpty { parameters.append(("BizId", bizID)) }
        parameters.sort { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
        let encoded = parameters.map { PercentEncoding.rfc3986($0.0) + "=" + PercentEncoding.rfc3986($0.1) }
            .joined(separator: "&")
        // A query: libcurl may resend it.
        var request = HTTPRequest(
            method: .get, url: endpoint + "?" + encoded, timeout: timeout, allowsTransportResend: true)
        try sign(&request)
        return request
    }

    /// Sends `query` through `client` and parses the answer.
    ///
    /// - Throws: `TransportError`, ``ReceiptError`` (`.provider` with the Aliyun `Code` for error
    ///   answers, `http:<status>` when a non-2xx answer has no readable code), or what `sign` throws.
    public func poll(_ query: Query, using client: some HTTPClient) async throws -> Page {
        let response = try await client.send(makeRequest(for: query))
        let page: Result<Page, ReceiptError> = Result { () throws(ReceiptError) -> Page in
            try Self.parse(response.body, gateway: gateway, bizID: query.bizID)
        }
        if case .failure(let error) = page, error.code == .malformed, !(200..<300).contains(response.status) {
            throw ReceiptError(.provider, "QuerySendDetails failed", providerCode: "http:\(response.status)")
        }
        return try page.get()
    }

    struct Answer: Decodable {
        struct Details: Decodable {
            var smsSendDetailDTO: [Row]?
        }
        struct Row: Decodable {
            var phoneNum: String?
            var sendStatus: LenientInt
            var errCode: String?
            var sendDate: String?
            var receiveDate: String?
            var outId: String?
        }
        var code: String
        var totalCount: LenientInt?
        var smsSendDetailDTOs: Details?
    }

    /// Parses a `QuerySendDetails` answer.
    ///
    /// - Parameters:
    ///   - bizID: the queried `BizId`, which the rows do not repeat; becomes ``Receipt/providerID``.
    ///   - now: the current time; a `ReceiveDate` outside 2000-01-01 … now + 1 day leaves
    ///     ``Receipt/occurredAt`` nil.
    /// - Throws: ``ReceiptError`` `.provider` (a `Code` other than `OK`) or `.malformed`.
    public static func parse(
        _ body: [UInt8], gateway: String, bizID: String?, now: Date = Date()
    ) throws(ReceiptError) -> Page {
        let answer = try ReceiptJSON.decode(Answer.self, from: body, what: "QuerySendDetails answer", keys: .pascalCase)
        guard answer.code == "OK" else {
            throw ReceiptError(.provider, "QuerySendDetails refused", providerCode: answer.code)
        }
        let rows = answer.smsSendDetailDTOs?.smsSendDetailDTO ?? []
        var receipts: [Receipt] = []
        var pending = 0
        var pendingIDs: [String] = []
        var withoutOutID = 0
        for row in rows {
            if nonEmpty(row.outId) == nil { withoutOutID += 1 }
            let status: Receipt.Status
            switch row.sendStatus.value {
            case 3: status = .delivered
            case 2: status = .failed
            default:
                pending += 1
                if let id = nonEmpty(row.outId) { pendingIDs.append(id) }
                continue
            }
            let errCode = row.errCode ?? ""
            let time = row.receiveDate ?? ""
            receipts.append(
                Receipt(
                    gateway: gateway,
                    messageID: nonEmpty(row.outId),
                    providerID: nonEmpty(bizID),
                    recipient: nonEmpty(row.phoneNum),
                    status: status,
                    reasonCode: errCode.isEmpty ? (status == .delivered ? "DELIVERED" : "UNKNOWN") : errCode,
                    occurredAt: BeijingTime.parse(time).flatMap { ReceiptCheck.isPlausible($0, now: now) ? $0 : nil },
                    dedupeKey: AliyunReceiptParser.dedupeKey(
                        bizID: bizID ?? "", phone: row.phoneNum ?? "", time: time, code: errCode)
                ))
        }
        var page = Page(
            receipts: receipts, pending: pending, pendingIDs: pendingIDs,
            totalCount: answer.totalCount?.value ?? rows.count)
        page.rowsWithoutOutID = withoutOutID
        return page
    }
}
