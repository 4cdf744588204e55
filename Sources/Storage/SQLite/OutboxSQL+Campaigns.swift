import Foundation
import Registry

// Campaigns: creation, operator requests and the daemon's state changes.
extension OutboxSQL {
    static var campaignColumns: String {
        """
        id, name, policy_ids, channels, fallback, start_at, max_messages, campaign_date, policy_versions,
        template_version, state, requested_state, created_at, planned_at, finished_at, key_secret, created_by,
        approved_by, decided_at, decision_note, control_percent, control_seed
        """
    }

    /// Stores a new campaign, `pending` or, with `awaitingApproval`, `awaiting_approval`, and
    /// appends `campaign.start` to the audit trail in the same transaction when `audit` is given.
    func createCampaign(
        _ spec: CampaignSpec, at: Date, awaitingApproval: Bool = false, audit: AuditContext? = nil
    )
        throws -> Int64
    {
        try connection.writeTransaction {
            let insert = try statement(
                """
                INSERT INTO campaigns (name, policy_ids, channels, fallback, start_at, max_messages, campaign_date,
                    policy_versions, template_version, state, created_at, updated_at, key_secret, created_by,
                    control_percent, control_seed)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12, ?13, ?14, ?15)
                RETURNING id
                """)
            var random = SystemRandomNumberGenerator()
            let controlSeed =
                spec.controlSeed
                ?? (spec.controlPercent > 0
                    ? (0..<16).map { _ in UInt8.random(in: 0...255, using: &random) }.map(hexByte).joined() : nil)
            let state: CampaignState = awaitingApproval ? .awaitingApproval : .pending
            defer { insert.reset() }
            try insert.bind(
                spec.name, try IDList.encode(spec.policyIDs), try IDList.encode(spec.channels.map(\.rawValue)),
                spec.fallback, spec.startAt.millis, spec.maxMessages, spec.campaignDate,
                CustomAttributes.encode(spec.policyVersions) ?? "{}", spec.templateVersion, state.rawValue, at.millis,
                (0..<16).map { _ in UInt8.random(in: 0...255, using: &random) }, audit?.operatorName,
                spec.controlPercent, controlSeed)
            guard try insert.step() else {
                throw StorageError(code: .sqlite, message: "INSERT … RETURNING id returned no row", sql: insert.sql)
            }
            let id = try insert.int64(0)
            if let audit {
                try appendAudit(
                    audit.entry("campaign.start", target: "campaign \(id)", result: "ok: \(state.rawValue)"), at: at)
            }
            return id
        }
    }

    func campaigns() throws -> [CampaignRecord] {
        try readTransaction {
            var records = try campaignRows()
            for index in records.indices {
                records[index].counts = try campaignCounts(id: records[index].id)
            }
            return records
        }
    }

    /// Every campaign's row, without counts; the caller owns the transaction.
    func campaignRows() throws -> [CampaignRecord] {
        let select = try statement("SELECT \(Self.campaignColumns) FROM campaigns ORDER BY id")
        defer { select.reset() }
        var records: [CampaignRecord] = []
        while try select.step() { records.append(try readCampaign(select)) }
        return records
    }

    func campaign(id: Int64) throws -> CampaignRecord? {
        try readTransaction {
            guard var record = try campaignRow(id: id) else { return nil }
            record.counts = try campaignCounts(id: id)
            return record
        }
    }

    func campaignRow(id: Int64) throws -> CampaignRecord? {
        let select = try statement("SELECT \(Self.campaignColumns) FROM campaigns WHERE id = ?1")
        defer { select.reset() }
        try select.bind(id)
        guard try select.step() else { return nil }
        return try readCampaign(select)
    }

    private func readCampaign(_ row: Statement) throws -> CampaignRecord {
        let spec = CampaignSpec(
            name: row.text(1) ?? "", policyIDs: IDList.decode(row.text(2)),
            channels: try IDList.decode(row.text(3)).map(channel), fallback: try row.int64(4) != 0,
            startAt: Date(millis: try row.int64(5)),
            maxMessages: try row.optionalInt64(6).map { Int($0) }, campaignDate: row.text(7) ?? "",
            policyVersions: CustomAttributes.decode(row.text(8) ?? "{}") ?? [:], templateVersion: row.text(9) ?? "",
            controlPercent: try row.double(20), controlSeed: row.text(21))
        return CampaignRecord(
            id: try row.int64(0), spec: spec, state: try campaignState(row.text(10)),
            requestedState: try row.text(11).map { try campaignState($0) }, createdAt: Date(millis: try row.int64(12)),
            plannedAt: try row.optionalInt64(13).map(Date.init(millis:)),
            finishedAt: try row.optionalInt64(14).map(Date.init(millis:)), counts: [:],
            keySecret: row.isNull(15) ? nil : try row.blob(15), createdBy: row.text(16), approvedBy: row.text(17),
            decidedAt: try row.optionalInt64(18).map(Date.init(millis:)), decisionNote: row.text(19))
    }

    func requestCampaign(id: Int64, _ requested: CampaignState, at: Date, audit: AuditContext? = nil) throws {
        try connection.writeTransaction {
            guard let record = try campaignRow(id: id) else {
                throw StorageError(code: .notFound, message: "no campaign \(id)")
            }
            let current = record.state
            if current == .awaitingApproval, requested == .cancelled {
                // Nothing was planned or sent: cancelled at once, without the daemon.
                let update = try statement(
                    """
                    UPDATE campaigns SET state = 'cancelled', requested_state = NULL, finished_at = ?2, updated_at = ?2
                    WHERE id = ?1
                    """)
                try update.run(id, at.millis)
                if let audit {
                    try appendAudit(
                        audit.entry("campaign.cancel", target: "campaign \(id)", result: "ok: cancelled"), at: at)
                }
                return
            }
            let newRequest: CampaignState?
            let outcome: String
            switch requested {
            case _ where requested == current:
                newRequest = nil
                outcome = "ok: already \(current.rawValue)"
            case .paused where [.pending, .planning, .running].contains(current):
                newRequest = .paused
                outcome = "ok: requested"
            case .running where current == .paused:
                newRequest = .running
                outcome = "ok: requested"
            case .running where record.requestedState == .paused && !current.isFinal:
                newRequest = nil  // withdraws a pause not yet applied
                outcome = "ok: pause request withdrawn"
            case .cancelled where !current.isFinal:
                newRequest = .cancelled
                outcome = "ok: requested"
            default:
                throw StorageError(
                    code: .invalidTransition,
                    message: "campaign \(id) is \(current.rawValue); cannot request \(requested.rawValue)")
            }
            let update = try statement(
                "UPDATE campaigns SET requested_state = ?2, updated_at = ?3 WHERE id = ?1")
            try update.run(id, newRequest?.rawValue, at.millis)
            if let audit {
                try appendAudit(
                    audit.entry(Self.requestAction(requested), target: "campaign \(id)", result: outcome), at: at)
            }
        }
    }

    /// The audit action of an operator's request: `campaign.pause`, `campaign.resume`, `campaign.cancel`.
    static func requestAction(_ requested: CampaignState) -> String {
        switch requested {
        case .paused: "campaign.pause"
        case .running: "campaign.resume"
        case .cancelled: "campaign.cancel"
        default: "campaign.request"
        }
    }

    /// An operator's decision on a campaign `awaiting_approval`: approving makes it `pending`
    /// (the daemon plans it as any other), rejecting makes it `rejected` (final). The operator
    /// who started it may do neither. Appends `campaign.approve` or `campaign.reject` to the audit
    /// trail in the same transaction.
    func decideCampaign(id: Int64, approve: Bool, note: String?, at: Date, audit: AuditContext) throws {
        try connection.writeTransaction {
            guard let record = try campaignRow(id: id) else {
                throw StorageError(code: .notFound, message: "no campaign \(id)")
            }
            let verb = approve ? "approve" : "reject"
            guard record.state == .awaitingApproval else {
                throw StorageError(
                    code: .invalidTransition,
                    message: "campaign \(id) is \(record.state.rawValue), not awaiting_approval; cannot \(verb) it")
            }
            guard let creator = record.createdBy, creator != audit.operatorName else {
                let who = record.createdBy.map { "it was started by \($0)" } ?? "its creator is not recorded"
                throw StorageError(
                    code: .notPermitted,
                    message:
                        "campaign \(id) cannot be \(approve ? "approved" : "rejected") by \(audit.operatorName): \(who), and four-eyes approval needs a different operator"
                )
            }
            let next: CampaignState = approve ? .pending : .rejected
            let update = try statement(
                """
                UPDATE campaigns SET state = ?2, approved_by = ?3, decided_at = ?4, decision_note = ?5, updated_at = ?4,
                    finished_at = CASE WHEN ?2 = 'rejected' THEN ?4 ELSE finished_at END, requested_state = NULL
                WHERE id = ?1
                """)
            try update.run(id, next.rawValue, audit.operatorName, at.millis, note)
            try appendAudit(
                audit.entry("campaign.\(verb)", target: "campaign \(id)", result: "ok: \(next.rawValue)"), at: at)
        }
    }

    func applyCampaignState(id: Int64, _ state: CampaignState, at: Date) throws -> Int {
        try connection.writeTransaction {
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
    static var cancellableStates: String { "('planned', 'queued', 'retry_wait', 'unsent')" }

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

    /// The campaign's messages by state, from the counts the triggers keep (migration 13): one
    /// index range of a few rows, however many messages the campaign has.
    func campaignCounts(id: Int64) throws -> [MessageState: Int] {
        let byState = try statement(
            """
            SELECT state, CAST(sum(n) AS BIGINT) FROM message_counts WHERE campaign_id = ?1
            GROUP BY state HAVING sum(n) <> 0
            """)
        defer { byState.reset() }
        try byState.bind(id)
        var counts: [MessageState: Int] = [:]
        while try byState.step() { counts[try messageState(byState.text(0))] = Int(try byState.int64(1)) }
        return counts
    }
}

/// Two lowercase hex digits.
private func hexByte(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
}
