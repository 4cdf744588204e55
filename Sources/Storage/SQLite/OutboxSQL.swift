import Foundation

/// The outbox's SQL over one connection, with its statements prepared once and cached.
///
/// Both `SQLiteStore` and `GroupCommitWriter` run their outbox work through one of these.
///
/// - Important: Belongs to its connection's thread, like the connection.
final class OutboxSQL {
    let connection: SQLiteConnection
    private var cache: [String: Statement] = [:]

    init(connection: SQLiteConnection) {
        self.connection = connection
    }

    /// The cached statement for `sql`, prepared on first use.
    func statement(_ sql: String) throws -> Statement {
        if let cached = cache[sql] { return cached }
        let prepared = try connection.prepare(sql, persistent: true)
        cache[sql] = prepared
        return prepared
    }

    /// Runs `body` in one read transaction, so every query sees the same snapshot.
    func readTransaction<T>(_ body: () throws -> T) throws -> T {
        try connection.execute("BEGIN")
        do {
            let result = try body()
            try connection.execute("COMMIT")
            return result
        } catch {
            _ = try? connection.execute("ROLLBACK")
            throw error
        }
    }

    // MARK: Campaigns

    static let campaignColumns = """
        id, name, policy_ids, channels, fallback, start_at, max_messages, campaign_date, policy_versions,
        template_version, state, requested_state, created_at, planned_at, finished_at, key_secret
        """

    func createCampaign(_ spec: CampaignSpec, at: Date) throws -> Int64 {
        try connection.immediateTransaction {
            let insert = try statement(
                """
                INSERT INTO campaigns (name, policy_ids, channels, fallback, start_at, max_messages, campaign_date,
                    policy_versions, template_version, state, created_at, updated_at, key_secret)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', ?10, ?10, ?11)
                """)
            var random = SystemRandomNumberGenerator()
            try insert.run(
                spec.name, try IDList.encode(spec.policyIDs), try IDList.encode(spec.channels), spec.fallback,
                spec.startAt.millis, spec.maxMessages, spec.campaignDate,
                CustomAttributes.encode(spec.policyVersions) ?? "{}", spec.templateVersion, at.millis,
                (0..<16).map { _ in UInt8.random(in: 0...255, using: &random) })
            return connection.lastInsertRowID
        }
    }

    func campaigns() throws -> [CampaignRecord] {
        try readTransaction {
            let select = try statement("SELECT \(Self.campaignColumns) FROM campaigns ORDER BY id")
            defer { select.reset() }
            var records: [CampaignRecord] = []
            while try select.step() { records.append(try readCampaign(select)) }
            for index in records.indices {
                records[index].counts = try campaignCounts(id: records[index].id)
            }
            return records
        }
    }

    func campaign(id: Int64) throws -> CampaignRecord? {
        try readTransaction {
            guard var record = try campaignRow(id: id) else { return nil }
            record.counts = try campaignCounts(id: id)
            return record
        }
    }

    private func campaignRow(id: Int64) throws -> CampaignRecord? {
        let select = try statement("SELECT \(Self.campaignColumns) FROM campaigns WHERE id = ?1")
        defer { select.reset() }
        try select.bind(id)
        guard try select.step() else { return nil }
        return try readCampaign(select)
    }

    private func readCampaign(_ row: Statement) throws -> CampaignRecord {
        let spec = CampaignSpec(
            name: row.text(1) ?? "", policyIDs: IDList.decode(row.text(2)), channels: IDList.decode(row.text(3)),
            fallback: row.int64(4) != 0, startAt: Date(millis: row.int64(5)),
            maxMessages: row.optionalInt64(6).map { Int($0) }, campaignDate: row.text(7) ?? "",
            policyVersions: CustomAttributes.decode(row.text(8) ?? "{}") ?? [:], templateVersion: row.text(9) ?? "")
        return CampaignRecord(
            id: row.int64(0), spec: spec, state: try campaignState(row.text(10)),
            requestedState: try row.text(11).map { try campaignState($0) }, createdAt: Date(millis: row.int64(12)),
            plannedAt: row.optionalInt64(13).map(Date.init(millis:)),
            finishedAt: row.optionalInt64(14).map(Date.init(millis:)), counts: [:],
            keySecret: row.isNull(15) ? nil : row.blob(15))
    }

    func requestCampaign(id: Int64, _ requested: CampaignState, at: Date) throws {
        try connection.immediateTransaction {
            guard let record = try campaignRow(id: id) else {
                throw StorageError(code: .notFound, message: "no campaign \(id)")
            }
            let current = record.state
            let newRequest: CampaignState?
            switch requested {
            case _ where requested == current:
                newRequest = nil
            case .paused where [.pending, .planning, .running].contains(current):
                newRequest = .paused
            case .running where current == .paused:
                newRequest = .running
            case .running where record.requestedState == .paused && !current.isFinal:
                newRequest = nil  // withdraws a pause not yet applied
            case .cancelled where !current.isFinal:
                newRequest = .cancelled
            default:
                throw StorageError(
                    code: .invalidTransition,
                    message: "campaign \(id) is \(current.rawValue); cannot request \(requested.rawValue)")
            }
            let update = try statement(
                "UPDATE campaigns SET requested_state = ?2, updated_at = ?3 WHERE id = ?1")
            try update.run(id, newRequest?.rawValue, at.millis)
        }
    }

    func applyCampaignState(id: Int64, _ state: CampaignState, at: Date) throws -> Int {
        try connection.immediateTransaction {
            guard let record = try campaignRow(id: id) else {
                throw StorageError(code: .notFound, message: "no campaign \(id)")
            }
            guard record.state != state else {
                if record.requestedState == state { try clearRequest(id: id, at: at) }
                return 0
            }
            guard record.state.canMove(to: state) else {
                throw StorageError(
                    code: .invalidTransition,
                    message: "campaign \(id) is \(record.state.rawValue); cannot become \(state.rawValue)")
            }
            let update = try statement(
                """
                UPDATE campaigns SET state = ?2, updated_at = ?3,
                    planned_at = CASE WHEN ?2 = 'running' THEN coalesce(planned_at, ?3) ELSE planned_at END,
                    finished_at = CASE WHEN ?2 IN ('completed', 'cancelled') THEN ?3 ELSE finished_at END,
                    requested_state = CASE WHEN requested_state = ?2 OR ?2 IN ('completed', 'cancelled')
                        THEN NULL ELSE requested_state END
                WHERE id = ?1
                """)
            try update.run(id, state.rawValue, at.millis)
            guard state == .cancelled else { return 0 }
            return try cancelMessages(campaignID: id, at: at)
        }
    }

    private func clearRequest(id: Int64, at: Date) throws {
        let update = try statement("UPDATE campaigns SET requested_state = NULL, updated_at = ?2 WHERE id = ?1")
        try update.run(id, at.millis)
    }

    /// Messages not yet handed to a gateway. `sending`, `ambiguous` and `accepted` ones may
    /// have reached the provider already, so they keep the state that says so.
    static let cancellableStates = "('planned', 'queued', 'retry_wait', 'unsent')"

    private func cancelMessages(campaignID: Int64, at: Date) throws -> Int {
        let events = try statement(
            """
            INSERT INTO message_events (message_id, at, from_state, to_state, error)
            SELECT id, ?2, state, 'cancelled', 'campaign cancelled' FROM messages
            WHERE state IN \(Self.cancellableStates) AND campaign_id = ?1
            """)
        try events.run(campaignID, at.millis)
        let update = try statement(
            """
            UPDATE messages SET state = 'cancelled', next_attempt_at = NULL, finished_at = ?2, updated_at = ?2
            WHERE state IN \(Self.cancellableStates) AND campaign_id = ?1
            """)
        try update.run(campaignID, at.millis)
        return connection.changes
    }

    func campaignCounts(id: Int64) throws -> [MessageState: Int] {
        // One index range per state: `messages_due` leads with (state, campaign_id).
        let count = try statement("SELECT count(*) FROM messages WHERE state = ?1 AND campaign_id = ?2")
        var counts: [MessageState: Int] = [:]
        for state in MessageState.allCases {
            try count.bind(state.rawValue, id)
            _ = try count.step()
            let n = Int(count.int64(0))
            count.reset()
            if n > 0 { counts[state] = n }
        }
        return counts
    }

    // MARK: Planning

    func insertMessages(_ batch: [NewMessage], at: Date, inTransaction: Bool = false) throws -> Int {
        func run<T>(_ body: () throws -> T) throws -> T { inTransaction ? try body() : try connection.immediateTransaction(body) }
        return try run {
            let insert = try statement(
                """
                INSERT INTO messages (idempotency_key, campaign_id, credit_code, channel, recipient, policy_ids,
                    payload, state, suppression_reason, parent_key, not_before, next_attempt_at, created_at,
                    finished_at, updated_at)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?13)
                ON CONFLICT (idempotency_key) DO NOTHING
                """)
            let now = at.millis
            var inserted = 0
            for message in batch {
                guard message.state == .queued || message.state == .suppressed else {
                    throw StorageError(
                        code: .invalidValue,
                        message: "a new message is queued or suppressed, not \(message.state.rawValue)")
                }
                let notBefore = message.notBefore.millis
                try insert.run(
                    message.idempotencyKey, message.campaignID, message.creditCode, message.channel, message.recipient,
                    try IDList.encode(message.policyIDs), message.payload, message.state.rawValue,
                    message.suppressionReason, message.parentKey, notBefore, message.state == .queued ? notBefore : nil,
                    now, message.state.isFinal ? now : nil)
                inserted += connection.changes
            }
            return inserted
        }
    }

    func contacts(creditCodes: [String], since: Date) throws -> [String: [ContactEntry]] {
        try readTransaction {
            let select = try statement(
                "SELECT channel, policy_ids, at FROM contact_log WHERE credit_code = ?1 AND at >= ?2 ORDER BY at")
            var result: [String: [ContactEntry]] = [:]
            for code in creditCodes where result[code] == nil {
                try select.bind(code, since.millis)
                var entries: [ContactEntry] = []
                while try select.step() {
                    entries.append(
                        ContactEntry(
                            channel: select.text(0) ?? "", policyIDs: IDList.decode(select.text(1)),
                            at: Date(millis: select.int64(2))))
                }
                select.reset()
                if !entries.isEmpty { result[code] = entries }
            }
            return result
        }
    }

    func addSuppression(creditCode: String, channel: String, source: String, at: Date) throws {
        try connection.immediateTransaction {
            let insert = try statement(
                """
                INSERT INTO suppressions (credit_code, channel, source, at) VALUES (?1, ?2, ?3, ?4)
                ON CONFLICT (credit_code, channel) DO NOTHING
                """)
            try insert.run(creditCode, channel, source, at.millis)
        }
    }

    func suppressions(creditCodes: [String]) throws -> [String: [String]] {
        try readTransaction {
            let select = try statement("SELECT channel FROM suppressions WHERE credit_code = ?1 ORDER BY channel")
            var result: [String: [String]] = [:]
            for code in creditCodes where result[code] == nil {
                try select.bind(code)
                var channels: [String] = []
                while try select.step() { channels.append(select.text(0) ?? "") }
                select.reset()
                if !channels.isEmpty { result[code] = channels }
            }
            return result
        }
    }

    // MARK: Dispatch

    static let messageColumns = """
        id, idempotency_key, campaign_id, credit_code, channel, recipient, policy_ids, payload, state, attempts,
        first_attempt_at, next_attempt_at, gateway, provider_id, last_error, suppression_reason, parent_key,
        last_attempt_at, accepted_at
        """

    func readMessage(_ row: Statement) throws -> OutboxMessage {
        OutboxMessage(
            id: row.int64(0), idempotencyKey: row.text(1) ?? "", campaignID: row.int64(2),
            creditCode: row.text(3) ?? "", channel: row.text(4) ?? "", recipient: row.text(5) ?? "",
            policyIDs: IDList.decode(row.text(6)), payload: row.blob(7), state: try messageState(row.text(8)),
            attempts: Int(row.int64(9)), firstAttemptAt: row.optionalInt64(10).map(Date.init(millis:)),
            nextAttemptAt: row.optionalInt64(11).map(Date.init(millis:)), gateway: row.text(12),
            providerID: row.text(13), lastError: row.text(14), suppressionReason: row.text(15),
            parentKey: row.text(16), lastAttemptAt: row.optionalInt64(17).map(Date.init(millis:)),
            acceptedAt: row.optionalInt64(18).map(Date.init(millis:)))
    }

    /// Claims due messages into the dispatcher's memory: each gets a lease (its due time moves to
    /// the lease's end, so the next claim skips it) but keeps its state. Nothing is sent yet: the
    /// message becomes `sending` only when its gateway admits it (`applyTransitions`), so a crash
    /// before then leaves it as it was (`recoverAfterCrash` releases the lease).
    ///
    /// An ambiguous message is due only once a resend was scheduled (its next attempt time is
    /// NULL otherwise).
    func claimDue(now: Date, limit: Int, lease: TimeInterval) throws -> [OutboxMessage] {
        guard limit > 0 else { return [] }
        return try connection.immediateTransaction {
            let running = try statement("SELECT id FROM campaigns WHERE state = 'running'")
            var campaigns: [Int64] = []
            while try running.step() { campaigns.append(running.int64(0)) }
            running.reset()

            // One ordered index range per (state, running campaign): no sort, and a paused
            // campaign's backlog is never read.
            let select = try statement(
                """
                SELECT \(Self.messageColumns) FROM messages
                WHERE state = ?1 AND campaign_id = ?2 AND next_attempt_at <= ?3 AND not_before <= ?3
                ORDER BY next_attempt_at, id LIMIT ?4
                """)
            let nowMillis = now.millis
            var candidates: [OutboxMessage] = []
            for campaign in campaigns {
                for state in MessageState.claimable {
                    try select.bind(state.rawValue, campaign, nowMillis, limit)
                    while try select.step() { candidates.append(try readMessage(select)) }
                    select.reset()
                }
            }
            // Resends of ambiguous messages first (a deduplicating provider forgets an id after a
            // while, WeChat after 10 minutes), then unsent ones, then the rest by due time.
            if campaigns.count > 1 || candidates.count > limit {
                func priority(_ state: MessageState) -> Int { state == .ambiguous ? 0 : state == .unsent ? 1 : 2 }
                candidates.sort {
                    (priority($0.state), $0.nextAttemptAt ?? now, $0.id) < (priority($1.state), $1.nextAttemptAt ?? now, $1.id)
                }
            }
            let claimed = candidates.prefix(limit)

            let leaseEnd = now.addingTimeInterval(lease).millis
            let mark = try statement("UPDATE messages SET lease_until = ?2, next_attempt_at = ?2 WHERE id = ?1")
            var result: [OutboxMessage] = []
            result.reserveCapacity(claimed.count)
            for var message in claimed {
                try mark.run(message.id, leaseEnd)
                message.claimedFrom = message.state
                result.append(message)
            }
            return result
        }
    }

    private func insertEvent(
        messageID: Int64, at: Int64, from: MessageState?, to: MessageState, gateway: String?, providerID: String?,
        error: String?
    ) throws {
        let insert = try statement(
            """
            INSERT INTO message_events (message_id, at, from_state, to_state, gateway, provider_id, error)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
            """)
        try insert.run(messageID, at, from?.rawValue, to.rawValue, gateway, providerID, error)
    }

    /// What `record` needs to know of a message before changing it.
    private struct Current {
        var state: MessageState
        var campaignID: Int64
        var key: String
        var creditCode: String
        var channel: String
        var policyIDs: String
        var gateway: String?
        var providerID: String?
    }

    private func current(messageID: Int64) throws -> Current? {
        let select = try statement(
            """
            SELECT state, idempotency_key, credit_code, channel, policy_ids, gateway, provider_id, campaign_id
            FROM messages WHERE id = ?1
            """)
        defer { select.reset() }
        try select.bind(messageID)
        guard try select.step() else { return nil }
        return Current(
            state: try messageState(select.text(0)), campaignID: select.int64(7), key: select.text(1) ?? "", creditCode: select.text(2) ?? "",
            channel: select.text(3) ?? "", policyIDs: select.text(4) ?? "", gateway: select.text(5),
            providerID: select.text(6))
    }

    /// Applies a batch of transitions; the caller owns the transaction.
    ///
    /// Any transition releases the message's claim lease and sets its reconciliation time.
    /// `sending` is applied only while the message's campaign is running (a pause or a cancel
    /// that landed while the message waited for its gateway wins), and stamps the attempt time.
    /// A transition to the state the message is in only reschedules it (``MessageState/canReschedule``).
    func applyTransitions(_ transitions: [Transition]) throws -> [Transition] {
        let update = try statement(
            """
            UPDATE messages SET state = ?2, updated_at = ?3, attempts = attempts + ?4,
                gateway = coalesce(?5, gateway), provider_id = coalesce(?6, provider_id),
                last_error = coalesce(?7, last_error), next_attempt_at = ?8,
                accepted_at = CASE WHEN ?2 = 'accepted' THEN ?3 ELSE accepted_at END,
                first_attempt_at = CASE WHEN ?2 = 'sending' THEN coalesce(first_attempt_at, ?3) ELSE first_attempt_at END,
                last_attempt_at = CASE WHEN ?2 = 'sending' THEN ?3 ELSE last_attempt_at END,
                finished_at = CASE WHEN ?9 THEN ?3 ELSE finished_at END,
                lease_until = NULL, check_at = CASE WHEN ?2 IN ('ambiguous', 'accepted') THEN ?10 END
            WHERE id = ?1
            """)
        var pendingReceipts: Bool?
        var states: [Int64: CampaignState?] = [:]
        var applied: [Transition] = []
        applied.reserveCapacity(transitions.count)
        func campaignState(_ id: Int64) throws -> CampaignState? {
            if let known = states[id] { return known }
            let state = try campaignRow(id: id)?.state
            states[id] = state
            return state
        }
        for var transition in transitions {
            guard let current = try current(messageID: transition.messageID) else { continue }
            let reschedule = current.state == transition.to && current.state.canReschedule
            guard current.state.canMove(to: transition.to) || reschedule else { continue }
            if transition.to == .sending {
                guard try campaignState(current.campaignID) == .running else { continue }
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
                transition.checkAt?.millis)
            try insertEvent(
                messageID: transition.messageID, at: at, from: current.state, to: transition.to,
                gateway: transition.gateway ?? current.gateway, providerID: transition.providerID,
                error: transition.error)
            if let followUp = transition.followUp {
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

    private func logContact(messageID: Int64, creditCode: String, channel: String, policyIDs: String, at: Int64)
        throws
    {
        let insert = try statement(
            """
            INSERT INTO contact_log (message_id, credit_code, channel, policy_ids, at) VALUES (?1, ?2, ?3, ?4, ?5)
            ON CONFLICT DO NOTHING
            """)
        try insert.run(messageID, creditCode, channel, policyIDs, at)
    }

    func recoverAfterCrash(now: Date) throws -> CrashRecovery {
        try connection.immediateTransaction {
            let events = try statement(
                """
                INSERT INTO message_events (message_id, at, from_state, to_state, gateway, error)
                SELECT id, ?1, 'sending', 'ambiguous', gateway, 'interrupted by a restart'
                FROM messages WHERE state = 'sending'
                """)
            try events.run(now.millis)
            // Pinned to the gateway that admitted it; reconciliation looks at it at once.
            let update = try statement(
                """
                UPDATE messages SET state = 'ambiguous', next_attempt_at = NULL, updated_at = ?1,
                    last_error = 'interrupted by a restart', lease_until = NULL, check_at = ?1
                WHERE state = 'sending'
                """)
            try update.run(now.millis)
            let sending = connection.changes
            // Claimed but never admitted: never sent, due again now.
            let release = try statement(
                "UPDATE messages SET lease_until = NULL, next_attempt_at = ?1 WHERE lease_until IS NOT NULL")
            try release.run(now.millis)
            return CrashRecovery(sending: sending, released: connection.changes)
        }
    }

    func scheduleAmbiguousResend(gateway: String, at: Date) throws -> Int {
        try connection.immediateTransaction {
            let update = try statement(
                """
                UPDATE messages SET next_attempt_at = ?1, updated_at = ?1
                WHERE state = 'ambiguous' AND next_attempt_at IS NULL AND gateway = ?2
                """)
            try update.run(at.millis, gateway)
            return connection.changes
        }
    }

    func pinGatewayless(channel: String, to gateway: String, at: Date) throws -> Int {
        try connection.immediateTransaction {
            let update = try statement(
                """
                UPDATE messages SET gateway = ?2, updated_at = ?3
                WHERE state = 'ambiguous' AND gateway IS NULL AND channel = ?1
                """)
            try update.run(channel, gateway, at.millis)
            return connection.changes
        }
    }

    func pruneReceipts(unmatchedBefore cutoff: Date, keep: Int) throws -> Int {
        try connection.immediateTransaction {
            let old = try statement("DELETE FROM receipts WHERE message_id IS NULL AND received_at < ?1")
            try old.run(cutoff.millis)
            var pruned = connection.changes
            let excess = try statement(
                """
                DELETE FROM receipts WHERE id IN (
                    SELECT id FROM receipts WHERE message_id IS NULL ORDER BY received_at DESC LIMIT -1 OFFSET ?1)
                """)
            try excess.run(keep)
            pruned += connection.changes
            return pruned
        }
    }

    /// Writes a row, to learn whether the store takes writes; the caller owns the transaction.
    func probeWrite(at: Date) throws {
        let upsert = try statement(
            "INSERT INTO meta (key, value) VALUES ('write_probe', ?1) ON CONFLICT (key) DO UPDATE SET value = ?1")
        try upsert.run(String(at.millis))
    }

    // MARK: Reconciliation

    func messagesToCheck(now: Date, limit: Int) throws -> [OutboxMessage] {
        let select = try statement(
            "SELECT \(Self.messageColumns) FROM messages WHERE check_at <= ?1 ORDER BY check_at, id LIMIT ?2")
        defer { select.reset() }
        try select.bind(now.millis, limit)
        var result: [OutboxMessage] = []
        while try select.step() { result.append(try readMessage(select)) }
        return result
    }

    func rescheduleChecks(_ checks: [(messageID: Int64, at: Date?)]) throws {
        try connection.immediateTransaction {
            let update = try statement(
                "UPDATE messages SET check_at = ?2 WHERE id = ?1 AND state IN ('ambiguous', 'accepted')")
            for check in checks {
                try update.run(check.messageID, check.at?.millis)
            }
        }
    }

    func resendUnconfirmed(campaignID: Int64, note: String, at: Date) throws -> Int {
        try connection.immediateTransaction {
            guard let record = try campaignRow(id: campaignID) else {
                throw StorageError(code: .notFound, message: "no campaign \(campaignID)")
            }
            guard record.state != .cancelled else {
                throw StorageError(
                    code: .invalidTransition, message: "campaign \(campaignID) is cancelled; nothing is resent")
            }
            let events = try statement(
                """
                INSERT INTO message_events (message_id, at, from_state, to_state, gateway, error)
                SELECT id, ?2, 'unconfirmed', 'queued', gateway, ?3 FROM messages
                WHERE campaign_id = ?1 AND state = 'unconfirmed'
                """)
            try events.run(campaignID, at.millis, note)
            let update = try statement(
                """
                UPDATE messages SET state = 'queued', next_attempt_at = ?2, finished_at = NULL, updated_at = ?2,
                    check_at = NULL, last_error = ?3
                WHERE campaign_id = ?1 AND state = 'unconfirmed'
                """)
            try update.run(campaignID, at.millis, note)
            let resent = connection.changes
            if resent > 0, record.state == .completed {
                let reopen = try statement(
                    "UPDATE campaigns SET state = 'running', finished_at = NULL, updated_at = ?2 WHERE id = ?1")
                try reopen.run(campaignID, at.millis)
            }
            return resent
        }
    }

    // MARK: Receipts

    private func hasUnmatchedReceipts() throws -> Bool {
        let select = try statement("SELECT 1 FROM receipts WHERE message_id IS NULL AND message_key IS NULL LIMIT 1")
        defer { select.reset() }
        if try select.step() { return true }
        let keyed = try statement(
            "SELECT 1 FROM receipts WHERE message_id IS NULL AND message_key IS NOT NULL LIMIT 1")
        defer { keyed.reset() }
        return try keyed.step()
    }

    /// A stored receipt not yet attached to a message.
    private struct PendingReceipt {
        var id: Int64
        var status: String
        var reasonCode: String?
        var receivedAt: Int64
    }

    /// Attaches early receipts to a message that was just accepted: only receipts that reached
    /// the endpoint of the gateway that took it.
    private func matchReceipts(messageID: Int64, key: String, gateway: String?, providerID: String?) throws {
        guard let gateway else { return }
        var receipts: [PendingReceipt] = []
        let byKey = try statement(
            """
            SELECT id, status, reason_code, received_at FROM receipts
            WHERE message_id IS NULL AND message_key = ?1 AND gateway = ?2 ORDER BY id
            """)
        try byKey.bind(key, gateway)
        while try byKey.step() { receipts.append(pendingReceipt(byKey)) }
        byKey.reset()
        if let providerID {
            let byProvider = try statement(
                """
                SELECT id, status, reason_code, received_at FROM receipts
                WHERE message_id IS NULL AND gateway = ?1 AND provider_id = ?2 ORDER BY id
                """)
            try byProvider.bind(gateway, providerID)
            while try byProvider.step() {
                let receipt = pendingReceipt(byProvider)
                if !receipts.contains(where: { $0.id == receipt.id }) { receipts.append(receipt) }
            }
            byProvider.reset()
        }
        for receipt in receipts.sorted(by: { $0.id < $1.id }) {
            _ = try applyReceipt(
                receiptID: receipt.id, messageID: messageID, status: receipt.status, reasonCode: receipt.reasonCode,
                receivedAt: receipt.receivedAt)
        }
    }

    private func pendingReceipt(_ row: Statement) -> PendingReceipt {
        PendingReceipt(id: row.int64(0), status: row.text(1) ?? "", reasonCode: row.text(2), receivedAt: row.int64(3))
    }

    /// Attaches a receipt to its message and moves the message if it may; returns `false` and
    /// leaves the receipt unmatched when the message has not been acknowledged yet.
    private func applyReceipt(
        receiptID: Int64, messageID: Int64, status: String, reasonCode: String?, receivedAt: Int64
    ) throws -> Bool {
        guard let current = try current(messageID: messageID) else { return false }
        if current.state.rank < MessageState.accepted.rank && current.state != .ambiguous { return false }
        let target: MessageState = status == "delivered" ? .delivered : .failed
        if current.state.canMove(to: target) {
            let update = try statement(
                """
                UPDATE messages SET state = ?2, next_attempt_at = NULL, finished_at = ?3, updated_at = ?3,
                    last_error = CASE WHEN ?2 = 'failed' THEN coalesce(?4, last_error) ELSE last_error END,
                    lease_until = NULL, check_at = NULL
                WHERE id = ?1
                """)
            try update.run(messageID, target.rawValue, receivedAt, reasonCode)
            try insertEvent(
                messageID: messageID, at: receivedAt, from: current.state, to: target, gateway: current.gateway,
                providerID: current.providerID, error: target == .failed ? reasonCode : nil)
            if current.state == .ambiguous && target == .delivered {
                try logContact(
                    messageID: messageID, creditCode: current.creditCode, channel: current.channel,
                    policyIDs: current.policyIDs, at: receivedAt)
            }
        }
        let attach = try statement("UPDATE receipts SET message_id = ?2, matched_at = ?3 WHERE id = ?1")
        try attach.run(receiptID, messageID, receivedAt)
        return true
    }

    /// The message a receipt names, by our key or by the provider's id, among the messages sent
    /// through the gateway whose endpoint received it: a receipt pushed to one gateway's endpoint
    /// never settles a message of another.
    private func messageFor(key: String?, gateway: String, providerID: String?) throws -> Int64? {
        if let key {
            let select = try statement("SELECT id FROM messages WHERE idempotency_key = ?1 AND gateway = ?2")
            defer { select.reset() }
            try select.bind(key, gateway)
            if try select.step() { return select.int64(0) }
        }
        if let providerID {
            let select = try statement("SELECT id FROM messages WHERE gateway = ?1 AND provider_id = ?2")
            defer { select.reset() }
            try select.bind(gateway, providerID)
            if try select.step() { return select.int64(0) }
        }
        return nil
    }

    func recordReceipts(_ receipts: [StoredReceipt]) throws -> ReceiptOutcome {
        try connection.immediateTransaction {
            let insert = try statement(
                """
                INSERT INTO receipts (dedupe_key, gateway, message_key, provider_id, status, reason_code,
                    occurred_at, received_at, raw)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                ON CONFLICT (dedupe_key) DO NOTHING
                """)
            var outcome = ReceiptOutcome()
            for receipt in receipts {
                guard receipt.status == "delivered" || receipt.status == "failed" else {
                    throw StorageError(
                        code: .invalidValue, message: "receipt status is delivered or failed, not \(receipt.status)")
                }
                try insert.run(
                    receipt.dedupeKey, receipt.gateway, receipt.messageKey, receipt.providerID, receipt.status,
                    receipt.reasonCode, receipt.occurredAt?.millis, receipt.receivedAt.millis, receipt.raw)
                guard connection.changes > 0 else {
                    outcome.duplicates += 1
                    continue
                }
                let receiptID = connection.lastInsertRowID
                if let messageID = try messageFor(
                    key: receipt.messageKey, gateway: receipt.gateway, providerID: receipt.providerID),
                    try applyReceipt(
                        receiptID: receiptID, messageID: messageID, status: receipt.status,
                        reasonCode: receipt.reasonCode, receivedAt: receipt.receivedAt.millis)
                {
                    outcome.matched += 1
                } else {
                    outcome.unmatched += 1
                }
            }
            return outcome
        }
    }

    func matchPendingReceipts() throws -> Int {
        try connection.immediateTransaction {
            let select = try statement(
                """
                SELECT id, status, reason_code, received_at, gateway, message_key, provider_id FROM receipts
                WHERE message_id IS NULL ORDER BY id
                """)
            var pending: [(receipt: PendingReceipt, gateway: String, key: String?, providerID: String?)] = []
            while try select.step() {
                pending.append((pendingReceipt(select), select.text(4) ?? "", select.text(5), select.text(6)))
            }
            select.reset()
            var matched = 0
            for (receipt, gateway, key, providerID) in pending {
                guard let messageID = try messageFor(key: key, gateway: gateway, providerID: providerID) else {
                    continue
                }
                if try applyReceipt(
                    receiptID: receipt.id, messageID: messageID, status: receipt.status,
                    reasonCode: receipt.reasonCode, receivedAt: receipt.receivedAt)
                {
                    matched += 1
                }
            }
            return matched
        }
    }

    func expireAccepted(olderThan cutoff: Date, now: Date) throws -> Int {
        try connection.immediateTransaction {
            let events = try statement(
                """
                INSERT INTO message_events (message_id, at, from_state, to_state, gateway, provider_id, error)
                SELECT id, ?2, 'accepted', 'expired', gateway, provider_id, 'no receipt'
                FROM messages WHERE state = 'accepted' AND next_attempt_at <= ?1
                """)
            try events.run(cutoff.millis, now.millis)
            let update = try statement(
                """
                UPDATE messages SET state = 'expired', next_attempt_at = NULL, finished_at = ?2, updated_at = ?2,
                    check_at = NULL
                WHERE state = 'accepted' AND next_attempt_at <= ?1
                """)
            try update.run(cutoff.millis, now.millis)
            return connection.changes
        }
    }

    // MARK: Reporting

    func report(campaignID: Int64) throws -> CampaignReport {
        try readTransaction {
            let select = try statement(
                """
                SELECT state, channel, gateway, policy_ids, last_error, suppression_reason, accepted_at, finished_at
                FROM messages WHERE campaign_id = ?1
                """)
            defer { select.reset() }
            try select.bind(campaignID)
            var report = CampaignReport(
                campaignID: campaignID, total: 0, byState: [:], byPolicy: [:], byChannel: [:], byGateway: [:],
                failureReasons: [:], suppressedByReason: [:], receiptLatency: nil)
            var latencies: [Double] = []
            while try select.step() {
                let state = try messageState(select.text(0))
                report.total += 1
                report.byState[state, default: 0] += 1
                report.byChannel[select.text(1) ?? "", default: [:]][state, default: 0] += 1
                if let gateway = select.text(2) { report.byGateway[gateway, default: [:]][state, default: 0] += 1 }
                for policy in IDList.decode(select.text(3)) {
                    report.byPolicy[policy, default: [:]][state, default: 0] += 1
                }
                switch state {
                case .failed: report.failureReasons[select.text(4) ?? "unknown", default: 0] += 1
                case .suppressed: report.suppressedByReason[select.text(5) ?? "unknown", default: 0] += 1
                case .delivered:
                    if let accepted = select.optionalInt64(6), let finished = select.optionalInt64(7) {
                        latencies.append(Double(max(0, finished - accepted)) / 1000)
                    }
                default: break
                }
            }
            if !latencies.isEmpty {
                latencies.sort()
                func percentile(_ p: Double) -> Double {
                    // Nearest rank: the smallest value with at least p of the samples at or below it.
                    let rank = Int((p * Double(latencies.count)).rounded(.up))
                    return latencies[min(max(rank, 1), latencies.count) - 1]
                }
                report.receiptLatency = LatencyPercentiles(
                    p50: percentile(0.5), p90: percentile(0.9), p99: percentile(0.99), count: latencies.count)
            }
            return report
        }
    }

    func forEachMessage(
        campaignID: Int64, withEvents: Bool, _ body: (OutboxMessage, [MessageEvent]?) throws -> Void
    ) throws {
        try readTransaction {
            // Not cached: the body may call back into the store while this one is stepping.
            let select = try connection.prepare(
                "SELECT \(Self.messageColumns) FROM messages WHERE campaign_id = ?1 ORDER BY id")
            try select.bind(campaignID)
            let events = try connection.prepare(
                """
                SELECT at, from_state, to_state, gateway, provider_id, error FROM message_events
                WHERE message_id = ?1 ORDER BY id
                """)
            while try select.step() {
                let message = try readMessage(select)
                var history: [MessageEvent]?
                if withEvents {
                    try events.bind(message.id)
                    var list: [MessageEvent] = []
                    while try events.step() {
                        list.append(
                            MessageEvent(
                                at: Date(millis: events.int64(0)), from: try events.text(1).map(messageState),
                                to: try messageState(events.text(2)), gateway: events.text(3),
                                providerID: events.text(4), error: events.text(5)))
                    }
                    events.reset()
                    history = list
                }
                try body(message, history)
            }
        }
    }

    func dataVersion() throws -> Int64 {
        try connection.scalarInt("PRAGMA data_version") ?? 0
    }

    func queueDepth() throws -> [MessageState: Int] {
        let select = try statement("SELECT state, count(*) FROM messages GROUP BY state")
        defer { select.reset() }
        var counts: [MessageState: Int] = [:]
        while try select.step() { counts[try messageState(select.text(0))] = Int(select.int64(1)) }
        return counts
    }

    func messageCounts() throws -> [MessageCount] {
        let select = try statement(
            "SELECT state, channel, coalesce(gateway, ''), count(*) FROM messages GROUP BY state, channel, gateway")
        defer { select.reset() }
        var counts: [MessageCount] = []
        while try select.step() {
            counts.append(
                MessageCount(
                    state: try messageState(select.text(0)), channel: select.text(1) ?? "", gateway: select.text(2) ?? "",
                    count: Int(select.int64(3))))
        }
        return counts
    }

    // MARK: Decoding

    private func messageState(_ text: String?) throws -> MessageState {
        guard let text, let state = MessageState(rawValue: text) else {
            throw StorageError(code: .corrupt, message: "unknown message state \(text ?? "NULL")")
        }
        return state
    }

    private func campaignState(_ text: String?) throws -> CampaignState {
        guard let text, let state = CampaignState(rawValue: text) else {
            throw StorageError(code: .corrupt, message: "unknown campaign state \(text ?? "NULL")")
        }
        return state
    }
}

/// Lists of ids stored as comma-separated text, readable in an audit with the sqlite3 shell.
enum IDList {
    static func encode(_ ids: [String]) throws -> String {
        for id in ids where id.isEmpty || id.contains(",") {
            throw StorageError(code: .invalidValue, message: "an id in a list is empty or contains a comma: \(id)")
        }
        return ids.joined(separator: ",")
    }

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
