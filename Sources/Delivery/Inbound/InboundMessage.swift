import Foundation

/// Something a recipient sent back: an SMS reply, a WeChat follower's text, or a WeChat
/// unsubscribe event.
///
/// Providers push these to the listener (`POST /inbound/{gateway}/{token}` for SMS providers,
/// the official account's server URL for WeChat). The same event can be pushed more than once
/// (Aliyun retries after 1, 5 and 10 minutes, or on a longer schedule in newer documentation);
/// ``dedupeKey`` names it, and the store keeps one row per `(gateway, dedupeKey)`.
public struct InboundMessage: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// An SMS sent back to the signature's number.
        case smsReply = "sms_reply"
        /// A text message a WeChat follower sent to the official account.
        case wechatText = "wechat_text"
        /// A WeChat follower unsubscribed from the official account.
        case wechatUnsubscribe = "wechat_unsubscribe"
    }

    /// The configured gateway name the message came through.
    public var gateway: String
    public var kind: Kind
    /// The sender: a mainland mobile number without country code (`13800000000`), or an openid.
    public var sender: String
    /// The text as sent (empty for an unsubscribe).
    public var text: String
    /// When the provider says it was sent, if it said so in a form we understand.
    public var sentAt: Date?
    /// Names the provider's event (`aliyun:<sequence_id>`, `tencent:<digest>`, `wechat:...`).
    public var dedupeKey: String
    /// The push's body, verbatim, for the evidence of an opt-out.
    public var raw: String

    public init(
        gateway: String, kind: Kind, sender: String, text: String, sentAt: Date?, dedupeKey: String, raw: String
    ) {
        self.gateway = gateway
        self.kind = kind
        self.sender = sender
        self.text = text
        self.sentAt = sentAt
        self.dedupeKey = dedupeKey
        self.raw = raw
    }

    /// A one-line summary for logs: the sender masked, the text's length but not the text.
    public var description: String {
        "InboundMessage(gateway=\(gateway) kind=\(kind.rawValue) sender=\(ReceiptMasking.mask(sender)) "
            + "chars=\(text.count))"
    }
}

/// The words that mean "stop sending me SMS" (回T退订), compared after folding.
///
/// Folding: Unicode compatibility normalisation (full-width `ＴＤ` becomes `TD`), upper case,
/// and whitespace, punctuation and symbols removed from both ends (`"t。"`, `" 退订! "`). The
/// folded reply must equal a folded keyword: `T` opts out, `T退订` or `退订了吗` does not, since
/// the reply is then a sentence someone should read.
public struct OptOutKeywords: Sendable, Hashable {
    /// The shipped keywords: the `T` every SMS asks for, its common variants.
    public static let defaults = ["T", "TD", "退订", "N"]

    private let folded: Set<String>

    public init(_ keywords: [String] = defaults) {
        folded = Set(keywords.map(Self.fold).filter { !$0.isEmpty })
    }

    /// Whether `text` is an opt-out.
    public func matches(_ text: String) -> Bool {
        folded.contains(Self.fold(text))
    }

    private static let edges = CharacterSet.whitespacesAndNewlines.union(.punctuationCharacters).union(.symbols)
        .union(.controlCharacters).union(CharacterSet(charactersIn: "\u{200B}\u{FEFF}"))

    /// The comparable form of a reply or a keyword.
    public static func fold(_ text: String) -> String {
        // A reply is short; anything long is not a keyword, and folding it is wasted work.
        guard text.utf8.count <= 64 else { return "" }
        return text.precomposedStringWithCompatibilityMapping.uppercased().trimmingCharacters(in: edges)
    }
}

/// Mainland mobile numbers as providers write them (`+8613800000000`, `8613800000000`,
/// `0086…`, or with a separate nation code) reduced to the 11 digits the registry stores.
enum MobileNumber {
    /// The 11-digit number, or the input unchanged (trimmed) when it is not a mainland mobile.
    static func normalized(_ number: String, nationCode: String? = nil) -> String {
        var digits = number.trimmingCharacters(in: .whitespaces)
        if let nationCode, !["", "86", "+86", "0086"].contains(nationCode) { return digits }
        if digits.hasPrefix("+") { digits.removeFirst() }
        if digits.hasPrefix("0086") { digits.removeFirst(4) }
        if digits.utf8.count == 13, digits.hasPrefix("86") { digits.removeFirst(2) }
        return digits
    }
}
