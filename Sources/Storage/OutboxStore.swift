import Foundation
import Registry

/// The durable outbox as the engine, the daemon and the CLI see it, whatever database holds it.
///
/// Campaigns, their messages and every transition of each message, receipts (matched or not),
/// suppressions and the contact log. Every write is one transaction; a message is committed as
/// `sending`, with its gateway, before that gateway is called.
///
/// - Important: A store is used from one thread or actor at a time; it is not `Sendable`.
public protocol OutboxStore: AnyObject {
    // MARK: Campaigns

    /// Stores a new campaign in state `pending`, or `awaiting_approval` when `awaitingApproval`,
    /// and returns its id.
    ///
    /// With `audit`, its operator is recorded as the campaign's creator and `campaign.start` is
    /// appended to the audit trail in the same transaction.
    func createCampaign(_ spec: CampaignSpec, awaitingApproval: Bool, audit: AuditContext?) throws -> Int64

    /// Every campaign, oldest first, with message counts.
    func campaigns() throws -> [CampaignRecord]

    /// Every campaign, oldest first, without message counts (``CampaignRecord/counts`` empty):
    /// counting reads every message of a campaign, too much for the daemon's polls of states.
    func campaignRows() throws -> [CampaignRecord]

    /// The campaign with this id, or `nil`.
    func campaign(id: Int64) throws -> CampaignRecord?

    /// Records an operator's request to pause (`.paused`), resume (`.running`) or cancel
    /// (`.cancelled`) a campaign, for the daemon to apply.
    ///
    /// Throws `StorageError.Code.notFound` for an unknown campaign and `.invalidTransition` for
    /// a request the campaign's state does not allow (resuming a completed campaign). Cancelling a
    /// campaign `awaiting_approval` takes effect at once (nothing was planned). With `audit`,
    /// `campaign.pause`, `.resume` or `.cancel` is appended to the audit trail in the same transaction.
    func requestCampaign(id: Int64, _ state: CampaignState, audit: AuditContext?) throws

    /// An operator's decision on a campaign `awaiting_approval`: approved, it becomes `pending`
    /// and the daemon plans it; rejected, it becomes `rejected` (final). `note` is the approver's
    /// note or the reason for rejecting. `campaign.approve` or `campaign.reject` is appended to the
    /// audit trail in the same transaction.
    ///
    /// Throws `.notPermitted` when `audit.operatorName` started the campaign (four eyes: someone
    /// else decides), `.invalidTransition` when it is not awaiting approval, `.notFound`.
    func decideCampaign(id: Int64, approve: Bool, note: String?, audit: AuditContext) throws

    /// Moves a campaign to `state` (the daemon's side); a matching request is cleared.
    ///
    /// Cancelling also cancels every message of the campaign not yet in a final state, in the
    /// same transaction. Returns how many messages were cancelled. Moving to the current
    /// state does nothing.
    @discardableResult
    func applyCampaignState(id: Int64, _ state: CampaignState, at: Date) throws -> Int

    // MARK: Planning

    /// Inserts messages, skipping any whose idempotency key is already stored, in one
    /// transaction; returns how many were inserted.
    @discardableResult
    func insertMessages(_ batch: [NewMessage]) throws -> Int

    /// A planner's batch: its messages (as ``insertMessages(_:)``) and its enterprises' group
    /// assignments (as `insertGroupAssignments`), written in one transaction so a crash leaves
    /// both or neither; returns how many messages were inserted.
    @discardableResult
    func insertPlanned(_ batch: [NewMessage], groups: [GroupAssignment]) throws -> Int

    /// The enterprise and campaign a package link token names, or `nil` for an unknown token.
    func linkTarget(token: String) throws -> LinkTarget?

    /// Accepted messages to these enterprises since `since`, by credit code, oldest first.
    func contacts(creditCodes: [String], since: Date) throws -> [String: [ContactEntry]]

    /// Records an opt-out of `channel` by an enterprise; the first one recorded is kept.
    func addSuppression(creditCode: String, channel: Channel, source: String, at: Date) throws

    /// Suppressed channels by credit code; enterprises without any are absent.
    func suppressions(creditCodes: [String]) throws -> [String: [Channel]]

    // MARK: Replies and opt-outs

    /// Stores replies (a re-push of a stored one is counted, not stored again), attaches each to
    /// the message to its sender that went out last, and applies opt-outs: an address suppression
    /// with the reply as evidence, and every message to that address not yet sent becomes
    /// `suppressed` with the suppression's reason. One transaction.
    func recordReplies(_ replies: [NewReply], at: Date) throws -> ReplyOutcome

    /// Replies attached to a campaign, or all replies when `campaignID` is nil, oldest first.
    func replies(campaignID: Int64?) throws -> [ReplyRecord]

    /// Counts an open of message `messageID`'s package page (one of campaign `campaignID`): the
    /// first open is kept with its time and `client`, a later one (a reload) only adds to the
    /// count and moves the last open. Returns whether it was the first. One short transaction.
    @discardableResult
    func recordOpen(messageID: Int64, campaignID: Int64, client: ClientClass, at: Date) throws -> Bool

    /// Stores feedback from message `messageID`'s page as a reply from its recipient, attached to
    /// its enterprise and campaign (`gateway` `page`); never an opt-out. The same feedback posted
    /// again is not stored twice. Returns whether it was stored; `.notFound` for an unknown message.
    @discardableResult
    func recordPageFeedback(messageID: Int64, _ feedback: PageFeedback, at: Date) throws -> Bool

    /// How many of a campaign's packages were opened at least once.
    func openedCount(campaignID: Int64) throws -> Int

    /// The credit codes of the enterprises that opened at least one of a campaign's packages: the
    /// "opened" stage of the report's funnel and of `campaign effect`, which count enterprises.
    func openedEnterprises(campaignID: Int64) throws -> Set<String>

    /// A campaign's opens against its deliveries, by policy, region, channel and client class.
    func openReport(campaignID: Int64) throws -> OpenReport

    /// Every suppression, newest first.
    func suppressionList() throws -> [SuppressionRecord]

    /// Adds a suppression unless the target is already suppressed on that channel; an address
    /// suppression also suppresses the messages waiting to go to it. `audit`, when given, is
    /// appended to the audit trail in the same transaction (only when something changed).
    func addSuppression(
        _ record: SuppressionRecord, audit: AuditEntry.New?
    ) throws -> (added: Bool, messagesSuppressed: Int)

    /// Removes a suppression; returns it, or nil when there was none. Messages it suppressed stay
    /// so. `audit` as for ``addSuppression(_:audit:)``.
    func removeSuppression(
        _ target: SuppressionTarget, channel: Channel, audit: AuditEntry.New?
    ) throws -> SuppressionRecord?

    /// Suppressed mobile numbers and openids by channel, for planning.
    func suppressedAddresses() throws -> [Channel: Set<String>]

    // MARK: Dispatch

    /// Claims up to `limit` due messages of running campaigns, earliest due first, into the
    /// caller's memory: each keeps its state and gets a lease of `lease` seconds, during which
    /// no claim returns it again. It becomes `sending` only through a transition recorded when
    /// its gateway admits it; `recoverAfterCrash` releases the leases of a dead daemon.
    ///
    /// Due means `queued`, `retry_wait` or `unsent`, or `ambiguous` with a resend scheduled, with
    /// both the next attempt time and the not-before time at or before `now`.
    /// Resends of ambiguous messages come first, then unsent messages, then the rest by due time.
    func claimDue(now: Date, limit: Int, lease: TimeInterval) throws -> [OutboxMessage]

    /// Applies transitions in one transaction; returns the ones applied.
    ///
    /// A transition that would move a message backwards or out of a final state is stale and
    /// skipped; one to the state it is in only reschedules it (queued, retry_wait, unsent,
    /// ambiguous). `sending` is applied only while the campaign is running. Each applied one is
    /// recorded as an event; `accepted` also writes the contact log and matches receipts that
    /// arrived early.
    @discardableResult
    func record(_ transitions: [Transition]) throws -> [Transition]

    /// After a crash: every `sending` message becomes `ambiguous` (pinned to the gateway that had
    /// admitted it, due for reconciliation now), and every claim lease is released (those
    /// messages were never sent and are due now).
    ///
    /// On a shared store only the messages no live node owns: those of `node` (the caller's own),
    /// of no node, of nodes no longer registered, and of nodes whose lease lapsed (recovered as
    /// ``NodeStore/recoverLapsedNodes(now:)`` does, in the same transaction). A live node's are its
    /// own to finish. On SQLite (one daemon, no nodes) that is every message.
    @discardableResult
    func recoverAfterCrash(now: Date, node: String?) throws -> CrashRecovery

    /// Schedules a resend, at `at`, of the ambiguous messages pinned to `gateway` that have no
    /// resend scheduled: only for a gateway that deduplicates by our id, so the resend (with the
    /// same id, to the same gateway) cannot deliver twice. Returns how many.
    @discardableResult
    func scheduleAmbiguousResend(gateway: String, at: Date) throws -> Int

    /// Pins ambiguous messages of `channel` that name no gateway (left by a version that claimed
    /// before routing) to `gateway`, the channel's only one. Returns how many.
    @discardableResult
    func pinGatewayless(channel: Channel, to gateway: String, at: Date) throws -> Int

    // MARK: Reconciliation

    /// Up to `limit` messages whose reconciliation time has come, earliest first: `ambiguous`
    /// ones, and `accepted` ones still without a receipt.
    func messagesToCheck(now: Date, limit: Int) throws -> [OutboxMessage]

    /// Sets (or, with `nil`, clears) when reconciliation looks at each message next; messages no
    /// longer `ambiguous` or `accepted` are left alone.
    func rescheduleChecks(_ checks: [(messageID: Int64, at: Date?)]) throws

    /// An operator's decision: every `unconfirmed` message of the campaign is queued again, with
    /// `note` in its history; a completed campaign runs again. Returns how many. With `audit`,
    /// `campaign.reconcile` is appended to the audit trail in the same transaction.
    @discardableResult
    func resendUnconfirmed(campaignID: Int64, note: String, at: Date, audit: AuditContext?) throws -> Int

    // MARK: Receipts

    /// Stores receipts, skipping duplicates, and applies those that match a message.
    ///
    /// A receipt is matched by our key or by the provider id, only among the messages sent
    /// through the gateway whose endpoint received it. It moves an accepted or
    /// ambiguous message to `delivered` or `failed`; one for a message not yet acknowledged,
    /// or for no known message, is kept and matched when the acknowledgement is recorded.
    @discardableResult
    func recordReceipts(_ receipts: [StoredReceipt]) throws -> ReceiptOutcome

    /// Deletes unmatched receipts received before `cutoff`, and the oldest beyond the newest
    /// `keep`; returns how many. (A receipt never matched within its time is noise, or planted.)
    @discardableResult
    func pruneReceipts(unmatchedBefore cutoff: Date, keep: Int) throws -> Int

    /// Deletes the recipient sends (``SendBudget``) counted before `cutoff`, which no window
    /// reaches any more; returns how many.
    @discardableResult
    func pruneRecipientSends(before cutoff: Date) throws -> Int

    /// Matches stored receipts that had no message yet (those received after `receivedAfter`, when
    /// given); returns how many matched.
    @discardableResult
    func matchPendingReceipts(receivedAfter: Date?) throws -> Int

    /// Marks `expired` every message accepted at or before `olderThan` without a receipt;
    /// returns how many.
    @discardableResult
    func expireAccepted(olderThan: Date, now: Date) throws -> Int

    // MARK: Reporting

    /// A campaign's messages by state.
    func campaignCounts(id: Int64) throws -> [MessageState: Int]

    /// What became of a campaign's messages.
    func report(campaignID: Int64) throws -> CampaignReport

    /// Every enterprise of a campaign's audience and where the campaign left it, in one pass over
    /// its messages (payloads unread).
    func coverage(campaignID: Int64) throws -> Coverage

    /// A campaign's coverage by region and by policy (see ``CoverageBreakdown``), in one pass.
    func coverageBreakdown(campaignID: Int64) throws -> CoverageBreakdown

    /// A campaign's sends, deliveries and failures per time bucket, buckets aligned on the
    /// local clock `utcOffsetSeconds` east of UTC; `nil` before anything was sent.
    func activity(campaignID: Int64, utcOffsetSeconds: Int) throws -> ActivityTimeline?

    /// Calls `body` with every message of a campaign in id order and, when `withEvents`, its
    /// recorded transitions oldest first.
    func forEachMessage(
        campaignID: Int64, withEvents: Bool, _ body: (OutboxMessage, [MessageEvent]?) throws -> Void) throws

    /// A number that changes when another connection commits a write (`PRAGMA data_version`).
    func dataVersion() throws -> Int64

    /// Takes the right to plan a campaign, for this connection's life or until
    /// ``unlockPlanning(campaignID:)``; `false` when another daemon's connection holds it.
    ///
    /// One planner per campaign: on PostgreSQL a session-level advisory lock, released by the server
    /// when the holder's connection ends (a node dying mid-planning leaves the campaign to another);
    /// on SQLite always granted, since one daemon owns the store (`StoreLock`).
    func tryLockPlanning(campaignID: Int64) throws -> Bool

    /// Gives up the right ``tryLockPlanning(campaignID:)`` took; nothing when not held.
    func unlockPlanning(campaignID: Int64) throws

    /// Messages by state across all campaigns, for metrics.
    func queueDepth() throws -> [MessageState: Int]

    /// Messages of every campaign by state, channel and gateway (`nil` before a gateway is chosen),
    /// for metrics.
    func messageCounts() throws -> [MessageCount]
}

/// What `recoverAfterCrash` did.
public struct CrashRecovery: Sendable, Hashable {
    /// Messages that were `sending` (admitted by a gateway, maybe sent) and are now `ambiguous`.
    public var sending: Int
    /// Claimed messages that no gateway had admitted yet, due again.
    public var released: Int

    public init(sending: Int, released: Int) {
        self.sending = sending
        self.released = released
    }
}

extension OutboxStore {
    /// Recovers as a daemon without a node does; see ``recoverAfterCrash(now:node:)``.
    @discardableResult
    public func recoverAfterCrash(now: Date) throws -> CrashRecovery {
        try recoverAfterCrash(now: now, node: nil)
    }

    /// Stores a new campaign in state `pending`, unaudited (programs and tests; the CLI audits).
    public func createCampaign(_ spec: CampaignSpec) throws -> Int64 {
        try createCampaign(spec, awaitingApproval: false, audit: nil)
    }

    /// Records a request without an audit entry; see ``requestCampaign(id:_:audit:)``.
    public func requestCampaign(id: Int64, _ state: CampaignState) throws {
        try requestCampaign(id: id, state, audit: nil)
    }

    /// Resends without an audit entry; see ``resendUnconfirmed(campaignID:note:at:audit:)``.
    @discardableResult
    public func resendUnconfirmed(campaignID: Int64, note: String, at: Date) throws -> Int {
        try resendUnconfirmed(campaignID: campaignID, note: note, at: at, audit: nil)
    }

    /// Claims with the default lease (10 minutes; see ``OutboxStore/claimDue(now:limit:lease:)``).
    public func claimDue(now: Date, limit: Int) throws -> [OutboxMessage] {
        try claimDue(now: now, limit: limit, lease: OutboxLease.default)
    }
}

/// How long a claimed message is hidden from other claims while the dispatcher holds it.
public enum OutboxLease {
    /// Ten minutes: far longer than any wait for a token or an in-flight slot; the dispatcher
    /// never processes a message it already holds, should one outlive its lease.
    public static let `default`: TimeInterval = 600
}

extension OutboxStore {
    /// Adds a suppression without an audit entry (the daemon's opt-outs carry their reply instead).
    public func addSuppression(_ record: SuppressionRecord) throws -> (added: Bool, messagesSuppressed: Int) {
        try addSuppression(record, audit: nil)
    }

    /// Removes a suppression without an audit entry.
    public func removeSuppression(_ target: SuppressionTarget, channel: Channel) throws -> SuppressionRecord? {
        try removeSuppression(target, channel: channel, audit: nil)
    }
}
