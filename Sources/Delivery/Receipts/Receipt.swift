import Foundation

/// A provider's later word on one message: delivered or failed, normalised across providers.
///
/// Receipts arrive by push (``ReceiptListener``) or by polling (``AliyunReceiptPoller``,
/// ``TencentReceiptPoller``). They are matched to messages by ``providerID`` (Aliyun `biz_id`,
/// Tencent `sid`, WeChat `MsgID`) or by ``messageID`` (our id echoed back as `out_id`, `ext` or the
/// generic `idempotency_key` / `id` / `message_id`, see ``GenericReceiptParser``). The same event
/// can arrive more than once; ``dedupeKey`` names it.
public struct Receipt: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The final state the provider reports.
    public enum Status: String, Sendable, Hashable, Codable {
        /// The handset (or WeChat client) received the message.
        case delivered
        /// The provider or carrier gave up on the message.
        case failed
    }

    /// The configured gateway name the receipt came through (not the provider kind).
    public var gateway: String
    /// Our message id when the provider echoes it (`out_id`, `ext` / `SessionContext`, generic
    /// `idempotency_key`, `id` or `message_id`).
    public var messageID: String?
    /// The provider's id of the send (`biz_id`, `sid` / `SerialNo`, `MsgID`).
    public var providerID: String?
    /// The phone number or openid; masked in ``description``.
    public var recipient: String?
    /// Delivered or failed.
    public var status: Status
    /// The provider's reason, verbatim: `DELIVERED`, `DELIVRD`, `UNDELIV`, `success`, `failed:user block`, ...
    public var reasonCode: String
    /// Whether another channel may still reach the recipient (a WeChat user who blocked the account).
    public var fallbackAllowed: Bool
    /// When the provider says the outcome happened, if it said so in a form we understand.
    public var occurredAt: Date?
    /// Names the provider event, so that re-pushes and push/poll overlaps are recognised;
    /// namespaced by provider kind (`aliyun:`, `tencent:`, `wechat:`, `generic:`).
    public var dedupeKey: String

    public init(
        gateway: String, messageID: String? = nil, providerID: String? = nil, recipient: String? = nil,
        status: Status, reasonCode: String, fallbackAllowed: Bool = false, occurredAt: Date? = nil,
        dedupeKey: String
    ) {
        self.gateway = gateway
        self.messageID = messageID
        self.providerID = providerID
        self.recipient = recipient
        self.status = status
        self.reasonCode = reasonCode
        self.fallbackAllowed = fallbackAllowed
        self.occurredAt = occurredAt
        self.dedupeKey = dedupeKey
    }

    /// A one-line summary for logs: ids, status and reason, the recipient masked, no dedupe key.
    public var description: String {
        var parts = ["gateway=\(gateway)", "status=\(status.rawValue)", "reason=\(reasonCode)"]
        if fallbackAllowed { parts.append("fallback=true") }
        if let messageID { parts.append("message=\(messageID)") }
        if let providerID { parts.append("provider=\(providerID)") }
        if let recipient { parts.append("recipient=\(ReceiptMasking.mask(recipient))") }
        return "Receipt(" + parts.joined(separator: " ") + ")"
    }
}

/// Why a receipt body or request was refused.
///
/// Descriptions never echo the body, tokens or signatures: they are fit for logs and metric labels.
public struct ReceiptError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure; new kinds may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case malformed
            case unauthenticated
            case tooLarge = "too large"
            case unsupported
            case provider = "provider error"
            case invalidQuery = "invalid query"
        }
        fileprivate let base: Base

        /// Not the JSON or XML shape the provider sends (syntax, missing fields, wrong types).
        public static let malformed = Code(base: .malformed)
        /// Missing or wrong token or signature, or a stale timestamp.
        public static let unauthenticated = Code(base: .unauthenticated)
        /// More receipts in one body than the provider ever sends.
        public static let tooLarge = Code(base: .tooLarge)
        /// A variant we do not handle (WeChat safe mode, an unknown status value).
        public static let unsupported = Code(base: .unsupported)
        /// A polling request was answered with a provider error; see ``ReceiptError/providerCode``.
        public static let provider = Code(base: .provider)
        /// A polling query the provider would refuse (page size out of range, no phone number).
        public static let invalidQuery = Code(base: .invalidQuery)

        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// A short, payload-free explanation.
    public var message: String
    /// The provider's error code when ``code`` is ``Code/provider``, e.g. `isv.BUSINESS_LIMIT_CONTROL`.
    public var providerCode: String?

    public init(_ code: Code, _ message: String, providerCode: String? = nil) {
        self.code = code
        self.message = message
        self.providerCode = providerCode
    }

    public var description: String {
        if let providerCode { return "receipt: \(code): \(message) (\(providerCode))" }
        return "receipt: \(code): \(message)"
    }
}

/// Masks phone numbers and openids for logs (`138****1234`).
enum ReceiptMasking {
    static func mask(_ value: String) -> String {
        let characters = Array(value)
        if characters.count >= 11 {
            return String(characters.prefix(3)) + "****" + String(characters.suffix(4))
        }
        if characters.count >= 7 {
            return String(characters.prefix(2)) + "****" + String(characters.suffix(2))
        }
        return "****"
    }
}

/// Wall-clock times in Beijing (UTC+8, no daylight saving), as the Chinese providers write them.
enum BeijingTime {
    static let offsetSeconds = 8 * 3600

    /// Parses `yyyy-MM-dd HH:mm:ss`; nil for anything else.
    static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 19, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: " "), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":")
        else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let byte = bytes[index]
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), (1...CivilTime.daysIn(month: month, year: year)).contains(day), hour < 24,
            minute < 60,
            second < 61
        else { return nil }
        let days = CivilTime.days(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    /// The Beijing calendar date of `date` as `yyyyMMdd` (Aliyun `SendDate`).
    static func compactDate(_ date: Date) -> String {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down)) + offsetSeconds
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let (year, month, day) = CivilTime.civil(fromDays: days)
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return pad(year, 4) + pad(month, 2) + pad(day, 2)
    }
}

/// Decodes a JSON body with Foundation, turning every failure into a payload-free ``ReceiptError``.
enum ReceiptJSON {
    /// How the provider spells its keys; Swift properties are always lowerCamelCase.
    enum KeyStyle {
        /// `phone_number` (Aliyun and Tencent pushes).
        case snakeCase
        /// `PhoneNum` (Aliyun and Tencent APIs).
        case pascalCase
        /// As the properties are named.
        case exact
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int?
        init(stringValue: String) { self.stringValue = stringValue }
        init(intValue: Int) {
            self.stringValue = String(intValue)
            self.intValue = intValue
        }
    }

    /// `PhoneNum` → `phoneNum`.
    static func lowerFirst(_ keys: [any CodingKey]) -> any CodingKey {
        guard let last = keys.last else { return Key(stringValue: "") }
        if let index = last.intValue { return Key(intValue: index) }
        return Key(stringValue: last.stringValue.prefix(1).lowercased() + last.stringValue.dropFirst())
    }

    /// `smsSdkAppId` → `SmsSdkAppId`.
    static func upperFirst(_ keys: [any CodingKey]) -> any CodingKey {
        guard let last = keys.last else { return Key(stringValue: "") }
        if let index = last.intValue { return Key(intValue: index) }
        return Key(stringValue: last.stringValue.prefix(1).uppercased() + last.stringValue.dropFirst())
    }

    static func decode<T: Decodable>(
        _ type: T.Type, from body: [UInt8], what: String, keys: KeyStyle = .exact
    ) throws(ReceiptError) -> T {
        let decoder = JSONDecoder()
        switch keys {
        case .snakeCase: decoder.keyDecodingStrategy = .convertFromSnakeCase
        case .pascalCase: decoder.keyDecodingStrategy = .custom(lowerFirst)
        case .exact: break
        }
        do {
            return try decoder.decode(T.self, from: Data(body))
        } catch {
            throw ReceiptError(.malformed, "\(what) is not the expected JSON")
        }
    }

    /// Refuses arrays longer than `limit` before any per-item work.
    static func checkCount(_ count: Int, limit: Int, what: String) throws(ReceiptError) {
        if count > limit { throw ReceiptError(.tooLarge, "\(what) holds \(count) items, limit \(limit)") }
    }
}

/// An integer the provider writes as a JSON number or as a numeric string.
struct LenientInt: Decodable, Hashable {
    var value: Int

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int.self) {
            value = number
        } else if let number = Int(try container.decode(String.self)) {
            value = number
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an integer")
        }
    }
}

/// Constant-time comparison of secrets, so response timing does not reveal how much matched.
enum ConstantTime {
    static func equals(_ lhs: String, _ rhs: String) -> Bool {
        let a = Array(lhs.utf8)
        let b = Array(rhs.utf8)
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        let count = max(a.count, b.count)
        for index in 0..<count {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= x ^ y
        }
        return difference == 0 && a.count == b.count
    }
}
