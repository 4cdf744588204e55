import Foundation
import Registry

/// Where a campaign left one enterprise of its audience, derived from all its messages there.
///
/// The cases are declared in the order a service team works through them: misses it can act
/// on first, then messages still in flight, then enterprises told these policies before.
public enum ReachReason: String, Sendable, Hashable, CaseIterable, Codable {
    /// A message reached the handset or the WeChat user.
    case delivered
    /// The last attempt failed for good (`lastError` says why).
    case failed
    /// Accepted by the provider, but no receipt came in the receipt window.
    case expired
    /// The send was ambiguous and reconciliation could not settle it: maybe received.
    case unconfirmed
    /// No mobile number or openid on any of the campaign's channels.
    case noContact = "no_contact"
    /// Opted out of every channel it can be reached on (see ``OptOut`` for how).
    case optedOut = "opted_out"
    /// Reached the cross-campaign frequency cap on its channels.
    case frequencyCap = "frequency_cap"
    /// None of its policies may be announced on the channels it can be reached on.
    case noPolicyForChannel = "no_policy_for_channel"
    /// Planned beyond the campaign's `--max`.
    case campaignMax = "campaign_max"
    /// The campaign was cancelled before its message went out.
    case cancelled
    /// Suppressed for a reason this version does not know.
    case otherSuppression = "other_suppression"
    /// A message is queued, being sent, retried or reconciled.
    case pending
    /// Accepted by the provider; the delivery receipt has not come yet.
    case awaitingReceipt = "awaiting_receipt"
    /// Already told these policies within the de-duplication window: reached earlier, not a miss.
    case toldBefore = "told_before"
    /// Held out at random as the campaign's control group (`campaign start --control`): not
    /// sent on purpose, so not a miss.
    case controlGroup = "control_group"

    /// Neither delivered, told before, held out, nor still in flight: a miss.
    public var isMiss: Bool {
        switch self {
        case .delivered, .pending, .awaitingReceipt, .toldBefore, .controlGroup: false
        default: true
        }
    }

    /// Where enterprises with this reason come in a follow-up list: the declaration order.
    public var followUpRank: Int { Self.allCases.firstIndex(of: self) ?? Self.allCases.count }

    /// Still in flight: the campaign may yet reach the enterprise.
    public var isInFlight: Bool { self == .pending || self == .awaitingReceipt }

    /// How far along a message with this outcome got; the most advanced of an enterprise's
    /// messages decides its reason. Lower is more advanced.
    var precedence: Int {
        switch self {
        case .delivered: 0
        case .awaitingReceipt: 1
        case .pending: 2
        case .unconfirmed: 3
        case .expired: 4
        case .failed: 5
        case .cancelled: 6
        case .toldBefore: 7
        case .optedOut: 8
        case .frequencyCap: 9
        case .noPolicyForChannel: 10
        case .noContact: 11
        case .campaignMax: 12
        case .otherSuppression: 13
        case .controlGroup: 14
        }
    }

    /// The outcome of one message in `state`, suppressed for `suppressionReason` if it is.
    public static func of(_ state: MessageState, suppressionReason: String?) -> ReachReason {
        switch state {
        case .delivered: .delivered
        case .accepted: .awaitingReceipt
        case .planned, .queued, .sending, .retryWait, .ambiguous, .unsent: .pending
        case .unconfirmed: .unconfirmed
        case .expired: .expired
        case .failed: .failed
        case .cancelled: .cancelled
        case .suppressed: suppressed(suppressionReason)
        }
    }

    /// A message's suppression reason as an enterprise's reason: the planner's and the opt-outs
    /// heard while a message was queued (a reply, an unsubscribe, an operator) alike.
    static func suppressed(_ reason: String?) -> ReachReason {
        switch reason {
        case "duplicate": .toldBefore
        case "no_contact": .noContact
        case "opted_out", SuppressionRecord.optedOutReply, SuppressionRecord.wechatUnsubscribe,
            SuppressionRecord.byOperator:
            .optedOut
        case "frequency_cap": .frequencyCap
        case "no_policy_for_channel": .noPolicyForChannel
        case "campaign_max": .campaignMax
        case "control_group": .controlGroup
        default: .otherSuppression
        }
    }
}

/// The fold of one enterprise's messages in a campaign: its reason and what explains it.
public struct EnterpriseReach: Sendable, Hashable {
    /// The most advanced outcome among its messages; `nil` before the first one is added.
    public private(set) var reason: ReachReason?
    /// The policies its messages carry, in first-seen order (a sent message carries those its
    /// channel may announce, a suppressed one every policy it qualified for).
    public private(set) var policyIDs: [String] = []
    /// For `failed`: the last error of the latest failed message; for a suppression: the
    /// message's suppression reason as stored (`opted_out_reply`, `operator`, …).
    public private(set) var detail: String?
    /// The channel of the message that decided the reason (`nil`: suppressed before a channel was chosen).
    public private(set) var channel: Channel?
    /// Addresses its messages went to, by channel (the registry may have changed since).
    public private(set) var recipients: [Channel: String] = [:]

    public init() {}

    /// Adds one of the enterprise's messages; messages are best added in id order, so a later
    /// message of the same outcome (a fallback) gives the detail.
    public mutating func add(
        state: MessageState, channel: Channel?, recipient: String, policyIDs: [String], lastError: String?,
        suppressionReason: String?
    ) {
        for id in policyIDs where !self.policyIDs.contains(id) { self.policyIDs.append(id) }
        if let channel, !recipient.isEmpty { recipients[channel] = recipient }
        let outcome = ReachReason.of(state, suppressionReason: suppressionReason)
        guard reason.map({ outcome.precedence <= $0.precedence }) ?? true else { return }
        reason = outcome
        self.channel = channel
        switch state {
        case .failed: detail = lastError
        case .suppressed: detail = suppressionReason
        default: detail = nil
        }
    }

    public mutating func add(_ message: OutboxMessage) {
        add(
            state: message.state, channel: message.channel, recipient: message.recipient, policyIDs: message.policyIDs,
            lastError: message.lastError, suppressionReason: message.suppressionReason)
    }
}

/// How an enterprise opted out of one channel.
public struct OptOut: Sendable, Hashable {
    public var channel: Channel
    /// `opted_out_reply` (回T退订), `wechat_unsubscribe`, `operator`, an older free-form source,
    /// or `registry_flag` (the registry's `sms_opt_out` / `wechat_opt_out`).
    public var how: String
    /// The operator's note, for an operator's suppression.
    public var note: String?
    /// When the suppression was recorded; `nil` for the registry flag.
    public var at: Date?

    public static let registryFlag = "registry_flag"

    public init(channel: Channel, how: String, note: String? = nil, at: Date? = nil) {
        self.channel = channel
        self.how = how
        self.note = note
        self.at = at
    }

    /// How `enterprise` opted out of each of `channels` it can be reached on: a suppression of
    /// the enterprise, else of its mobile number or openid, else the registry flag.
    ///
    /// `reachedAt` adds addresses the campaign's messages went to (the registry may have changed).
    public static func resolve(
        channels: [Channel], enterprise: Enterprise?, reachedAt: [Channel: String] = [:],
        suppressions: SuppressionIndex
    ) -> [OptOut] {
        var result: [OptOut] = []
        for channel in channels {
            let registered = channel == .sms ? enterprise?.mobile : enterprise?.wechatOpenID
            let addresses = [registered, reachedAt[channel]].compactMap { $0 }.filter { !$0.isEmpty }
            let record =
                enterprise.flatMap { suppressions.record(.enterprise($0.creditCode), channel) }
                ?? addresses.lazy.compactMap { suppressions.record(.address($0), channel) }.first
            if let record {
                result.append(OptOut(channel: channel, how: record.reason, note: record.note, at: record.at))
            } else if channel == .sms ? enterprise?.smsOptOut == true : enterprise?.wechatOptOut == true {
                result.append(OptOut(channel: channel, how: registryFlag))
            }
        }
        return result
    }
}

/// The store's suppressions by target and channel, for looking up how someone opted out.
public struct SuppressionIndex: Sendable {
    private var records: [SuppressionTarget: [Channel: SuppressionRecord]] = [:]

    public init(_ list: [SuppressionRecord]) {
        for record in list { records[record.target, default: [:]][record.channel] = record }
    }

    public func record(_ target: SuppressionTarget, _ channel: Channel) -> SuppressionRecord? {
        records[target]?[channel]
    }
}

/// What a campaign did for its audience: every enterprise that qualified, by reason.
///
/// Built in one pass over the campaign's messages; `campaign report` prints its counts and
/// `campaign unreached` lists its misses, so the two always agree.
public struct Coverage: Sendable {
    /// Each enterprise with at least one message in the campaign, by credit code.
    public private(set) var reaches: [String: EnterpriseReach] = [:]

    public init() {}

    public mutating func add(_ message: OutboxMessage) {
        reaches[message.creditCode, default: EnterpriseReach()].add(message)
    }

    /// Adds one message by its parts (see ``EnterpriseReach/add(state:channel:recipient:policyIDs:lastError:suppressionReason:)``).
    public mutating func add(
        creditCode: String, state: MessageState, channel: Channel?, recipient: String, policyIDs: [String],
        lastError: String?, suppressionReason: String?
    ) {
        reaches[creditCode, default: EnterpriseReach()].add(
            state: state, channel: channel, recipient: recipient, policyIDs: policyIDs, lastError: lastError,
            suppressionReason: suppressionReason)
    }

    /// Enterprises in the campaign's audience (every one planned gets a message row).
    public var qualified: Int { reaches.count }

    /// Enterprises by reason; reasons without one are absent.
    public var byReason: [ReachReason: Int] {
        var counts: [ReachReason: Int] = [:]
        for reach in reaches.values { if let reason = reach.reason { counts[reason, default: 0] += 1 } }
        return counts
    }

    /// The counts a report prints.
    public var counts: Counts { Counts(byReason: byReason, qualified: qualified) }

    /// Coverage in numbers: `qualified = delivered + toldBefore + inFlight + controlGroup + notReached`.
    public struct Counts: Sendable, Hashable {
        public var qualified: Int
        public var delivered: Int
        public var toldBefore: Int
        /// Pending and awaiting a receipt.
        public var inFlight: Int
        /// Held out as the control group.
        public var controlGroup: Int
        /// Misses by reason (``ReachReason/isMiss``).
        public var notReached: [ReachReason: Int]

        public init(byReason: [ReachReason: Int], qualified: Int) {
            self.qualified = qualified
            delivered = byReason[.delivered] ?? 0
            toldBefore = byReason[.toldBefore] ?? 0
            inFlight = (byReason[.pending] ?? 0) + (byReason[.awaitingReceipt] ?? 0)
            controlGroup = byReason[.controlGroup] ?? 0
            notReached = byReason.filter { $0.key.isMiss }
        }

        public var notReachedTotal: Int { notReached.values.reduce(0, +) }
    }
}

/// One enterprise the campaign did not deliver to, as a service team follows it up.
public struct UnreachedEntry: Sendable, Hashable {
    public var creditCode: String
    /// As registered, unescaped; `nil` when the enterprise is no longer in the registry.
    public var name: String?
    public var region: String?
    public var reason: ReachReason
    /// Why, in a few words: the last error, how it opted out, the suppression reason.
    public var detail: String?
    public var policyIDs: [String]
    /// Contacts, masked (`138****5678`, `oWx1****fXYZ`).
    public var maskedMobile: String?
    public var maskedOpenID: String?
    /// For `opted_out`: how, per channel.
    public var optOuts: [OptOut]

    public init(
        creditCode: String, name: String?, region: String?, reason: ReachReason, detail: String?, policyIDs: [String],
        maskedMobile: String?, maskedOpenID: String?, optOuts: [OptOut] = []
    ) {
        self.creditCode = creditCode
        self.name = name
        self.region = region
        self.reason = reason
        self.detail = detail
        self.policyIDs = policyIDs
        self.maskedMobile = maskedMobile
        self.maskedOpenID = maskedOpenID
        self.optOuts = optOuts
    }

    /// Builds the entry for an enterprise not delivered to, or `nil` for one that was.
    ///
    /// `channels`: the campaign's channels, where an opt-out is looked for.
    public static func make(
        creditCode: String, reach: EnterpriseReach, enterprise: Enterprise?, channels: [Channel],
        suppressions: SuppressionIndex
    ) -> UnreachedEntry? {
        guard let reason = reach.reason, reason != .delivered else { return nil }
        let mobile = enterprise?.mobile ?? reach.recipients[.sms]
        let openID = enterprise?.wechatOpenID ?? reach.recipients[.wechat]
        var optOuts: [OptOut] = []
        var detail = reach.detail
        switch reason {
        case .optedOut:
            optOuts = OptOut.resolve(
                channels: channels, enterprise: enterprise, reachedAt: reach.recipients, suppressions: suppressions)
            if optOuts.isEmpty, let stored = reach.detail, stored != "opted_out", let channel = reach.channel {
                // Suppressed while queued by an opt-out since removed: the message still says how.
                optOuts = [OptOut(channel: channel, how: stored)]
            }
            detail = optOuts.isEmpty ? reach.detail : optOuts.map(\.summary).joined(separator: "; ")
        case .failed:
            detail = [reach.channel?.rawValue, reach.detail].compactMap { $0 }.joined(separator: ": ")
        case .noContact, .frequencyCap, .noPolicyForChannel, .campaignMax, .toldBefore, .controlGroup:
            detail = nil
        default:
            break
        }
        return UnreachedEntry(
            creditCode: creditCode, name: enterprise?.name, region: enterprise?.region, reason: reason,
            detail: detail.flatMap { $0.isEmpty ? nil : $0 }, policyIDs: reach.policyIDs,
            maskedMobile: mobile.map(Mask.mobile), maskedOpenID: openID.map(Mask.openID), optOuts: optOuts)
    }

    /// Follow-up order: by reason (actionable first, see ``ReachReason``), then region (none
    /// last), then credit code.
    public static func followUpOrder(_ a: UnreachedEntry, _ b: UnreachedEntry) -> Bool {
        if a.reason != b.reason { return a.reason.followUpRank < b.reason.followUpRank }
        switch (a.region, b.region) {
        case (let x?, let y?) where x != y: return x < y
        case (.some, nil): return true
        case (nil, .some): return false
        default: return a.creditCode < b.creditCode
        }
    }
}

extension OptOut {
    /// `sms opted_out_reply`, `wechat operator (note)`.
    public var summary: String {
        "\(channel.rawValue) \(how)" + (note.map { " (\($0))" } ?? "")
    }
}
