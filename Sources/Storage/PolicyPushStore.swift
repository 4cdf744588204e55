/// The whole store as the daemon and the CLI see it: the enterprise registry, the durable
/// outbox and the audit trail, in one database, whatever holds it.
///
/// Code outside Storage names this protocol (`some PolicyPushStore`, `any PolicyPushStore`) and
/// gets a store from ``Store/open(at:readOnly:)``; only Storage knows which backend it is.
///
/// - Important: A store is used from one thread or actor at a time; it is not `Sendable`.
///   Async code reaches one through a ``StoreWorker``.
public protocol PolicyPushStore: OutboxStore, EnterpriseStore, AuditStore {}

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
}
