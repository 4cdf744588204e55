import Foundation

/// The audit trail: one entry per operator action, appended only, each chained to the one
/// before by SHA-256 (``AuditChain``).
///
/// Campaign writes made for an operator (start, approve, reject, pause, resume, cancel,
/// reconcile) append their entry in their own transaction, through the `audit:` parameters of
/// ``OutboxStore``; everything else (an import, suppression changes, a config reload, a refused
/// action) calls ``appendAudit(_:)``.
///
/// - Important: A store is used from one thread or actor at a time; it is not `Sendable`.
public protocol AuditStore: AnyObject {
    /// Appends one entry in its own transaction, numbered, stamped with the current time and
    /// chained to the last one; returns it as stored.
    @discardableResult
    func appendAudit(_ entry: AuditEntry.New) throws -> AuditEntry

    /// Calls `body` with each entry recorded at or after `since` (every entry when `nil`) in
    /// `seq` order, from one snapshot; `body` returns `false` to stop early.
    func forEachAuditEntry(since: Date?, _ body: (AuditEntry) throws -> Bool) throws

    /// Walks the whole trail in `seq` order and checks the chain: contiguous `seq` from 1, each
    /// `prev_hash` the hash of the entry before, each hash matching its content. Reports the
    /// first broken entry.
    func verifyAudit() throws -> AuditVerification
}
