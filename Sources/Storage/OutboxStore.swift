import Foundation

/// The durable outbox as the engine, the daemon and the CLI see it, whatever database holds it.
///
/// Campaigns, their messages and every transition of each message, receipts (matched or not),
/// suppressions and the contact log. Every write is one transaction; a message row and its
/// idempotency key are committed before its gateway is called (`claimDue`).
///
/// - Important: A store is used from one thread or actor at a time; it is not `Sendable`.
public protocol OutboxStore: AnyObject {
    // MARK: Campaigns

    /// Stores a new campaign in state `pending` and returns its id.
    func createCampaign(_ spec: CampaignSpec) throws -> Int64

    /// Every campaign, oldest first, with message counts.
    func campaigns() throws -> [CampaignRecord]

    /// The campaign with this id, or `nil`.
    func campaign(id: Int64) throws -> CampaignRecord?

    /// Records an operator's request to pause (`.paused`), resume (`.running`) or cancel
    /// (`.cancelled`) a campaign, for the daemon to apply.
    ///
    /// Throws `StorageError.Code.notFound` for an unknown campaign and `.invalidTransition` for
    /// a request the campaign's state does not allow (resuming a completed campaign).
    func requestCampaign(id: Int64, _ state: CampaignState) throws

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

    /// Accepted messages to these enterprises since `since`, by credit code, oldest first.
    func contacts(creditCodes: [String], since: Date) throws -> [String: [ContactEntry]]

    /// Records an opt-out of `channel` by an enterprise; the first one recorded is kept.
    func addSuppression(creditCode: String, channel: String, source: String, at: Date) throws

    /// Suppressed channels by credit code; enterprises without any are absent.
    func suppressions(creditCodes: [String]) throws -> [String: [String]]

    // MARK: Dispatch

    /// Claims up to `limit` due messages of running campaigns, earliest due first, and marks
    /// them `sending` in the same transaction, before any gateway is called.
    ///
    /// Due means `queued` or `retry_wait`, or `ambiguous` with a resend scheduled, with both
    /// the next attempt time and the not-before time at or before `now`.
    func claimDue(now: Date, limit: Int) throws -> [OutboxMessage]

    /// Applies transitions in one transaction; returns the ones applied.
    ///
    /// A transition that would move a message backwards, out of a final state or to the state
    /// it is in is stale and skipped. Each applied one is recorded as an event; `accepted`
    /// also writes the contact log and matches receipts that arrived early.
    @discardableResult
    func record(_ transitions: [Transition]) throws -> [Transition]

    /// Marks every `sending` message `ambiguous` after a crash; returns how many.
    @discardableResult
    func recoverAfterCrash(now: Date) throws -> Int

    /// Schedules a resend, at `at`, of the ambiguous messages of `channel` that went (or may have
    /// gone) to `gateway` and have no resend scheduled: only for a gateway that deduplicates by
    /// our id, so the resend cannot deliver twice.
    @discardableResult
    func scheduleAmbiguousResend(channel: String, gateway: String?, at: Date) throws -> Int

    // MARK: Receipts

    /// Stores receipts, skipping duplicates, and applies those that match a message.
    ///
    /// A receipt is matched by our key or by (gateway, provider id). It moves an accepted or
    /// ambiguous message to `delivered` or `failed`; one for a message not yet acknowledged,
    /// or for no known message, is kept and matched when the acknowledgement is recorded.
    @discardableResult
    func recordReceipts(_ receipts: [StoredReceipt]) throws -> ReceiptOutcome

    /// Matches stored receipts that had no message yet; returns how many matched.
    @discardableResult
    func matchPendingReceipts() throws -> Int

    /// Marks `expired` every message accepted at or before `olderThan` without a receipt;
    /// returns how many.
    @discardableResult
    func expireAccepted(olderThan: Date, now: Date) throws -> Int

    // MARK: Reporting

    /// A campaign's messages by state.
    func campaignCounts(id: Int64) throws -> [MessageState: Int]

    /// What became of a campaign's messages.
    func report(campaignID: Int64) throws -> CampaignReport

    /// Calls `body` with every message of a campaign in id order and, when `withEvents`, its
    /// recorded transitions oldest first.
    func forEachMessage(
        campaignID: Int64, withEvents: Bool, _ body: (OutboxMessage, [MessageEvent]?) throws -> Void) throws

    /// A number that changes when another connection commits a write (`PRAGMA data_version`).
    func dataVersion() throws -> Int64

    /// Messages by state across all campaigns, for metrics.
    func queueDepth() throws -> [MessageState: Int]

    /// Messages of every campaign by state, channel and gateway (`""` before a gateway is chosen),
    /// for metrics.
    func messageCounts() throws -> [MessageCount]
}
