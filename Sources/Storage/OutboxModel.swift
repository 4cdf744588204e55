import Foundation
import Registry

/// Where one message stands on its way to an enterprise.
///
/// The raw values are what the store writes and what reports print.
public enum MessageState: String, Sendable, Hashable, CaseIterable, Codable {
    /// Planned but not yet decided (a transient state of the planner).
    case planned
    /// Not sent, with a reason: opt-out, no contact, frequency cap, duplicate.
    case suppressed
    /// Waiting for its time and its gateway.
    case queued
    /// Claimed by a dispatcher; committed before the gateway is called.
    case sending
    /// A retryable error; due again at its next attempt time.
    case retryWait = "retry_wait"
    /// The gateway took it and gave a provider id.
    case accepted
    /// A receipt says it reached the handset or the WeChat user.
    case delivered
    /// A permanent error, or a receipt says it failed.
    case failed
    /// Accepted, but no receipt came within the receipt window.
    case expired
    /// Sent, no answer (timeout, crash): pinned to the gateway that had it, resent only there
    /// with the same key when that gateway deduplicates, otherwise settled by reconciliation.
    /// Never final.
    case ambiguous
    /// Reconciliation found that the provider never took it: it may be sent again, through any
    /// gateway of its channel.
    case unsent
    /// Still unknown when reconciliation gave up: final, never resent unless an operator asks
    /// (`campaign reconcile ID --resend-unconfirmed`). A late receipt, the provider's own word,
    /// still settles it (`delivered` or `failed`).
    case unconfirmed
    /// Its campaign was cancelled before it was sent.
    case cancelled

    /// A final state never changes again (except that an operator may resend `unconfirmed`).
    public var isFinal: Bool {
        switch self {
        case .suppressed, .delivered, .failed, .expired, .unconfirmed, .cancelled: true
        default: false
        }
    }

    /// States the dispatcher claims from when they are due.
    public static let claimable: [MessageState] = [.queued, .retryWait, .unsent, .ambiguous]

    /// How far along the message is: a transition never lowers it.
    ///
    /// `queued`, `sending`, `retry_wait`, `ambiguous` and `unsent` share a rank because a message
    /// cycles among them while it is retried and reconciled; `accepted` is past all of them, and
    /// final states past `accepted`.
    public var rank: Int {
        switch self {
        case .planned: 0
        case .queued, .sending, .retryWait, .ambiguous, .unsent: 1
        case .accepted: 2
        case .suppressed, .delivered, .failed, .expired, .unconfirmed, .cancelled: 3
        }
    }

    /// Whether a message in this state may move to `next`: never out of a final state, never
    /// to a lower rank, and never to the state it is already in (see ``canReschedule``).
    public func canMove(to next: MessageState) -> Bool {
        !isFinal && next != self && next.rank >= rank
    }

    /// Whether a transition to the state a message is already in may change its schedule (a
    /// claimed message put back with a new due time, an ambiguous one given a new check).
    public var canReschedule: Bool {
        self == .queued || self == .retryWait || self == .ambiguous || self == .unsent
    }
}

/// Where a campaign stands.
public enum CampaignState: String, Sendable, Hashable, CaseIterable, Codable {
    /// Written by the CLI with `approval.required`: waits for another operator to approve it
    /// (then `pending`) or reject it. The daemon leaves it alone.
    case awaitingApproval = "awaiting_approval"
    /// Written by the CLI (or approved); the daemon has not started planning it.
    case pending
    /// The daemon is matching and rendering its messages.
    case planning
    /// Its messages are being dispatched.
    case running
    /// Dispatch is held; planned messages wait.
    case paused
    /// Every message reached a final state or the campaign was closed.
    case completed
    /// Stopped for good; unsent messages were cancelled.
    case cancelled
    /// Refused by the approving operator; never planned.
    case rejected

    /// A final campaign state never changes again.
    public var isFinal: Bool { self == .completed || self == .cancelled || self == .rejected }

    /// Whether the daemon may move a campaign in this state to `next`.
    public func canMove(to next: CampaignState) -> Bool {
        switch (self, next) {
        case (.awaitingApproval, .cancelled): true
        case (.pending, .planning), (.pending, .running), (.pending, .paused), (.pending, .cancelled): true
        case (.planning, .running), (.planning, .paused), (.planning, .cancelled), (.planning, .pending): true
        case (.running, .paused), (.running, .completed), (.running, .cancelled): true
        case (.paused, .running), (.paused, .planning), (.paused, .completed), (.paused, .cancelled): true
        default: false
        }
    }
}

/// What an operator asked for when starting a campaign.
public struct CampaignSpec: Sendable, Hashable {
    public var name: String
    /// The policies pushed, by id.
    public var policyIDs: [String]
    /// Channels in order of preference, e.g. `[.wechat, .sms]`.
    public var channels: [Channel]
    /// Whether a permanent failure on the first channel may produce a message on the next.
    public var fallback: Bool
    public var startAt: Date
    /// A cap on messages planned, if any.
    public var maxMessages: Int?
    /// The campaign's day (`YYYY-MM-DD`), part of every idempotency key.
    public var campaignDate: String
    /// The content hash of each policy's profile as used, by policy id.
    public var policyVersions: [String: String]
    /// The content hash of the templates used.
    public var templateVersion: String
    /// The share of the eligible enterprises held out as a control group, in percent (0–50).
    public var controlPercent: Double
    /// The seed of the control assignment (hex); drawn when the campaign is stored if `nil` and
    /// `controlPercent > 0`. See `ControlGroup` in Planning for the formula.
    public var controlSeed: String?

    public init(
        name: String, policyIDs: [String], channels: [Channel], fallback: Bool, startAt: Date,
        maxMessages: Int? = nil, campaignDate: String, policyVersions: [String: String], templateVersion: String,
        controlPercent: Double = 0, controlSeed: String? = nil
    ) {
        self.controlPercent = controlPercent
        self.controlSeed = controlSeed
        self.name = name
        self.policyIDs = policyIDs
        self.channels = channels
        self.fallback = fallback
        self.startAt = startAt
        self.maxMessages = maxMessages
        self.campaignDate = campaignDate
        self.policyVersions = policyVersions
        self.templateVersion = templateVersion
    }
}

/// A stored campaign with its state and message counts.
public struct CampaignRecord: Sendable, Hashable {
    public var id: Int64
    public var spec: CampaignSpec
    public var state: CampaignState
    /// A pause, resume or cancel the CLI asked for that the daemon has not applied yet.
    public var requestedState: CampaignState?
    public var createdAt: Date
    public var plannedAt: Date?
    public var finishedAt: Date?
    /// Messages by state; states without messages are absent.
    public var counts: [MessageState: Int]
    /// The secret that message ids are keyed with (`nil` for a campaign older than it).
    public var keySecret: [UInt8]?
    /// The operator who started it (`nil` for a campaign older than the audit trail, or one
    /// written by a program rather than an operator).
    public var createdBy: String?
    /// The operator who approved it, or rejected it (then `state` is `rejected`); `nil` while
    /// undecided and for campaigns that needed no approval.
    public var approvedBy: String?
    /// When it was approved or rejected.
    public var decidedAt: Date?
    /// The approver's note, or the reason it was rejected.
    public var decisionNote: String?

    public init(
        id: Int64, spec: CampaignSpec, state: CampaignState, requestedState: CampaignState?, createdAt: Date,
        plannedAt: Date?, finishedAt: Date?, counts: [MessageState: Int], keySecret: [UInt8]? = nil,
        createdBy: String? = nil, approvedBy: String? = nil, decidedAt: Date? = nil, decisionNote: String? = nil
    ) {
        self.keySecret = keySecret
        self.createdBy = createdBy
        self.approvedBy = approvedBy
        self.decidedAt = decidedAt
        self.decisionNote = decisionNote
        self.id = id
        self.spec = spec
        self.state = state
        self.requestedState = requestedState
        self.createdAt = createdAt
        self.plannedAt = plannedAt
        self.finishedAt = finishedAt
        self.counts = counts
    }
}

/// A message the planner adds to the outbox.
public struct NewMessage: Sendable, Hashable {
    public var campaignID: Int64
    public var creditCode: String
    /// `nil` for a message suppressed before a channel was chosen.
    public var channel: Channel?
    /// Mobile number or openid; stored, only ever printed masked.
    public var recipient: String
    /// Policies the message carries; ids must not contain a comma.
    public var policyIDs: [String]
    /// The rendered message, opaque to the store.
    public var payload: [UInt8]
    /// Unique across the outbox; planning the same message again inserts nothing.
    public var idempotencyKey: String
    /// `.queued` or `.suppressed`.
    public var state: MessageState
    public var suppressionReason: String?
    /// The earliest time it may be sent (quiet hours, campaign start).
    public var notBefore: Date
    /// The key of the message this one falls back from (an SMS after a failed WeChat message).
    public var parentKey: String?
    /// The token of the package page its link names; `nil` when it names none.
    public var linkToken: String?

    public init(
        campaignID: Int64, creditCode: String, channel: Channel?, recipient: String, policyIDs: [String],
        payload: [UInt8], idempotencyKey: String, state: MessageState = .queued, suppressionReason: String? = nil,
        notBefore: Date, parentKey: String? = nil, linkToken: String? = nil
    ) {
        self.linkToken = linkToken
        self.campaignID = campaignID
        self.creditCode = creditCode
        self.channel = channel
        self.recipient = recipient
        self.policyIDs = policyIDs
        self.payload = payload
        self.idempotencyKey = idempotencyKey
        self.state = state
        self.suppressionReason = suppressionReason
        self.notBefore = notBefore
        self.parentKey = parentKey
    }
}

/// A message as dispatch needs it.
public struct OutboxMessage: Sendable, Hashable {
    public var id: Int64
    public var idempotencyKey: String
    public var campaignID: Int64
    public var creditCode: String
    /// `nil` for a message suppressed before a channel was chosen.
    public var channel: Channel?
    /// Mobile number or openid; print it masked only.
    public var recipient: String
    public var policyIDs: [String]
    public var payload: [UInt8]
    public var state: MessageState
    /// Attempts that reached a gateway.
    public var attempts: Int
    public var firstAttemptAt: Date?
    /// When it is next due; `nil` for an ambiguous message not scheduled for a resend.
    public var nextAttemptAt: Date?
    public var gateway: String?
    public var providerID: String?
    public var lastError: String?
    public var suppressionReason: String?
    public var parentKey: String?
    /// When its latest request was handed to a gateway.
    public var lastAttemptAt: Date?
    public var acceptedAt: Date?
    /// For a message returned by `claimDue`: the state it was claimed in (the store still shows
    /// it; it becomes `sending` only when its gateway admits it). An `ambiguous` one must go back
    /// to the gateway that had it.
    public var claimedFrom: MessageState?

    public init(
        id: Int64, idempotencyKey: String, campaignID: Int64, creditCode: String, channel: Channel?,
        recipient: String, policyIDs: [String], payload: [UInt8], state: MessageState, attempts: Int,
        firstAttemptAt: Date?, nextAttemptAt: Date?, gateway: String?, providerID: String?, lastError: String?,
        suppressionReason: String? = nil, parentKey: String? = nil, lastAttemptAt: Date? = nil,
        acceptedAt: Date? = nil
    ) {
        self.lastAttemptAt = lastAttemptAt
        self.acceptedAt = acceptedAt
        self.id = id
        self.idempotencyKey = idempotencyKey
        self.campaignID = campaignID
        self.creditCode = creditCode
        self.channel = channel
        self.recipient = recipient
        self.policyIDs = policyIDs
        self.payload = payload
        self.state = state
        self.attempts = attempts
        self.firstAttemptAt = firstAttemptAt
        self.nextAttemptAt = nextAttemptAt
        self.gateway = gateway
        self.providerID = providerID
        self.lastError = lastError
        self.suppressionReason = suppressionReason
        self.parentKey = parentKey
    }
}

/// A state change dispatch wants recorded.
public struct Transition: Sendable, Hashable {
    public var messageID: Int64
    public var to: MessageState
    public var at: Date
    public var gateway: String?
    /// The provider's message id, on `accepted`.
    public var providerID: String?
    /// The reason, on `retry_wait`, `failed` or `ambiguous`.
    public var error: String?
    /// When it is due again (on `queued`, `retry_wait` and `unsent`, or `ambiguous` for a
    /// resend through a deduplicating gateway).
    public var nextAttemptAt: Date?
    /// Whether the attempt reached the gateway and counts toward the attempt limit.
    public var countsAsAttempt: Bool
    /// When reconciliation should look at the message next (an `ambiguous` one, or an `accepted`
    /// one still without a receipt); `nil` clears it.
    public var checkAt: Date?
    /// A message created in the same transaction when this one applies (the SMS that replaces a
    /// WeChat message that failed for good), so neither exists without the other.
    public var followUp: NewMessage?
    /// On `sending`: the gateway's shared budget, which must have room for it (``SendBudget``).
    public var budget: SendBudget?

    public init(
        messageID: Int64, to: MessageState, at: Date, gateway: String? = nil, providerID: String? = nil,
        error: String? = nil, nextAttemptAt: Date? = nil, countsAsAttempt: Bool = true, checkAt: Date? = nil,
        followUp: NewMessage? = nil, budget: SendBudget? = nil
    ) {
        self.budget = budget
        self.checkAt = checkAt
        self.followUp = followUp
        self.messageID = messageID
        self.to = to
        self.at = at
        self.gateway = gateway
        self.providerID = providerID
        self.error = error
        self.nextAttemptAt = nextAttemptAt
        self.countsAsAttempt = countsAsAttempt
    }
}

/// A recorded state change of one message, for audits and exports.
public struct MessageEvent: Sendable, Hashable {
    public var at: Date
    public var from: MessageState?
    public var to: MessageState
    public var gateway: String?
    public var providerID: String?
    public var error: String?

    public init(
        at: Date, from: MessageState?, to: MessageState, gateway: String?, providerID: String?, error: String?
    ) {
        self.at = at
        self.from = from
        self.to = to
        self.gateway = gateway
        self.providerID = providerID
        self.error = error
    }
}

/// A provider's receipt as the store keeps it, raw and normalised.
public struct StoredReceipt: Sendable, Hashable {
    public var gateway: String
    /// Our idempotency key, when the provider echoes it.
    public var messageKey: String?
    public var providerID: String?
    /// `"delivered"` or `"failed"`.
    public var status: String
    public var reasonCode: String?
    public var occurredAt: Date?
    public var receivedAt: Date
    /// Unique per receipt: a receipt delivered twice is stored once.
    public var dedupeKey: String
    /// The receipt as the provider sent it.
    public var raw: [UInt8]

    public init(
        gateway: String, messageKey: String?, providerID: String?, status: String, reasonCode: String?,
        occurredAt: Date?, receivedAt: Date, dedupeKey: String, raw: [UInt8]
    ) {
        self.gateway = gateway
        self.messageKey = messageKey
        self.providerID = providerID
        self.status = status
        self.reasonCode = reasonCode
        self.occurredAt = occurredAt
        self.receivedAt = receivedAt
        self.dedupeKey = dedupeKey
        self.raw = raw
    }
}

/// What `recordReceipts` did with a batch.
public struct ReceiptOutcome: Sendable, Hashable {
    /// Receipts attached to a message (whether or not they changed its state).
    public var matched: Int
    /// Receipts kept for a message not known or not yet acknowledged.
    public var unmatched: Int
    /// Receipts already stored under the same dedupe key.
    public var duplicates: Int

    public init(matched: Int = 0, unmatched: Int = 0, duplicates: Int = 0) {
        self.matched = matched
        self.unmatched = unmatched
        self.duplicates = duplicates
    }
}

/// One contact with an enterprise, for frequency caps and de-duplication.
public struct ContactEntry: Sendable, Hashable {
    public var channel: Channel
    public var policyIDs: [String]
    public var at: Date

    public init(channel: Channel, policyIDs: [String], at: Date) {
        self.channel = channel
        self.policyIDs = policyIDs
        self.at = at
    }
}

/// Receipt latency percentiles, in seconds from accepted to delivered.
public struct LatencyPercentiles: Sendable, Hashable {
    public var p50: Double
    public var p90: Double
    public var p99: Double
    /// How many delivered messages the percentiles are computed over.
    public var count: Int

    public init(p50: Double, p90: Double, p99: Double, count: Int) {
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
        self.count = count
    }
}

/// What became of a campaign's messages.
public struct CampaignReport: Sendable, Hashable {
    public var campaignID: Int64
    public var total: Int
    public var byState: [MessageState: Int]
    /// Messages by policy and state; a message counts once for each policy it carries.
    public var byPolicy: [String: [MessageState: Int]]
    /// Messages by channel; `nil` counts those suppressed before a channel was chosen.
    public var byChannel: [Channel?: [MessageState: Int]]
    /// Messages by the gateway last used; unsent messages are absent.
    public var byGateway: [String: [MessageState: Int]]
    /// Failed messages by their last error.
    public var failureReasons: [String: Int]
    /// Suppressed messages by reason.
    public var suppressedByReason: [String: Int]
    /// `nil` when no message was delivered with a known accept time.
    public var receiptLatency: LatencyPercentiles?
    /// The same latencies in ``LatencyBucket/bounds`` buckets; empty when `receiptLatency` is `nil`.
    public var latencyHistogram: [LatencyBucket] = []
    /// Failed messages by the gateway last used (`none` before one was chosen), then by last error.
    public var failuresByGateway: [String: [String: Int]] = [:]

    public init(
        campaignID: Int64, total: Int, byState: [MessageState: Int], byPolicy: [String: [MessageState: Int]],
        byChannel: [Channel?: [MessageState: Int]], byGateway: [String: [MessageState: Int]],
        failureReasons: [String: Int], suppressedByReason: [String: Int], receiptLatency: LatencyPercentiles?
    ) {
        self.campaignID = campaignID
        self.total = total
        self.byState = byState
        self.byPolicy = byPolicy
        self.byChannel = byChannel
        self.byGateway = byGateway
        self.failureReasons = failureReasons
        self.suppressedByReason = suppressedByReason
        self.receiptLatency = receiptLatency
    }
}

/// How many messages are in one state on one channel and gateway.
public struct MessageCount: Sendable, Hashable {
    public var state: MessageState
    /// `nil` for a message suppressed before a channel was chosen.
    public var channel: Channel?
    /// `nil` before a gateway is chosen.
    public var gateway: String?
    public var count: Int

    public init(state: MessageState, channel: Channel?, gateway: String?, count: Int) {
        self.state = state
        self.channel = channel
        self.gateway = gateway
        self.count = count
    }
}

/// What a package link names: one enterprise's package in one campaign.
public struct LinkTarget: Sendable, Hashable {
    public var campaignID: Int64
    public var creditCode: String
    /// The policies its message carried.
    public var policyIDs: [String]
    /// The message whose link it is: its opens and the page's feedback are counted against it.
    public var messageID: Int64
    /// The campaign's date (`CampaignSpec.campaignDate`) and start (`CampaignSpec.startAt`), read
    /// with the message so that serving a page never counts the campaign's messages.
    public var campaignDate: String
    public var campaignStartAt: Date

    public init(
        campaignID: Int64, creditCode: String, policyIDs: [String], messageID: Int64, campaignDate: String,
        campaignStartAt: Date
    ) {
        self.campaignID = campaignID
        self.creditCode = creditCode
        self.policyIDs = policyIDs
        self.messageID = messageID
        self.campaignDate = campaignDate
        self.campaignStartAt = campaignStartAt
    }
}
