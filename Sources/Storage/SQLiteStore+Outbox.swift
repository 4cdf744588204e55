import Foundation
import Registry

extension SQLiteStore: OutboxStore {
    /// Stores a new campaign, stamped with the current time.
    public func createCampaign(_ spec: CampaignSpec, awaitingApproval: Bool, audit: AuditContext?) throws -> Int64 {
        try outbox.createCampaign(spec, at: Date(), awaitingApproval: awaitingApproval, audit: audit)
    }

    public func campaigns() throws -> [CampaignRecord] {
        try outbox.campaigns()
    }

    public func campaignRows() throws -> [CampaignRecord] {
        try outbox.readTransaction { try outbox.campaignRows() }
    }

    public func campaign(id: Int64) throws -> CampaignRecord? {
        try outbox.campaign(id: id)
    }

    public func requestCampaign(id: Int64, _ state: CampaignState, audit: AuditContext?) throws {
        try outbox.requestCampaign(id: id, state, at: Date(), audit: audit)
    }

    public func decideCampaign(id: Int64, approve: Bool, note: String?, audit: AuditContext) throws {
        try outbox.decideCampaign(id: id, approve: approve, note: note, at: Date(), audit: audit)
    }

    @discardableResult
    public func applyCampaignState(id: Int64, _ state: CampaignState, at: Date) throws -> Int {
        try outbox.applyCampaignState(id: id, state, at: at)
    }

    /// Inserts messages stamped with the current time; see `OutboxStore.insertMessages`.
    @discardableResult
    public func insertMessages(_ batch: [NewMessage]) throws -> Int {
        try outbox.insertMessages(batch, at: Date())
    }

    /// See `OutboxStore.insertPlanned`.
    @discardableResult
    public func insertPlanned(_ batch: [NewMessage], groups: [GroupAssignment]) throws -> Int {
        try outbox.insertPlanned(batch, groups: groups, at: Date())
    }

    public func linkTarget(token: String) throws -> LinkTarget? {
        try outbox.linkTarget(token: token)
    }

    public func contacts(creditCodes: [String], since: Date) throws -> [String: [ContactEntry]] {
        try outbox.contacts(creditCodes: creditCodes, since: since)
    }

    public func addSuppression(creditCode: String, channel: Channel, source: String, at: Date) throws {
        try outbox.addSuppression(creditCode: creditCode, channel: channel, source: source, at: at)
    }

    public func suppressions(creditCodes: [String]) throws -> [String: [Channel]] {
        try outbox.suppressions(creditCodes: creditCodes)
    }

    public func recordReplies(_ replies: [NewReply], at: Date) throws -> ReplyOutcome {
        try outbox.recordReplies(replies, at: at)
    }

    public func replies(campaignID: Int64?) throws -> [ReplyRecord] {
        try outbox.replies(campaignID: campaignID)
    }

    public func suppressionList() throws -> [SuppressionRecord] {
        try outbox.readTransaction { try outbox.suppressionList() }
    }

    public func addSuppression(
        _ record: SuppressionRecord, audit: AuditEntry.New?
    ) throws -> (added: Bool, messagesSuppressed: Int) {
        try outbox.addSuppression(record, audit: audit)
    }

    public func removeSuppression(
        _ target: SuppressionTarget, channel: Channel, audit: AuditEntry.New?
    ) throws -> SuppressionRecord? {
        try outbox.removeSuppression(target, channel: channel, audit: audit, at: Date())
    }

    public func suppressedAddresses() throws -> [Channel: Set<String>] {
        try outbox.suppressedAddresses()
    }

    public func claimDue(now: Date, limit: Int, lease: TimeInterval) throws -> [OutboxMessage] {
        try outbox.claimDue(now: now, limit: limit, lease: lease)
    }

    @discardableResult
    public func record(_ transitions: [Transition]) throws -> [Transition] {
        guard !transitions.isEmpty else { return [] }
        return try connection.immediateTransaction { try outbox.applyTransitions(transitions) }
    }

    @discardableResult
    public func recoverAfterCrash(now: Date, node: String?) throws -> CrashRecovery {
        try outbox.recoverAfterCrash(now: now, node: node)
    }

    @discardableResult
    public func scheduleAmbiguousResend(gateway: String, at: Date) throws -> Int {
        try outbox.scheduleAmbiguousResend(gateway: gateway, at: at)
    }

    @discardableResult
    public func pinGatewayless(channel: Channel, to gateway: String, at: Date) throws -> Int {
        try outbox.pinGatewayless(channel: channel, to: gateway, at: at)
    }

    public func messagesToCheck(now: Date, limit: Int) throws -> [OutboxMessage] {
        try outbox.messagesToCheck(now: now, limit: limit)
    }

    public func rescheduleChecks(_ checks: [(messageID: Int64, at: Date?)]) throws {
        try outbox.rescheduleChecks(checks)
    }

    @discardableResult
    public func resendUnconfirmed(campaignID: Int64, note: String, at: Date, audit: AuditContext?) throws -> Int {
        try outbox.resendUnconfirmed(campaignID: campaignID, note: note, at: at, audit: audit)
    }

    @discardableResult
    public func recordReceipts(_ receipts: [StoredReceipt]) throws -> ReceiptOutcome {
        try outbox.recordReceipts(receipts)
    }

    @discardableResult
    public func pruneReceipts(unmatchedBefore cutoff: Date, keep: Int) throws -> Int {
        try outbox.pruneReceipts(unmatchedBefore: cutoff, keep: keep)
    }

    @discardableResult
    public func pruneRecipientSends(before cutoff: Date) throws -> Int {
        try outbox.pruneRecipientSends(before: cutoff)
    }

    @discardableResult
    public func matchPendingReceipts(receivedAfter: Date?) throws -> Int {
        try outbox.matchPendingReceipts(receivedAfter: receivedAfter)
    }

    @discardableResult
    public func expireAccepted(olderThan: Date, now: Date) throws -> Int {
        try outbox.expireAccepted(olderThan: olderThan, now: now)
    }

    public func campaignCounts(id: Int64) throws -> [MessageState: Int] {
        try outbox.readTransaction { try outbox.campaignCounts(id: id) }
    }

    public func report(campaignID: Int64) throws -> CampaignReport {
        try outbox.report(campaignID: campaignID)
    }

    public func coverage(campaignID: Int64) throws -> Coverage {
        try outbox.coverage(campaignID: campaignID)
    }

    public func coverageBreakdown(campaignID: Int64) throws -> CoverageBreakdown {
        try outbox.coverageBreakdown(campaignID: campaignID)
    }

    public func activity(campaignID: Int64, utcOffsetSeconds: Int) throws -> ActivityTimeline? {
        try outbox.activity(campaignID: campaignID, utcOffsetSeconds: utcOffsetSeconds)
    }

    public func forEachMessage(
        campaignID: Int64, withEvents: Bool, _ body: (OutboxMessage, [MessageEvent]?) throws -> Void
    ) throws {
        try outbox.forEachMessage(campaignID: campaignID, withEvents: withEvents, body)
    }

    public func dataVersion() throws -> Int64 {
        try outbox.dataVersion()
    }

    /// Always granted: one daemon plans on a SQLite store (its `StoreLock`).
    public func tryLockPlanning(campaignID: Int64) throws -> Bool { true }

    public func unlockPlanning(campaignID: Int64) throws {}

    public func messageCounts() throws -> [MessageCount] {
        try outbox.messageCounts()
    }

    public func queueDepth() throws -> [MessageState: Int] {
        try outbox.queueDepth()
    }
}

extension OutboxStore {
    /// Calls `body` with every message of a campaign in id order and its recorded transitions.
    public func forEachMessage(campaignID: Int64, _ body: (OutboxMessage, [MessageEvent]?) throws -> Void) throws {
        try forEachMessage(campaignID: campaignID, withEvents: true, body)
    }
}

extension SQLiteStore {
    public func recordOpen(messageID: Int64, campaignID: Int64, client: ClientClass, at: Date) throws -> Bool {
        try outbox.recordOpen(messageID: messageID, campaignID: campaignID, client: client, at: at)
    }

    public func recordPageFeedback(messageID: Int64, _ feedback: PageFeedback, at: Date) throws -> Bool {
        try outbox.recordPageFeedback(messageID: messageID, feedback, at: at)
    }

    public func openedCount(campaignID: Int64) throws -> Int {
        try outbox.openedCount(campaignID: campaignID)
    }

    public func openedEnterprises(campaignID: Int64) throws -> Set<String> {
        try outbox.openedEnterprises(campaignID: campaignID)
    }

    public func openReport(campaignID: Int64) throws -> OpenReport {
        try outbox.openReport(campaignID: campaignID)
    }
}
