import Foundation

/// Parses Tencent Cloud SMS status callbacks (短信下发状态通知, GATEWAYS.md §4): a JSON array of
/// at most 100 reports.
///
/// `sid` is the send's `SerialNo`; `ext` (when support enabled it) echoes our `SessionContext`.
/// The dedupe key is `(sid, report_status, receive time in unix seconds)`, the same one
/// ``TencentReceiptPoller`` builds, so a pushed and a pulled report of one event coincide.
public enum TencentReceiptParser {
    /// The body Tencent expects once the reports are stored.
    public static let successReply = #"{"result":0,"errmsg":"OK"}"#

    /// Tencent pushes at most 100 reports at once.
    public static let maxItems = 100

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
    /// - Throws: ``ReceiptError`` `.malformed` (syntax, missing `sid`/`report_status`, wrong types),
    ///   `.tooLarge` (more than 100 reports), `.unsupported` (a `report_status` other than `SUCCESS`/`FAIL`).
    public static func parse(_ body: [UInt8], gateway: String) throws(ReceiptError) -> [Receipt] {
        let reports = try ReceiptJSON.decode([Report].self, from: body, what: "Tencent callback", keys: .snakeCase)
        try ReceiptJSON.checkCount(reports.count, limit: maxItems, what: "Tencent callback")
        var receipts: [Receipt] = []
        receipts.reserveCapacity(reports.count)
        for report in reports {
            let status = try status(report.reportStatus)
            let time = report.userReceiveTime ?? ""
            let occurredAt = BeijingTime.parse(time)
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
