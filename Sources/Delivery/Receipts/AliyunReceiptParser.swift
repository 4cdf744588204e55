import Foundation

/// Parses Aliyun SMS `SmsReport` pushes (Delivery/Gateways.md §3): a JSON array of delivery reports.
///
/// Times are Beijing wall-clock `yyyy-MM-dd HH:mm:ss`; an unreadable time leaves
/// ``Receipt/occurredAt`` nil rather than refusing the report, but a readable one outside
/// 2000-01-01 … now + 1 day makes the push `.malformed`, and so does an `sms_size` that is not
/// a segment count (decimal digits, 0–1000). The dedupe key is
/// `(biz_id, phone_number, report_time, err_code)`, the same one ``AliyunReceiptPoller`` builds.
///
/// Fields are capped in UTF-8 bytes, over the cap is `.malformed`: `out_id` 256 (our `OutId`,
/// documented under 256 characters), `biz_id` 64, `phone_number` 32, `err_code` 64, `err_msg`
/// 256, `send_time` and `report_time` 32.
public enum AliyunReceiptParser {
    /// The body Aliyun expects once the reports are stored (only the numeric `code` is checked).
    public static let successReply = #"{"code":0,"msg":"接收成功"}"#

    /// Most reports accepted in one push.
    public static let defaultMaxItems = 1000

    struct Report: Decodable {
        var phoneNumber: String
        var sendTime: String?
        var reportTime: String?
        var success: Bool
        var errCode: String?
        var errMsg: String?
        var smsSize: String?
        var bizId: String
        var outId: String?
    }

    /// The largest `sms_size` accepted: a message is at most 500 characters, 8 segments.
    static let maxSegments: UInt64 = 1000

    /// Field caps in UTF-8 bytes.
    enum Cap {
        static let outID = 256
        static let bizID = 64
        static let phoneNumber = 32
        static let errCode = 64
        static let errMsg = 256
        static let time = 32
    }

    /// Parses one push body.
    ///
    /// - Parameters:
    ///   - body: the request body.
    ///   - gateway: the configured gateway name, copied into every receipt.
    ///   - now: the current time; report times more than a day past it are refused.
    ///   - maxItems: most reports accepted in one body; more is ``ReceiptError/Code/tooLarge``.
    /// - Throws: ``ReceiptError`` `.malformed` (not an array of reports, wrong types, implausible
    ///   time or size) or `.tooLarge`.
    public static func parse(
        _ body: [UInt8], gateway: String, now: Date = Date(), maxItems: Int = defaultMaxItems
    ) throws(ReceiptError) -> [Receipt] {
        let reports = try ReceiptJSON.decode([Report].self, from: body, what: "Aliyun SmsReport", keys: .snakeCase)
        try ReceiptJSON.checkCount(reports.count, limit: maxItems, what: "Aliyun SmsReport")
        var receipts: [Receipt] = []
        receipts.reserveCapacity(reports.count)
        for report in reports {
            try check(report)
            let errCode = report.errCode ?? ""
            let reportTime = report.reportTime ?? ""
            var occurredAt: Date?
            if let reported = BeijingTime.parse(reportTime) {
                occurredAt = try ReceiptCheck.plausible(reported, now: now, "Aliyun report_time")
            }
            if let sent = BeijingTime.parse(report.sendTime ?? "") {
                _ = try ReceiptCheck.plausible(sent, now: now, "Aliyun send_time")
            }
            if let size = nonEmpty(report.smsSize) {
                guard let segments = ReceiptCheck.unsigned(size, maxDigits: 4), segments <= maxSegments else {
                    throw ReceiptError(.malformed, "Aliyun sms_size is not a segment count")
                }
            }
            receipts.append(
                Receipt(
                    gateway: gateway,
                    messageID: nonEmpty(report.outId),
                    providerID: nonEmpty(report.bizId),
                    recipient: nonEmpty(report.phoneNumber),
                    status: report.success ? .delivered : .failed,
                    reasonCode: errCode.isEmpty ? (report.success ? "DELIVERED" : "UNKNOWN") : errCode,
                    occurredAt: occurredAt,
                    dedupeKey: dedupeKey(
                        bizID: report.bizId, phone: report.phoneNumber, time: reportTime, code: errCode)
                ))
        }
        return receipts
    }

    private static func check(_ report: Report) throws(ReceiptError) {
        try ReceiptCheck.length(report.outId, Cap.outID, "Aliyun out_id")
        try ReceiptCheck.length(report.bizId, Cap.bizID, "Aliyun biz_id")
        try ReceiptCheck.length(report.phoneNumber, Cap.phoneNumber, "Aliyun phone_number")
        try ReceiptCheck.length(report.errCode, Cap.errCode, "Aliyun err_code")
        try ReceiptCheck.length(report.errMsg, Cap.errMsg, "Aliyun err_msg")
        try ReceiptCheck.length(report.sendTime, Cap.time, "Aliyun send_time")
        try ReceiptCheck.length(report.reportTime, Cap.time, "Aliyun report_time")
    }

    static func dedupeKey(bizID: String, phone: String, time: String, code: String) -> String {
        "aliyun:" + [bizID, phone, time, code].joined(separator: "|")
    }
}

func nonEmpty(_ value: String?) -> String? {
    guard let value, !value.isEmpty else { return nil }
    return value
}
