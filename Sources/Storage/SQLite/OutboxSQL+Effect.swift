import Foundation
import Registry

// 跟踪问效: group assignments and uptake.
extension OutboxSQL {
    func insertGroupAssignments(_ batch: [GroupAssignment], inTransaction: Bool = false) throws {
        guard !batch.isEmpty else { return }
        func run(_ body: () throws -> Void) throws {
            inTransaction ? try body() : try connection.writeTransaction(body)
        }
        try run {
            let insert = try statement(
                """
                INSERT INTO campaign_groups (campaign_id, credit_code, policy_ids, control, planned_reason)
                VALUES (?1, ?2, ?3, ?4, ?5)
                ON CONFLICT (campaign_id, credit_code) DO NOTHING
                """)
            for row in batch {
                try insert.run(
                    row.campaignID, row.creditCode, try IDList.encode(row.policyIDs), row.control, row.plannedReason)
            }
        }
    }

    func groupAssignments(campaignID: Int64) throws -> [GroupAssignment] {
        try readTransaction {
            let select = try statement(
                """
                SELECT credit_code, policy_ids, control, planned_reason FROM campaign_groups
                WHERE campaign_id = ?1 ORDER BY credit_code
                """)
            try select.bind(campaignID)
            defer { select.reset() }
            var rows: [GroupAssignment] = []
            while try select.step() {
                rows.append(
                    GroupAssignment(
                        campaignID: campaignID, creditCode: select.text(0) ?? "",
                        policyIDs: IDList.decode(select.text(1)), control: try select.int64(2) != 0,
                        plannedReason: select.text(3)))
            }
            return rows
        }
    }

    func upsertUptake(_ claims: [UptakeClaim], source: String, at: Date) throws -> UptakeUpsert {
        try connection.writeTransaction {
            let find = try statement(
                "SELECT amount_fen FROM uptake WHERE credit_code = ?1 AND policy_id = ?2 AND claimed_on = ?3")
            let upsert = try statement(
                """
                INSERT INTO uptake (credit_code, policy_id, claimed_on, amount_fen, source, imported_at)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                ON CONFLICT (credit_code, policy_id, claimed_on) DO UPDATE
                SET amount_fen = excluded.amount_fen, source = excluded.source, imported_at = excluded.imported_at
                """)
            var outcome = UptakeUpsert()
            for claim in claims {
                let day = claim.claimedOn.description
                try find.bind(claim.creditCode, claim.policyID, day)
                let existing: Int64?? = try find.step() ? .some(find.optionalInt64(0)) : .none
                find.reset()
                switch existing {
                case .none: outcome.inserted += 1
                case .some(let amount) where amount == claim.amountFen:
                    outcome.unchanged += 1
                    continue
                case .some: outcome.updated += 1
                }
                try upsert.run(claim.creditCode, claim.policyID, day, claim.amountFen, source, at.millis)
            }
            return outcome
        }
    }

    func uptake(policyIDs: [String], from: LocalDate, through: LocalDate) throws -> [UptakeClaim] {
        try readTransaction {
            let select = try statement(
                """
                SELECT credit_code, claimed_on, amount_fen FROM uptake
                WHERE policy_id = ?1 AND claimed_on >= ?2 AND claimed_on <= ?3
                """)
            var claims: [UptakeClaim] = []
            for policy in Set(policyIDs).sorted() {
                try select.bind(policy, from.description, through.description)
                while try select.step() {
                    guard let day = select.text(1).flatMap({ LocalDate(iso: $0) }) else {
                        select.reset()
                        throw StorageError(
                            code: .corrupt, message: "uptake: claimed_on '\(select.text(1) ?? "")' is not a date")
                    }
                    claims.append(
                        UptakeClaim(
                            creditCode: select.text(0) ?? "", policyID: policy, claimedOn: day,
                            amountFen: try select.optionalInt64(2)))
                }
                select.reset()
            }
            return claims.sorted { ($0.creditCode, $0.policyID) < ($1.creditCode, $1.policyID) }
        }
    }

    func uptakeCount() throws -> Int {
        try readTransaction {
            let count = try statement("SELECT count(*) FROM uptake")
            defer { count.reset() }
            return try count.step() ? Int(try count.int64(0)) : 0
        }
    }
}
