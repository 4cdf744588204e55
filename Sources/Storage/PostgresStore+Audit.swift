import Foundation

extension PostgresStore: AuditStore {
    @discardableResult
    public func appendAudit(_ entry: AuditEntry.New) throws -> AuditEntry {
        try connection.writeTransaction { try outbox.appendAudit(entry, at: Date()) }
    }

    public func forEachAuditEntry(since: Date?, _ body: (AuditEntry) throws -> Bool) throws {
        try outbox.forEachAuditEntry(since: since, body)
    }

    public func verifyAudit() throws -> AuditVerification {
        try outbox.verifyAudit()
    }
}
