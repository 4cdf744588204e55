import Foundation

/// The whole store as the daemon and the CLI see it: the enterprise registry, the durable
/// outbox and the audit trail, in one database, whatever holds it.
///
/// Code outside Storage names this protocol (`some PolicyPushStore`, `any PolicyPushStore`) and
/// gets a store from ``Store/open(at:readOnly:)``; only Storage knows which backend it is.
///
/// - Important: A store is used from one thread or actor at a time; it is not `Sendable`.
///   Async code reaches one through a ``StoreWorker``.
public protocol PolicyPushStore: OutboxStore, EnterpriseStore, AuditStore, EffectStore, NodeStore {}

/// Where stores come from: the one place that chooses the backend.
public enum Store {
    /// Opens the store at `path`, creating it (and its parent directory, mode 0700) if missing
    /// and migrating it to the schema this code knows.
    ///
    /// A `readOnly` store neither creates nor migrates: it fails with
    /// `StorageError.Code.schemaOutdated` on an older schema, and `.schemaTooNew` on a newer one.
    public static func open(at path: String, readOnly: Bool = false) throws -> any PolicyPushStore {
        try SQLiteStore(path: path, readOnly: readOnly)
    }

    /// Opens the store `location` names: a PostgreSQL server for a `postgres://` or `postgresql://`
    /// URL or a libpq `key=value` string (one with an `=` before any `/`), otherwise a SQLite file path
    /// as ``open(at:readOnly:)`` opens it.
    public static func open(url location: String, readOnly: Bool = false) throws -> any PolicyPushStore {
        switch StoreLocation(location) {
        case .postgres(let connectionString): try PostgresStore(connectionString: connectionString, readOnly: readOnly)
        case .sqlite(let path): try SQLiteStore(path: path, readOnly: readOnly)
        }
    }
}

extension Store {
    /// The store `location` names, fit for a log or a message: a SQLite path as it is, a PostgreSQL
    /// connection's options without secrets (and an unparsable string as `PostgreSQL (invalid …)`).
    public static func describe(url location: String) -> String {
        switch StoreLocation(location) {
        case .sqlite(let path): return path
        case .postgres(let connectionString):
            guard let parsed = try? PGConnectionString(connectionString) else {
                return "PostgreSQL (invalid connection string)"
            }
            return "PostgreSQL \(parsed)"
        }
    }

    /// Whether several daemons may share the store `location` names: a PostgreSQL one. A SQLite
    /// store belongs to one daemon (its `StoreLock`).
    public static func isShared(url location: String) -> Bool {
        if case .postgres = StoreLocation(location) { return true }
        return false
    }
}

/// Where a store is, told from how its location is written.
enum StoreLocation: Equatable {
    case sqlite(path: String)
    case postgres(connectionString: String)

    init(_ location: String) {
        let trimmed = location.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("postgres://") || trimmed.hasPrefix("postgresql://") {
            self = .postgres(connectionString: trimmed)
            return
        }
        // A libpq string is `key=value` pairs; a path has no `=` before its first `/` (or none at all).
        let beforeSlash = trimmed.prefix { $0 != "/" }
        if beforeSlash.contains("="), let key = beforeSlash.split(separator: "=").first,
            key.trimmingCharacters(in: .whitespaces).allSatisfy({ $0.isLetter || $0 == "_" })
        {
            self = .postgres(connectionString: trimmed)
            return
        }
        self = .sqlite(path: location)
    }
}

/// The daemon's writer: outcomes of many concurrent sends recorded in few transactions, and
/// claims, on a connection of its own; see ``Store/openWriter(at:)``.
///
/// Each call returns once its work is durable (committed) or has failed.
public protocol OutboxWriter: AnyObject, Sendable {
    /// The node it claims and sends for (``NodeRegistration/id``), or `nil`: see ``Store/openWriter(url:node:)``.
    var node: String? { get }

    /// Records `transitions` as `OutboxStore.record` does, in a transaction shared with other
    /// submitters, and returns the ones applied once they are committed.
    @discardableResult
    func submit(_ transitions: [Transition]) async throws -> [Transition]

    /// Commits `transition` (to `sending`) as `submit` does, counting it in its
    /// ``Transition/budget`` when that has room, in the same transaction; says which.
    func admit(_ transition: Transition) async throws -> SendingCommit

    /// Commits each of `transitions` (to `sending`) as ``admit(_:)`` does, all in one transaction
    /// shared with other submitters; says which, one answer per transition, in order.
    func admit(batch transitions: [Transition]) async throws -> [SendingCommit]

    /// Whether other daemons may write the same store (PostgreSQL): what they admit counts too.
    var isShared: Bool { get }

    /// Commits a write of its own with whatever else is pending: it throws while the store
    /// cannot be written (a full disk), and returns once it can again.
    func probe() async throws

    /// Claims due messages as `OutboxStore.claimDue` does, in a transaction of its own committed
    /// before this returns.
    func claimDue(now: Date, limit: Int, lease: TimeInterval) async throws -> [OutboxMessage]

    /// Undoes claims the dispatcher could not act on (see ``ClaimRelease``), committed with
    /// whatever else is pending.
    func release(_ claims: [ClaimRelease]) async throws

    /// Returns once everything submitted before the call is committed (or failed).
    func flush() async

    /// Commits what was submitted and refuses further work; calling it again does nothing.
    ///
    /// - Important: Blocks the caller until the last batch is committed.
    func close()
}

/// A claim to undo: a claim returned a message the dispatcher still held (its last transition was
/// committed, making it due, a moment before the holder let go of it). The claim's lease would
/// hide it until the lease ends; releasing makes it due again at `due`, as the claim found it.
public struct ClaimRelease: Sendable, Hashable {
    public var messageID: Int64
    public var due: Date

    public init(messageID: Int64, due: Date) {
        self.messageID = messageID
        self.due = due
    }
}

extension OutboxWriter {
    /// Claims with the default lease (see ``OutboxLease/default``).
    public func claimDue(now: Date, limit: Int) async throws -> [OutboxMessage] {
        try await claimDue(now: now, limit: limit, lease: OutboxLease.default)
    }
}

extension Store {
    /// Opens the daemon's writer on the store at `path`: a connection of its own, migrated if
    /// needed, beside the ones `open(at:readOnly:)` gives.
    public static func openWriter(at path: String) throws -> any OutboxWriter {
        try GroupCommitWriter(path: path)
    }

    /// Opens the daemon's writer on the store `location` names, as ``open(url:readOnly:)`` reads it.
    ///
    /// With `node` (a registered node on a shared store, see ``NodeStore``), it stamps the messages
    /// it claims with the node and commits `sending` only for messages the node claimed while the
    /// node holds its lease; without, it claims and sends as a lone daemon does. SQLite ignores it.
    public static func openWriter(url location: String, node: String? = nil) throws -> any OutboxWriter {
        switch StoreLocation(location) {
        case .postgres(let connectionString): try GroupCommitWriter(postgres: connectionString, node: node)
        case .sqlite(let path): try GroupCommitWriter(path: path)
        }
    }
}
