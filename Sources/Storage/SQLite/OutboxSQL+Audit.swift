import Foundation

// The audit trail: appending chained entries, reading them, verifying the chain.
extension OutboxSQL {
    static var auditColumns: String { "seq, at, operator, action, target, arguments, result, prev_hash, hash" }

    /// Appends one entry after the last, chained to it; the caller owns the IMMEDIATE transaction,
    /// so no other writer can append between reading the last entry and inserting this one.
    @discardableResult
    func appendAudit(_ new: AuditEntry.New, at: Date) throws -> AuditEntry {
        let last = try statement("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
        let previous: (seq: Int64, hash: String)
        if try last.step() {
            previous = (try last.int64(0), last.text(1) ?? "")
        } else {
            previous = (0, AuditChain.genesisHash)
        }
        last.reset()
        var entry = AuditEntry(
            seq: previous.seq + 1, at: Date(millis: at.millis), operatorName: new.operatorName, action: new.action,
            target: new.target, arguments: new.arguments, result: new.result, prevHash: previous.hash, hash: "")
        entry.hash = AuditChain.hash(of: entry)
        let insert = try statement(
            """
            INSERT INTO audit (\(Self.auditColumns)) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
            """)
        try insert.run(
            entry.seq, entry.at.millis, entry.operatorName, entry.action, entry.target, entry.arguments, entry.result,
            entry.prevHash, entry.hash)
        return entry
    }

    /// Calls `body` with every entry recorded at or after `since` (all when `nil`), in `seq`
    /// order, from one snapshot; `body` returns `false` to stop.
    func forEachAuditEntry(since: Date?, _ body: (AuditEntry) throws -> Bool) throws {
        try readTransaction {
            // `at` only grows with `seq` as long as the clock does; filtering on it (not on a seq
            // found by time) keeps an entry written under a clock set back out of nobody's sight.
            let select = try statement(
                "SELECT \(Self.auditColumns) FROM audit WHERE at >= ?1 OR ?1 IS NULL ORDER BY seq")
            defer { select.reset() }
            try select.bind(since?.millis)
            while try select.step() {
                let entry = AuditEntry(
                    seq: try select.int64(0), at: Date(millis: try select.int64(1)), operatorName: select.text(2) ?? "",
                    action: select.text(3) ?? "", target: select.text(4) ?? "", arguments: select.text(5) ?? "",
                    result: select.text(6) ?? "", prevHash: select.text(7) ?? "", hash: select.text(8) ?? "")
                guard try body(entry) else { break }
            }
        }
    }

    /// Walks the whole trail in `seq` order and checks the chain (``AuditChain/Verifier``).
    func verifyAudit() throws -> AuditVerification {
        var verifier = AuditChain.Verifier()
        try forEachAuditEntry(since: nil) { verifier.check($0) }
        return verifier.finish()
    }
}

extension AuditContext {
    /// The entry for an action the store performed on this operator's behalf.
    func entry(_ action: String, target: String, result: String) -> AuditEntry.New {
        AuditEntry.New(operatorName: operatorName, action: action, target: target, arguments: arguments, result: result)
    }
}
