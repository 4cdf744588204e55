import Registry

/// What an import did to the stored enterprises.
public struct ImportCounts: Sendable, Hashable {
    /// Enterprises that were not stored before.
    public var inserted: Int
    /// Stored enterprises whose attributes changed.
    public var updated: Int
    /// Stored enterprises imported again with identical attributes.
    public var unchanged: Int
    /// Stored enterprises absent from a replacing import, now deleted.
    public var removed: Int

    public init(inserted: Int = 0, updated: Int = 0, unchanged: Int = 0, removed: Int = 0) {
        self.inserted = inserted
        self.updated = updated
        self.unchanged = unchanged
        self.removed = removed
    }
}

/// Rows of an import file that the validator refused; they never reach the store.
public struct RejectedRows: Sendable, Hashable {
    public var count: Int
    /// Valid credit codes among them: a replacing import keeps these enterprises as they are
    /// stored, since a bad row is not a request to delete.
    public var creditCodes: [String]

    public init(count: Int = 0, creditCodes: [String] = []) {
        self.count = count
        self.creditCodes = creditCodes
    }
}

/// The enterprise registry as the rest of PolicyPush sees it, whatever database holds it.
///
/// - Important: A store is used from one thread or actor at a time; it is not `Sendable`.
public protocol EnterpriseStore: AnyObject {
    /// Upserts every batch `produce` passes to its sink, keyed by credit code, in one transaction.
    ///
    /// Nothing is visible to other connections until the whole import commits; if `produce`,
    /// the sink or the commit throws, the store is left exactly as it was. An enterprise whose
    /// attributes are identical to the stored ones counts as unchanged. With `replace`,
    /// enterprises not in this import (nor among the rejected rows `produce` returns) are
    /// deleted and counted as removed. A credit code that appears twice is counted once and
    /// keeps its last attributes. The import is recorded with `file` and the rejected count.
    func importEnterprises(
        file: String, replace: Bool,
        _ produce: (_ sink: ([Enterprise]) throws -> Void) throws -> RejectedRows
    ) throws -> ImportCounts

    /// The enterprise with this credit code, or `nil`.
    func enterprise(creditCode: String) throws -> Enterprise?

    /// The stored enterprises among `creditCodes`, by credit code, read in one transaction;
    /// codes not stored are absent.
    func enterprises(creditCodes: some Collection<String>) throws -> [String: Enterprise]

    /// How many enterprises are stored.
    func enterpriseCount() throws -> Int

    /// Calls `body` with every stored enterprise in credit-code order, streaming from one
    /// consistent snapshot.
    func forEachEnterprise(_ body: (Enterprise) throws -> Void) throws
}
