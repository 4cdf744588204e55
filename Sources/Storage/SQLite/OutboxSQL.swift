import Foundation
import Registry

/// The outbox's SQL over one connection, with its statements prepared once and cached.
///
/// `SQLiteStore`, `PostgresStore` and `GroupCommitWriter` run their outbox work through one of
/// these. It is generic over the connection (``SQLDatabase``): the SQL is SQLite's dialect, which a
/// PostgreSQL connection translates (``PGDialect``), and each store holds a concrete
/// `OutboxSQL<SQLiteConnection>` or `OutboxSQL<PGConnection>`, so the compiler specializes it. The
/// files stay in `SQLite/`, where the SQL was born, to keep other branches' merges simple.
/// This file holds what the aspects share (message rows, events, transitions); each aspect
/// has its own file: `OutboxSQL+Campaigns`, `+Planning`, `+Dispatch`, `+Reconciliation`,
/// `+Receipts` and `+Reporting`.
///
/// - Important: Belongs to its connection's thread, like the connection.
final class OutboxSQL<Database: SQLDatabase> {
    typealias Statement = Database.Cursor

    let connection: Database
    /// The node this connection claims and sends for (``NodeRegistration/id``): stamped on the
    /// messages it claims, and the `sending` fence (`applyTransitions`) asks that it still holds
    /// its lease. `nil` (SQLite, the CLI, tests) claims unstamped and sends unfenced.
    var node: String?
    private var cache: [String: Statement] = [:]

    init(connection: Database) {
        self.connection = connection
    }

    /// The cached statement for `sql`, prepared on first use.
    func statement(_ sql: String) throws -> Statement {
        if let cached = cache[sql] { return cached }
        let prepared = try connection.cursor(sql)
        cache[sql] = prepared
        return prepared
    }

    /// The statements run for every message the daemon sends, held in slots: looking one up by
    /// its SQL text hashed a few hundred bytes at every call, several times per message.
    enum Hot: Int, CaseIterable {
        case current, transition, event, contact, campaignState, unmatchedReceipts, unmatchedKeyedReceipts
        case runningCampaigns, claim, claimMark, nodeLease
    }

    private var hot = [Statement?](repeating: nil, count: Hot.allCases.count)

    /// The statement of slot `slot`, prepared from `sql` on first use (`sql` is the same at every call).
    func statement(_ slot: Hot, _ sql: @autoclosure () -> String) throws -> Statement {
        if let held = hot[slot.rawValue] { return held }
        let prepared = try connection.cursor(sql())
        hot[slot.rawValue] = prepared
        return prepared
    }

    /// Runs `body` in one read transaction, so every query sees the same snapshot.
    func readTransaction<T>(_ body: () throws -> T) throws -> T {
        try connection.readTransaction(body)
    }

    // MARK: Shared by the aspects

    static var messageColumns: String {
        """
        id, idempotency_key, campaign_id, credit_code, channel, recipient, policy_ids, payload, state, attempts,
        first_attempt_at, next_attempt_at, gateway, provider_id, last_error, suppression_reason, parent_key,
        last_attempt_at, accepted_at
        """
    }

    func readMessage(_ row: Statement) throws -> OutboxMessage {
        OutboxMessage(
            id: try row.int64(0), idempotencyKey: row.text(1) ?? "", campaignID: try row.int64(2),
            creditCode: row.text(3) ?? "", channel: try optionalChannel(row.text(4)), recipient: row.text(5) ?? "",
            policyIDs: IDList.decode(row.text(6)), payload: try row.blob(7), state: try messageState(row.text(8)),
            attempts: Int(try row.int64(9)), firstAttemptAt: try row.optionalInt64(10).map(Date.init(millis:)),
            nextAttemptAt: try row.optionalInt64(11).map(Date.init(millis:)), gateway: row.text(12),
            providerID: row.text(13), lastError: row.text(14), suppressionReason: row.text(15),
            parentKey: row.text(16), lastAttemptAt: try row.optionalInt64(17).map(Date.init(millis:)),
            acceptedAt: try row.optionalInt64(18).map(Date.init(millis:)))
    }

    func insertEvent(
        messageID: Int64, at: Int64, from: MessageState?, to: MessageState, gateway: String?, providerID: String?,
        error: String?
    ) throws {
        let insert = try statement(
            .event,
            """
            INSERT INTO message_events (message_id, at, from_state, to_state, gateway, provider_id, error)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
            """)
        try insert.run(messageID, at, from?.rawValue, to.rawValue, gateway, providerID, error)
    }

    /// What `record` needs to know of a message before changing it.
    struct Current {
        var state: MessageState
        var campaignID: Int64
        var key: String
        var creditCode: String
        /// As stored: it is only copied to the contact log.
        var channel: String
        var policyIDs: String
        var gateway: String?
        var providerID: String?
        /// The node that claimed or admitted it last.
        var node: String?
    }

    /// The message's row as a transition needs it. On PostgreSQL the row stays locked until the
    /// transaction ends (`FOR UPDATE`), so a transition decided on it cannot race another node's on
    /// the same message at `READ COMMITTED`; SQLite's one writer needs no lock.
    func current(messageID: Int64) throws -> Current? {
        let select = try statement(
            .current,
            """
            SELECT state, idempotency_key, credit_code, channel, policy_ids, gateway, provider_id, campaign_id, node
            FROM messages WHERE id = ?1\(connection.dialect == .postgres ? " FOR UPDATE" : "")
            """)
        defer { select.reset() }
        try select.bind(messageID)
        guard try select.step() else { return nil }
        return Current(
            state: try messageState(select.text(0)), campaignID: try select.int64(7), key: select.text(1) ?? "",
            creditCode: select.text(2) ?? "",
            channel: select.text(3) ?? "", policyIDs: select.text(4) ?? "", gateway: select.text(5),
            providerID: select.text(6), node: select.text(8))
    }

    /// Applies a batch of transitions; the caller owns the transaction.
    ///
    /// Any transition releases the message's claim lease and sets its reconciliation time.
    /// `sending` is applied only while the message's campaign is running (a pause or a cancel
    /// that landed while the message waited for its gateway wins), and stamps the attempt time.
    /// With a ``node``, `sending` is also fenced: it applies only to a message that node claimed,
    /// while the node holds its lease (see ``nodeHoldsLease(at:)``), and stamps the node; so a node
    /// declared dead, whose messages another node has recovered, never sends again.
    /// A transition to the state the message is in only reschedules it (``MessageState/canReschedule``).
    /// A `sending` transition with a ``Transition/budget`` is applied only when the budget has room,
    /// and counts in it; one that leaves `sending` for `retry_wait` or `failed` (the gateway's
    /// answer: the provider did not count it) takes back its recipient windows, as the dispatcher's
    /// own windows do; the day's count stays, as the dispatcher's does. Budget refusals are dropped.
    ///
    /// `leaseHeld` is the fence's answer when the caller asked it already, before changing anything.
    func applyTransitions(_ transitions: [Transition], leaseHeld: Bool? = nil) throws -> [Transition] {
        var refused: [Int64: BudgetRefusal] = [:]
        return try applyTransitions(transitions, leaseHeld: leaseHeld, refused: &refused)
    }

    /// Applies a batch of transitions as ``applyTransitions(_:leaseHeld:)`` does, adding to `refused`
    /// the admissions a budget refused.
    func applyTransitions(
        _ transitions: [Transition], leaseHeld: Bool? = nil, refused: inout [Int64: BudgetRefusal]
    ) throws -> [Transition] {
        let update = try statement(
            .transition,
            """
            UPDATE messages SET state = ?2, updated_at = ?3, attempts = attempts + ?4,
                gateway = coalesce(?5, gateway), provider_id = coalesce(?6, provider_id),
                last_error = coalesce(?7, last_error), next_attempt_at = ?8,
                accepted_at = CASE WHEN ?2 = 'accepted' THEN ?3 ELSE accepted_at END,
                first_attempt_at = CASE WHEN ?2 = 'sending' THEN coalesce(first_attempt_at, ?3) ELSE first_attempt_at END,
                last_attempt_at = CASE WHEN ?2 = 'sending' THEN ?3 ELSE last_attempt_at END,
                finished_at = CASE WHEN ?9 <> 0 THEN ?3 ELSE finished_at END,
                lease_until = NULL, check_at = CASE WHEN ?2 IN ('ambiguous', 'accepted') THEN CAST(?10 AS BIGINT) END,
                node = coalesce(?11, node)
            WHERE id = ?1
            """)
        var pendingReceipts: Bool?
        var states: [Int64: CampaignState?] = [:]
        // Read once per batch: the batch commits within milliseconds of its first admission.
        var leaseHeld = leaseHeld
        var applied: [Transition] = []
        applied.reserveCapacity(transitions.count)
        // Only the state: the whole row (policy lists, versions) cost 5 % of the daemon's CPU
        // when read for every admitted message.
        let stateOf = try statement(.campaignState, "SELECT state FROM campaigns WHERE id = ?1")
        func campaignState(_ id: Int64) throws -> CampaignState? {
            if let known = states[id] { return known }
            defer { stateOf.reset() }
            try stateOf.bind(id)
            let state = try stateOf.step() ? try self.campaignState(stateOf.text(0)) : nil
            states[id] = state
            return state
        }
        for var transition in transitions {
            guard let current = try current(messageID: transition.messageID) else { continue }
            let reschedule = current.state == transition.to && current.state.canReschedule
            guard current.state.canMove(to: transition.to) || reschedule else { continue }
            if transition.to == .sending {
                guard try campaignState(current.campaignID) == .running else { continue }
                if let node {
                    guard current.node == node else { continue }
                    if leaseHeld == nil { leaseHeld = try nodeHoldsLease(at: transition.at) }
                    guard leaseHeld == true else { continue }
                }
                if let budget = transition.budget,
                    let refusal = try spend(budget, messageID: transition.messageID, at: transition.at)
                {
                    refused[transition.messageID] = refusal
                    continue
                }
            } else if current.state == .sending, transition.to == .retryWait || transition.to == .failed {
                try forgetRecipientSends(messageID: transition.messageID)
            }
            // Found never sent after its campaign was cancelled: it will not be sent now.
            if transition.to == .unsent, try campaignState(current.campaignID) == .cancelled {
                transition.to = .cancelled
                transition.nextAttemptAt = nil
            }
            let at = transition.at.millis
            let next: Int64? =
                switch transition.to {
                case .queued, .retryWait, .unsent: (transition.nextAttemptAt ?? transition.at).millis
                case .ambiguous: transition.nextAttemptAt?.millis
                // The receipt window opens: `expireAccepted` finds it through `messages_due`.
                case .accepted: at
                default: nil
                }
            try update.run(
                transition.messageID, transition.to.rawValue, at, transition.countsAsAttempt ? 1 : 0,
                transition.gateway, transition.providerID, transition.error, next, transition.to.isFinal,
                transition.checkAt?.millis, transition.to == .sending ? node : nil)
            try insertEvent(
                messageID: transition.messageID, at: at, from: current.state, to: transition.to,
                gateway: transition.gateway ?? current.gateway, providerID: transition.providerID,
                error: transition.error)
            if var followUp = transition.followUp {
                // A fallback SMS to a number that has opted out since the campaign was planned.
                if let channel = followUp.channel,
                    let reason = try isSuppressed(address: followUp.recipient, on: channel)
                {
                    followUp.state = .suppressed
                    followUp.suppressionReason = reason
                }
                _ = try insertMessages([followUp], at: transition.at, inTransaction: true)
            }
            if transition.to == .accepted {
                try logContact(
                    messageID: transition.messageID, creditCode: current.creditCode, channel: current.channel,
                    policyIDs: current.policyIDs, at: at)
                if pendingReceipts == nil { pendingReceipts = try hasUnmatchedReceipts() }
                if pendingReceipts == true {
                    try matchReceipts(
                        messageID: transition.messageID, key: current.key,
                        gateway: transition.gateway ?? current.gateway,
                        providerID: transition.providerID ?? current.providerID)
                }
            }
            applied.append(transition)
        }
        return applied
    }

    func logContact(
        messageID: Int64, creditCode: String, channel: String, policyIDs: String, at: Int64
    )
        throws
    {
        let insert = try statement(
            .contact,
            """
            INSERT INTO contact_log (message_id, credit_code, channel, policy_ids, at) VALUES (?1, ?2, ?3, ?4, ?5)
            ON CONFLICT DO NOTHING
            """)
        try insert.run(messageID, creditCode, channel, policyIDs, at)
    }

    /// Writes a row, to learn whether the store takes writes; the caller owns the transaction.
    func probeWrite(at: Date) throws {
        let upsert = try statement(
            "INSERT INTO meta (key, value) VALUES ('write_probe', ?1) ON CONFLICT (key) DO UPDATE SET value = ?1")
        try upsert.run(String(at.millis))
    }

    // MARK: Decoding

    /// What `messages.channel` (NOT NULL) holds for a message without a channel: one suppressed
    /// before a channel was chosen.
    static var noChannel: String { "none" }

    func messageState(_ text: String?) throws -> MessageState {
        guard let text, let state = MessageState(rawValue: text) else {
            throw StorageError(code: .corrupt, message: "unknown message state \(text ?? "NULL")")
        }
        return state
    }

    func channel(_ text: String?) throws -> Channel {
        guard let text, let channel = Channel(rawValue: text) else {
            throw StorageError(code: .corrupt, message: "unknown channel \(text ?? "NULL")")
        }
        return channel
    }

    /// The channel of a message, `nil` for ``noChannel``.
    func optionalChannel(_ text: String?) throws -> Channel? {
        text == Self.noChannel ? nil : try channel(text)
    }

    func campaignState(_ text: String?) throws -> CampaignState {
        guard let text, let state = CampaignState(rawValue: text) else {
            throw StorageError(code: .corrupt, message: "unknown campaign state \(text ?? "NULL")")
        }
        return state
    }
}

/// Lists of ids stored as comma-separated text, readable in an audit with the sqlite3 shell.
enum IDList {
    /// `ids` joined by commas, in one pass over their UTF-8 bytes.
    ///
    /// Planning encodes two lists per planned enterprise on the store's thread, the one that
    /// bounds planning: `joined(separator:)` with a check of each id through `contains` was 14 %
    /// of that thread (Foundation's `String.contains(_:)`, before it, 8 % of all of planning).
    static func encode(_ ids: [String]) throws -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 24)
        for (index, id) in ids.enumerated() {
            if index > 0 { bytes.append(Self.comma) }
            let start = bytes.count
            bytes.append(contentsOf: id.utf8)
            if start == bytes.count || bytes[start...].contains(Self.comma) {
                throw StorageError(code: .invalidValue, message: "an id in a list is empty or contains a comma: \(id)")
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static let comma = UInt8(ascii: ",")

    static func decode(_ text: String?) -> [String] {
        guard let text, !text.isEmpty else { return [] }
        return text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    }
}

extension Date {
    /// Milliseconds since 1970, as the store keeps times.
    ///
    /// Clamped to `Int64`'s range (NaN gives 0): a date from a hostile push must not trap the store.
    var millis: Int64 {
        let value = (timeIntervalSince1970 * 1000).rounded()
        if value.isNaN { return 0 }
        // 2^63 is exactly representable; every Double below it and at or above -2^63 converts.
        if value >= 9_223_372_036_854_775_808.0 { return .max }
        if value < -9_223_372_036_854_775_808.0 { return .min }
        return Int64(value)
    }

    init(millis: Int64) {
        self.init(timeIntervalSince1970: Double(millis) / 1000)
    }
}
