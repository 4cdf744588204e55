import Foundation
import Registry

/// What a recipient sent back, as the store keeps it.
public enum ReplyKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// An SMS sent back to the signature's number.
    case smsReply = "sms_reply"
    /// A WeChat follower's text to the official account.
    case wechatText = "wechat_text"
    /// A WeChat follower unsubscribed.
    case wechatUnsubscribe = "wechat_unsubscribe"
    /// Sent from the package page's form: "这条推送对我没有帮助" (never an opt-out).
    case pageNotUseful = "page_not_useful"
    /// Sent from the package page's form: "我有问题要咨询", someone should answer.
    case pageQuestion = "page_question"

    /// The channel the sender is reached on; nil for feedback from the page, which reaches us
    /// through the message's link, not through a channel (see ``ReplyRecord/channel``).
    public var channel: Channel? {
        switch self {
        case .smsReply: .sms
        case .wechatText, .wechatUnsubscribe: .wechat
        case .pageNotUseful, .pageQuestion: nil
        }
    }

    /// Sent from the package page rather than through a gateway.
    public var isPageFeedback: Bool { channel == nil }
}

/// A reply to store: one provider event, with its evidence.
public struct NewReply: Sendable, Hashable {
    public var gateway: String
    public var kind: ReplyKind
    /// The mobile number (11 digits) or openid.
    public var sender: String
    public var text: String
    public var sentAt: Date?
    /// Names the provider's event; a second reply with the same key on the same gateway is a re-push.
    public var dedupeKey: String
    /// The push's body, verbatim.
    public var raw: String
    /// Whether the reply opts its sender out of its channel (an opt-out keyword, an unsubscribe).
    public var optOut: Bool

    public init(
        gateway: String, kind: ReplyKind, sender: String, text: String, sentAt: Date?, dedupeKey: String, raw: String,
        optOut: Bool
    ) {
        self.gateway = gateway
        self.kind = kind
        self.sender = sender
        self.text = text
        self.sentAt = sentAt
        self.dedupeKey = dedupeKey
        self.raw = raw
        self.optOut = optOut
    }
}

/// A stored reply, attached to the message to its sender that went out last.
public struct ReplyRecord: Sendable, Hashable {
    public var id: Int64
    public var gateway: String
    public var kind: ReplyKind
    public var sender: String
    public var text: String
    public var sentAt: Date?
    public var receivedAt: Date
    public var optOut: Bool
    public var creditCode: String?
    public var campaignID: Int64?
    public var messageID: Int64?
    /// The channel `sender` is reached on: the reply's own, or for feedback from the page, the
    /// channel of the message whose link it came through (`sender` is that message's recipient).
    public var channel: Channel?
}

/// What storing a batch of replies did.
public struct ReplyOutcome: Sendable, Hashable {
    /// Replies stored (re-pushes excluded).
    public var stored = 0
    /// Replies already stored (the provider pushed them again).
    public var duplicates = 0
    /// New opt-outs: suppressions added.
    public var optOuts = 0
    /// Messages still waiting to go to an opted-out address, now `suppressed`.
    public var messagesSuppressed = 0

    public init() {}
}

/// Who a suppression silences on one channel.
public enum SuppressionTarget: Sendable, Hashable, CustomStringConvertible {
    /// Every message of this enterprise (by credit code).
    case enterprise(String)
    /// Every message to this mobile number or openid, whichever enterprise it belongs to.
    case address(String)

    public var description: String {
        switch self {
        case .enterprise(let code): "enterprise \(code)"
        case .address(let address): "address \(address)"
        }
    }
}

/// Why messages on a channel are not sent to someone, with the evidence.
public struct SuppressionRecord: Sendable, Hashable {
    public var target: SuppressionTarget
    public var channel: Channel
    /// `opted_out_reply`, `wechat_unsubscribe`, `operator`, or an older free-form source.
    public var reason: String
    /// The reply that caused it, for an opt-out.
    public var replyID: Int64?
    /// The operator who added it by hand, and their note.
    public var operatorName: String?
    public var note: String?
    public var at: Date

    public init(
        target: SuppressionTarget, channel: Channel, reason: String, replyID: Int64? = nil, operatorName: String? = nil,
        note: String? = nil, at: Date
    ) {
        self.target = target
        self.channel = channel
        self.reason = reason
        self.replyID = replyID
        self.operatorName = operatorName
        self.note = note
        self.at = at
    }

    /// The suppression reason a message gets when this suppression silences it.
    public static let optedOutReply = "opted_out_reply"
    public static let wechatUnsubscribe = "wechat_unsubscribe"
    public static let byOperator = "operator"
}
