import Foundation

/// Parses Tencent Cloud SMS status callbacks (短信下发状态通知, Delivery/Gateways.md §4): a JSON array of
/// at most 100 reports.
///
/// `sid` is the send's `SerialNo`; `ext` (when support enabled it) echoes our `SessionContext`.
/// The dedupe key is `(sid, report_status, receive time in unix seconds)`, the same one
/// ``TencentReceiptPoller`` builds, so a pushed and a pulled report of one event coincide.
///
/// `user_receive_time` is Beijing wall-clock `yyyy-MM-dd HH:mm:ss`: an unreadable one leaves
/// ``Receipt/occurredAt`` nil, a readable one outside 2000-01-01 … now + 1 day makes the push
/// `.malformed`.
///
/// Fields are capped in UTF-8 bytes, over the cap is `.malformed`: `ext` 511 (our
/// `SessionContext`, documented under 512 bytes), `sid` 128, `mobile` 32, `nationcode` 8,
/// `errmsg` 64, `description` 512, `user_receive_time` 32.
public enum TencentReceiptParser {
    /// The body Tencent expects once the reports are stored.
    public static let successReply = #"{"result":0,"errmsg":"OK"}"#

    /// Tencent pushes at most 100 reports at once.
    public static let maxItems = 100

    /// Field caps in UTF-8 bytes.
    enum Cap {
        static let ext = 511
        static let sid = 128
        static let mobile = 32
        static let nationcode = 8
        static let errmsg = 64
        static let description = 512
        static let time = 32
    }

    struct Report: Decodable {
        var userReceiveTime: String?
        var nationcode: String?
        var mobile: String?
        var reportStatus: String
        var errmsg: String?
        var description: String?
        var sid: String
        var ext: String?
    }

    /// Parses one callback body.
    ///
    /// - Parameters:
    ///   - body: the request body.
    ///   - gateway: the configured gateway name, copied into every receipt.
    ///   - now: the current time; receive times more than a day past it are refused.
    ///   - maxItems: most reports accepted in one body, at most (and by default) ``maxItems``.
    /// - Throws: ``ReceiptError`` `.malformed` (syntax, missing `sid`/`report_status`, wrong types,
    ///   implausible time), `.tooLarge` (more than `maxItems` reports), `.unsupported` (a
    ///   `report_status` other than `SUCCESS`/`FAIL`).
    public static func parse(
        _ body: [UInt8], gateway: String, now: Date = Date(), maxItems: Int = TencentReceiptParser.maxItems
    ) throws(ReceiptError) -> [Receipt] {
        let reports = try ReceiptJSON.decode([Report].self, from: body, what: "Tencent callback", keys: .snakeCase)
        try ReceiptJSON.checkCount(reports.count, limit: min(maxItems, Self.maxItems), what: "Tencent callback")
        var receipts: [Receipt] = []
        receipts.reserveCapacity(reports.count)
        for report in reports {
            try check(report)
            let status = try status(report.reportStatus)
            let time = report.userReceiveTime ?? ""
            var occurredAt: Date?
            if let received = BeijingTime.parse(time) {
                occurredAt = try ReceiptCheck.plausible(received, now: now, "Tencent user_receive_time")
            }
            receipts.append(
                Receipt(
                    gateway: gateway,
                    messageID: nonEmpty(report.ext),
                    providerID: nonEmpty(report.sid),
                    recipient: nonEmpty(report.mobile),
                    status: status,
                    reasonCode: nonEmpty(report.errmsg) ?? report.reportStatus,
                    occurredAt: occurredAt,
                    dedupeKey: dedupeKey(sid: report.sid, status: report.reportStatus, time: occurredAt, raw: time)
                ))
        }
        return receipts
    }

    private static func check(_ report: Report) throws(ReceiptError) {
        try ReceiptCheck.length(report.ext, Cap.ext, "Tencent ext")
        try ReceiptCheck.length(report.sid, Cap.sid, "Tencent sid")
        try ReceiptCheck.length(report.mobile, Cap.mobile, "Tencent mobile")
        try ReceiptCheck.length(report.nationcode, Cap.nationcode, "Tencent nationcode")
        try ReceiptCheck.length(report.errmsg, Cap.errmsg, "Tencent errmsg")
        try ReceiptCheck.length(report.description, Cap.description, "Tencent description")
        try ReceiptCheck.length(report.userReceiveTime, Cap.time, "Tencent user_receive_time")
    }

    static func status(_ reportStatus: String) throws(ReceiptError) -> Receipt.Status {
        switch reportStatus {
        case "SUCCESS": return .delivered
        case "FAIL": return .failed
        default: throw ReceiptError(.unsupported, "unknown Tencent report status")
        }
    }

    static func dedupeKey(sid: String, status: String, time: Date?, raw: String) -> String {
        // `Int64(exactly:)`: a pulled `UserReceiveTime` of Int.max is past Int64 once it is a Double.
        let seconds = time.flatMap { Int64(exactly: $0.timeIntervalSince1970.rounded(.towardZero)) }
        let when = seconds.map { String($0) } ?? raw
        return "tencent:" + [sid, status, when].joined(separator: "|")
    }
}
