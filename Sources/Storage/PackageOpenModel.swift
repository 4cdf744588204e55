import Foundation
import Registry

/// What kind of client opened a package page, told from its User-Agent; the User-Agent itself
/// (and the address) is never kept.
public enum ClientClass: String, Sendable, Hashable, CaseIterable, Codable {
    /// WeChat's built-in browser: the link was opened from a WeChat message.
    case wechat
    /// Any other phone or tablet browser.
    case mobile
    /// Anything else, including a request without a User-Agent.
    case desktop

    /// The class of the client that sent `userAgent`.
    public init(userAgent: String?) {
        guard let userAgent else {
            self = .desktop
            return
        }
        if userAgent.contains("MicroMessenger") {
            self = .wechat
        } else if userAgent.contains("Mobile") || userAgent.contains("Android") || userAgent.contains("iPhone") {
            self = .mobile
        } else {
            self = .desktop
        }
    }
}

/// How many packages of a campaign were opened, against how many arrived.
public struct OpenRate: Sendable, Hashable {
    /// Messages delivered: by a delivery receipt, or by an open (a page opened before its
    /// receipt came has arrived all the same).
    public var delivered = 0
    /// Messages whose page was opened at least once.
    public var opened = 0

    public init(delivered: Int = 0, opened: Int = 0) {
        self.delivered = delivered
        self.opened = opened
    }

    /// `opened / delivered`, or nil when nothing was delivered.
    public var rate: Double? { delivered == 0 ? nil : Double(opened) / Double(delivered) }
}

/// A campaign's package opens, by the dimensions a service team compares.
public struct OpenReport: Sendable, Hashable {
    /// Every message of the campaign.
    public var all = OpenRate()
    /// Page views in all: first opens and the reloads after them.
    public var views = 0
    /// By policy the message carried (a message counts once under each of its policies).
    public var byPolicy: [String: OpenRate] = [:]
    /// By the enterprise's region as the registry names it now; `nil`: no region.
    public var byRegion: [String?: OpenRate] = [:]
    /// By the message's channel.
    public var byChannel: [Channel: OpenRate] = [:]
    /// Opened packages by the client class of their first open.
    public var byClientClass: [ClientClass: Int] = [:]

    public init() {}

    /// Counts one message that was delivered or opened.
    mutating func add(
        delivered: Bool, opened: ClientClass?, views: Int, channel: Channel?, policyIDs: [String], region: String?
    ) {
        let isOpened = opened != nil
        func count(_ rate: inout OpenRate) {
            if delivered || isOpened { rate.delivered += 1 }
            if isOpened { rate.opened += 1 }
        }
        count(&all)
        for policy in policyIDs { count(&byPolicy[policy, default: OpenRate()]) }
        count(&byRegion[region, default: OpenRate()])
        if let channel { count(&byChannel[channel, default: OpenRate()]) }
        if let opened { byClientClass[opened, default: 0] += 1 }
        self.views += views
    }
}

/// Feedback sent from a package page's form, to store as a reply to its message.
public struct PageFeedback: Sendable, Hashable {
    /// `pageNotUseful` or `pageQuestion`.
    public var kind: ReplyKind
    /// What the reader wrote (may be empty for `pageNotUseful`).
    public var text: String
    /// The form's body as posted (URL-encoded), kept as the evidence.
    public var raw: String

    public init(kind: ReplyKind, text: String, raw: String) {
        self.kind = kind
        self.text = text
        self.raw = raw
    }

    /// The replies' `gateway` of feedback from the page.
    public static let gateway = "page"
}
