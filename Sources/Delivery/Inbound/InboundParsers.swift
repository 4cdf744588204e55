import Foundation

/// Parses the SMS providers' reply pushes (Delivery/Gateways.md §10) into ``InboundMessage``s.
///
/// A push is hostile until proven otherwise, as for receipts (``ReceiptCheck``): times must be
/// plausible, numbers plain digits, every field within its cap in UTF-8 bytes (sender 32, text
/// 2048, sign name 64, destination code and extension 64), or the whole push is `.malformed`.
public enum InboundParser {
    /// Most replies accepted in one push.
    public static let defaultMaxItems = 1000

    enum Cap {
        static let sender = 32
        static let text = 2048
        static let field = 64
    }

    /// Aliyun SmsUp: a JSON array of
    /// `{"phone_number","send_time","content","sign_name","dest_code","sequence_id"}`, the time in
    /// Beijing wall-clock `yyyy-MM-dd HH:mm:ss`, `sequence_id` a number (or numeric string) that
    /// names the reply across re-pushes. Answered with ``AliyunReceiptParser/successReply``.
    public static func aliyun(
        _ body: [UInt8], gateway: String, now: Date = Date(), maxItems: Int = defaultMaxItems
    ) throws(ReceiptError) -> [InboundMessage] {
        struct Item: Decodable {
            var phoneNumber: String
            var sendTime: String?
            var content: String
            var signName: String?
            var destCode: String?
            var sequenceId: LenientInt?
        }
        let items = try ReceiptJSON.decode([Item].self, from: body, what: "Aliyun SmsUp", keys: .snakeCase)
        try ReceiptJSON.checkCount(items.count, limit: maxItems, what: "Aliyun SmsUp")
        let raw = String(decoding: body, as: UTF8.self)
        var result: [InboundMessage] = []
        for item in items {
            try ReceiptCheck.length(item.phoneNumber, Cap.sender, "Aliyun phone_number")
            try ReceiptCheck.length(item.content, Cap.text, "Aliyun content")
            try ReceiptCheck.length(item.signName, Cap.field, "Aliyun sign_name")
            try ReceiptCheck.length(item.destCode, Cap.field, "Aliyun dest_code")
            try ReceiptCheck.length(item.sendTime, Cap.field, "Aliyun send_time")
            guard !item.phoneNumber.isEmpty else { throw ReceiptError(.malformed, "Aliyun phone_number is empty") }
            var sentAt: Date?
            if let sent = BeijingTime.parse(item.sendTime ?? "") {
                sentAt = try ReceiptCheck.plausible(sent, now: now, "Aliyun send_time")
            }
            let sender = MobileNumber.normalized(item.phoneNumber)
            let key: String
            if let sequence = item.sequenceId {
                guard sequence.value >= 0 else { throw ReceiptError(.malformed, "Aliyun sequence_id is negative") }
                key = "aliyun:\(sequence.value)"
            } else {
                key = "aliyun:" + digest([sender, item.sendTime ?? "", item.content])
            }
            result.append(
                InboundMessage(
                    gateway: gateway, kind: .smsReply, sender: sender, text: item.content, sentAt: sentAt,
                    dedupeKey: key, raw: raw))
        }
        return result
    }

    /// Tencent SMS reply callback: `{"extend","mobile","nationcode","sign","text","time"}` (one
    /// object, or an array of them), `time` in unix seconds. Tencent gives no id, so
    /// `mobile + time + text` names the reply. Answered with ``TencentReceiptParser/successReply``.
    public static func tencent(
        _ body: [UInt8], gateway: String, now: Date = Date(), maxItems: Int = defaultMaxItems
    ) throws(ReceiptError) -> [InboundMessage] {
        struct Item: Decodable {
            var extend: String?
            var mobile: String
            var nationcode: String?
            var sign: String?
            var text: String
            var time: LenientInt
        }
        let items: [Item]
        if body.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) == UInt8(ascii: "[") {
            items = try ReceiptJSON.decode([Item].self, from: body, what: "Tencent reply")
        } else {
            items = [try ReceiptJSON.decode(Item.self, from: body, what: "Tencent reply")]
        }
        try ReceiptJSON.checkCount(items.count, limit: maxItems, what: "Tencent reply")
        let raw = String(decoding: body, as: UTF8.self)
        var result: [InboundMessage] = []
        for item in items {
            try ReceiptCheck.length(item.mobile, Cap.sender, "Tencent mobile")
            try ReceiptCheck.length(item.text, Cap.text, "Tencent text")
            try ReceiptCheck.length(item.nationcode, 8, "Tencent nationcode")
            try ReceiptCheck.length(item.sign, Cap.field, "Tencent sign")
            try ReceiptCheck.length(item.extend, Cap.field, "Tencent extend")
            guard !item.mobile.isEmpty else { throw ReceiptError(.malformed, "Tencent mobile is empty") }
            let sentAt = try ReceiptCheck.unixSeconds(String(item.time.value), now: now, "Tencent time")
            let sender = MobileNumber.normalized(item.mobile, nationCode: item.nationcode)
            result.append(
                InboundMessage(
                    gateway: gateway, kind: .smsReply, sender: sender, text: item.text, sentAt: sentAt,
                    dedupeKey: "tencent:" + digest([sender, String(item.time.value), item.text]), raw: raw))
        }
        return result
    }

    /// The generic gateway's reply push: a JSON array of `{"id","from","text","time"}`, `time`
    /// ISO 8601 and optional, `id` the gateway's name for the reply (else `from + time + text`).
    /// Answered with ``GenericReceiptParser/successReply``.
    public static func generic(
        _ body: [UInt8], gateway: String, now: Date = Date(), maxItems: Int = defaultMaxItems
    ) throws(ReceiptError) -> [InboundMessage] {
        struct Item: Decodable {
            var id: String?
            var from: String
            var text: String
            var time: String?
        }
        let items = try ReceiptJSON.decode([Item].self, from: body, what: "generic reply")
        try ReceiptJSON.checkCount(items.count, limit: maxItems, what: "generic reply")
        let raw = String(decoding: body, as: UTF8.self)
        var result: [InboundMessage] = []
        for item in items {
            try ReceiptCheck.length(item.from, Cap.sender, "generic from")
            try ReceiptCheck.length(item.text, Cap.text, "generic text")
            try ReceiptCheck.length(item.id, 128, "generic id")
            try ReceiptCheck.length(item.time, Cap.field, "generic time")
            guard !item.from.isEmpty else { throw ReceiptError(.malformed, "generic from is empty") }
            var sentAt: Date?
            if let time = item.time {
                guard let date = GenericReceiptParser.parseISO8601(time) else {
                    throw ReceiptError(.malformed, "generic time is not ISO 8601")
                }
                sentAt = try ReceiptCheck.plausible(date, now: now, "generic time")
            }
            let sender = MobileNumber.normalized(item.from)
            let key =
                item.id.flatMap { $0.isEmpty ? nil : "generic:" + $0 }
                ?? "generic:" + digest([sender, item.time ?? "", item.text])
            result.append(
                InboundMessage(
                    gateway: gateway, kind: .smsReply, sender: sender, text: item.text, sentAt: sentAt,
                    dedupeKey: key, raw: raw))
        }
        return result
    }

    /// A short, stable name for fields that together identify a reply.
    static func digest(_ parts: [String]) -> String {
        let bytes = (try? Digest.sha256(Array(parts.joined(separator: "\u{1F}").utf8))) ?? []
        return bytes.prefix(12).map { String(format: "%02x", $0) }.joined()
    }
}
