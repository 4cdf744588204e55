import Foundation
import Registry

// The package page: opens, and feedback sent from its form.
extension OutboxSQL {
    /// Counts an open of message `messageID`'s page: the first creates its row with `client`,
    /// later ones (reloads) add to its count and move its last open. Returns whether this was the
    /// first open. One statement, one short write transaction.
    func recordOpen(messageID: Int64, campaignID: Int64, client: ClientClass, at: Date) throws -> Bool {
        try connection.writeTransaction {
            // The stored row's columns are qualified: PostgreSQL would not know them from `excluded`'s.
            let upsert = try statement(
                """
                INSERT INTO package_opens (message_id, campaign_id, first_open_at, last_open_at, opens, client_class)
                VALUES (?1, ?2, ?3, ?3, 1, ?4)
                ON CONFLICT (message_id) DO UPDATE SET opens = package_opens.opens + 1,
                    last_open_at = max(package_opens.last_open_at, ?3)
                RETURNING opens
                """)
            defer { upsert.reset() }
            try upsert.bind(messageID, campaignID, at.millis, client.rawValue)
            guard try upsert.step() else {
                throw StorageError(code: .sqlite, message: "package_opens: the upsert returned no row")
            }
            return try upsert.int64(0) == 1
        }
    }

    /// Stores feedback from message `messageID`'s page as a reply from the message's recipient,
    /// attached to its enterprise and campaign. The same feedback sent again (a reload of the
    /// answer page re-posts it) is not stored twice. Never an opt-out. Returns whether it was
    /// stored; throws `.notFound` for an unknown message.
    func recordPageFeedback(messageID: Int64, _ feedback: PageFeedback, at: Date) throws -> Bool {
        guard feedback.kind.isPageFeedback else {
            throw StorageError(code: .invalidValue, message: "\(feedback.kind.rawValue) is not feedback from the page")
        }
        return try connection.writeTransaction {
            let select = try statement("SELECT recipient, credit_code, campaign_id FROM messages WHERE id = ?1")
            try select.bind(messageID)
            guard try select.step() else {
                select.reset()
                throw StorageError(code: .notFound, message: "no message \(messageID)")
            }
            let (recipient, creditCode, campaignID) = (select.text(0) ?? "", select.text(1), try select.int64(2))
            select.reset()
            var hash = FNV1a()
            hash.combine(feedback.text.utf8)
            let key = "\(messageID):\(feedback.kind.rawValue):\(String(hash.value, radix: 16))"
            let insert = try statement(
                """
                INSERT INTO replies (gateway, kind, sender, text, sent_at, received_at, dedupe_key, raw, opt_out,
                    credit_code, campaign_id, message_id)
                VALUES (?1, ?2, ?3, ?4, NULL, ?5, ?6, ?7, 0, ?8, ?9, ?10)
                ON CONFLICT (gateway, dedupe_key) DO NOTHING
                """)
            try insert.run(
                PageFeedback.gateway, feedback.kind.rawValue, recipient, feedback.text, at.millis, key, feedback.raw,
                creditCode, campaignID, messageID)
            return connection.changes > 0
        }
    }

    /// How many of a campaign's packages were opened at least once.
    func openedCount(campaignID: Int64) throws -> Int {
        let select = try statement("SELECT count(*) FROM package_opens WHERE campaign_id = ?1")
        defer { select.reset() }
        try select.bind(campaignID)
        return try select.step() ? Int(select.int64(0)) : 0
    }

    /// The credit codes of the enterprises with at least one opened package in the campaign.
    func openedEnterprises(campaignID: Int64) throws -> Set<String> {
        try readTransaction {
            let select = try statement(
                """
                SELECT DISTINCT m.credit_code FROM package_opens o JOIN messages m ON m.id = o.message_id
                WHERE o.campaign_id = ?1
                """)
            defer { select.reset() }
            try select.bind(campaignID)
            var codes: Set<String> = []
            while try select.step() {
                if let code = select.text(0) { codes.insert(code) }
            }
            return codes
        }
    }

    /// A campaign's opens against its deliveries, by policy, region (the registry's now), channel
    /// and the client class of each first open.
    func openReport(campaignID: Int64) throws -> OpenReport {
        try readTransaction {
            let select = try statement(
                """
                SELECT m.state = 'delivered', o.client_class, o.opens, m.channel, m.policy_ids, e.region
                FROM messages m
                LEFT JOIN package_opens o ON o.message_id = m.id
                LEFT JOIN enterprises e ON e.credit_code = m.credit_code
                WHERE m.campaign_id = ?1 AND (m.state = 'delivered' OR o.message_id IS NOT NULL)
                """)
            defer { select.reset() }
            try select.bind(campaignID)
            var report = OpenReport()
            while try select.step() {
                let client = try select.text(1).map { text in
                    guard let client = ClientClass(rawValue: text) else {
                        throw StorageError(code: .corrupt, message: "package_opens: unknown client class \(text)")
                    }
                    return client
                }
                let region = select.text(5).flatMap { $0.isEmpty ? nil : $0 }
                report.add(
                    delivered: try select.int64(0) == 1, opened: client, views: Int(try select.optionalInt64(2) ?? 0),
                    channel: try optionalChannel(select.text(3)), policyIDs: IDList.decode(select.text(4)),
                    region: region)
            }
            return report
        }
    }
}
