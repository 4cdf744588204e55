import Registry

/// The store on a PostgreSQL server, for several nodes sharing one outbox (issue 13).
///
/// The same SQL as ``SQLiteStore``'s (``OutboxSQL`` is generic over the connection), translated for
/// PostgreSQL where the dialects differ (``PGDialect``). Opening migrates the schema to the version
/// this code knows (``PostgresMigration``, under an advisory lock, so nodes starting together
/// migrate once), and fails with `StorageError.Code.schemaTooNew` on a newer one.
///
/// - Important: Not `Sendable`, and every call blocks on the network: create, use and drop a store on
///   one thread (a ``StoreWorker``'s), as a SQLite store is.
public final class PostgresStore: PolicyPushStore {
    /// The schema version of the database (its `schema_version` row).
    public let schemaVersion: Int

    let connection: PGConnection
    /// The outbox's statements on this store's connection (`PostgresStore+Outbox.swift`).
    lazy var outbox = OutboxSQL(connection: connection)
    /// The channel operators' writes notify (``StoreChanges/channel(on:)``), asked of the server once.
    private var changeChannel: String?

    /// Connects to a `postgres://` URL or a libpq `key=value` string and migrates the database.
    ///
    /// A `readOnly` store does not migrate; it requires the current schema.
    public init(connectionString: String, readOnly: Bool = false) throws {
        connection = try PGConnection(connectionString)
        if readOnly {
            let version = try PostgresMigration.currentVersion(connection)
            guard version == PostgresMigration.latestVersion else {
                throw StorageError(
                    code: version > PostgresMigration.latestVersion ? .schemaTooNew : .schemaOutdated,
                    message: "\(connection.target) has schema version \(version), this code knows "
                        + "\(PostgresMigration.latestVersion)")
            }
            schemaVersion = version
        } else {
            schemaVersion = try PostgresMigration.migrate(connection)
        }
    }

    /// Streams the rows into a temporary table through `COPY` and upserts them from it in one
    /// statement (``PGEnterpriseImport``), in one transaction.
    public func importEnterprises(
        file: String, replace: Bool,
        _ produce: (_ sink: ([Enterprise]) throws -> Void) throws -> RejectedRows
    ) throws -> ImportCounts {
        // Read committed, not the serializable writes of the outbox: an import touches every row, so a
        // concurrent outbox write would abort it; the rows it writes are its own run's.
        try connection.transaction(.readCommitted) {
            let now = try timestamp()
            let startRun = try connection.cursor(
                "INSERT INTO import_runs (file, started_at) VALUES (?1, ?2) RETURNING id")
            try startRun.bind(file, now)
            guard try startRun.step() else {
                throw StorageError(code: .postgres, message: "INSERT … RETURNING id returned no row", sql: startRun.sql)
            }
            let run = try startRun.int64(0)
            startRun.reset()

            // The rows stream through COPY while `produce` reads the file (PGEnterpriseImport).
            var staging = try PGEnterpriseImport(connection: connection, run: run, timestamp: now)
            let rejected: RejectedRows
            do {
                rejected = try produce { batch in try staging.write(batch) }
            } catch {
                staging.abort(error)
                throw error
            }
            return try outbox.finishImport(
                run: run, replace: replace, rejected: rejected, counts: try staging.upsert(),
                finishedAt: try timestamp())
        }
    }

    public func enterprise(creditCode: String) throws -> Enterprise? {
        let lookup = try outbox.statement("SELECT \(EnterpriseRow.selectList) FROM enterprises WHERE credit_code = ?1")
        defer { lookup.reset() }
        try lookup.bind(creditCode)
        guard try lookup.step() else { return nil }
        return try EnterpriseRow.read(lookup)
    }

    public func enterprises(creditCodes: some Collection<String>) throws -> [String: Enterprise] {
        try outbox.readTransaction {
            var found: [String: Enterprise] = [:]
            found.reserveCapacity(creditCodes.count)
            for code in creditCodes where found[code] == nil {
                if let enterprise = try enterprise(creditCode: code) { found[code] = enterprise }
            }
            return found
        }
    }

    public func enterpriseCount() throws -> Int {
        Int(try connection.query("SELECT count(*) FROM enterprises").int64(0, 0))
    }

    public func forEachEnterprise(_ body: (Enterprise) throws -> Void) throws {
        // One snapshot, read a batch at a time: the registry may hold millions.
        try connection.readTransaction {
            let select = try connection.scan("SELECT \(EnterpriseRow.selectList) FROM enterprises ORDER BY credit_code")
            defer { select.reset() }
            while try select.step() {
                try body(try EnterpriseRow.read(select))
            }
        }
    }

    /// Runs an operator's write (a campaign created, decided, paused…, a suppression) so that its
    /// transaction sends `NOTIFY` on ``StoreChanges/channel``: the daemons hear of it when it commits.
    func notifyingDaemons<T>(_ body: () throws -> T) throws -> T {
        if changeChannel == nil { changeChannel = try StoreChanges.channel(on: connection) }
        connection.commitNotification = changeChannel
        defer { connection.commitNotification = nil }
        return try body()
    }

    /// The current UTC time as ISO 8601 with milliseconds, from the server's clock, as SQLite's
    /// store stamps imports.
    private func timestamp() throws -> String {
        try connection.query(
            #"SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"#
        ).text(0, 0) ?? ""
    }
}

@available(*, unavailable, message: "a store owns a PostgreSQL connection; keep it on one thread")
extension PostgresStore: Sendable {}
