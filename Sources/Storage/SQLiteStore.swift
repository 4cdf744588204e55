import Registry

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Musl)
    internal import Musl
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// The embedded enterprise store: one SQLite database file in WAL mode.
///
/// The CLI and the daemon each open their own store on the same file (through `Store.open`); SQLite's locking
/// lets one write while others read. Opening migrates the schema to the version this code
/// knows, and fails with `StorageError.Code.schemaTooNew` on a file from a newer PolicyPush.
///
/// - Important: Not `Sendable`. Create, use and drop a store on one thread (or one actor
///   with a dedicated executor); queries block while SQLite works.
public final class SQLiteStore: PolicyPushStore {
    /// The schema version this code creates and understands.
    public static var latestSchemaVersion: Int { Migration.latestVersion }

    /// The schema version of the open database (`PRAGMA user_version`).
    public let schemaVersion: Int

    /// The page cache an import may grow to, in KiB (SQLite's negative `cache_size` unit).
    ///
    /// Import files are rarely in credit-code order, so upserts touch B-tree pages at random;
    /// with SQLite's 2 MiB default, dirty pages spill to the WAL and are rewritten over and
    /// over, and a re-import of 1,000,000 shuffled rows runs a third slower. It is a ceiling,
    /// not an allocation, and the cache shrinks back when the import ends.
    static let importCacheKiB = 256 * 1024

    let connection: SQLiteConnection
    private var lookupStatement: Statement?
    /// The outbox's statements on this store's connection (`SQLiteStore+Outbox.swift`).
    lazy var outbox = OutboxSQL(connection: connection)

    /// Opens the database at `path`, creating it and its parent directory (mode 0700) if
    /// missing, and migrating it to `latestSchemaVersion`.
    ///
    /// A `readOnly` store neither creates nor migrates; it requires the current schema.
    public init(path: String, readOnly: Bool = false) throws {
        if !readOnly { try Self.createParentDirectory(of: path) }
        connection = try SQLiteConnection(path: path, readOnly: readOnly)
        schemaVersion = try Migration.migrate(connection, readOnly: readOnly)
    }

    public func importEnterprises(
        file: String, replace: Bool,
        _ produce: (_ sink: ([Enterprise]) throws -> Void) throws -> RejectedRows
    ) throws -> ImportCounts {
        let defaultCache = try connection.scalarInt("PRAGMA cache_size") ?? -2000
        try connection.execute("PRAGMA cache_size = -\(Self.importCacheKiB)")
        // Only memory is at stake if this fails; the import's own outcome is what counts.
        defer { _ = try? connection.execute("PRAGMA cache_size = \(defaultCache)") }
        return try connection.immediateTransaction {
            let now = try timestamp()
            let startRun = try connection.prepare("INSERT INTO import_runs (file, started_at) VALUES (?1, ?2)")
            try startRun.run(file, now)
            let run = connection.lastInsertRowID

            var writer = try EnterpriseWriter(connection: connection, run: run, timestamp: now)
            let rejected = try produce { batch in
                for enterprise in batch { try writer.upsert(enterprise) }
            }
            var counts = writer.counts
            if replace {
                let keep = try connection.prepare("UPDATE enterprises SET import_run = ?1 WHERE credit_code = ?2")
                for code in rejected.creditCodes {
                    try keep.run(run, code)
                }
                let remove = try connection.prepare("DELETE FROM enterprises WHERE import_run <> ?1")
                try remove.run(run)
                counts.removed = connection.changes
            }

            let finishRun = try connection.prepare(
                """
                UPDATE import_runs
                SET finished_at = ?2, inserted = ?3, updated = ?4, unchanged = ?5, rejected = ?6, removed = ?7
                WHERE id = ?1
                """)
            try finishRun.run(
                run, try timestamp(), counts.inserted, counts.updated, counts.unchanged, rejected.count, counts.removed)
            return counts
        }
    }

    public func enterprise(creditCode: String) throws -> Enterprise? {
        let statement: Statement
        if let lookupStatement {
            statement = lookupStatement
        } else {
            statement = try connection.prepare(
                "SELECT \(EnterpriseRow.selectList) FROM enterprises WHERE credit_code = ?1", persistent: true)
            lookupStatement = statement
        }
        defer { statement.reset() }
        try statement.bind(creditCode)
        guard try statement.step() else { return nil }
        return try EnterpriseRow.read(statement)
    }

    public func enterprises(creditCodes: some Collection<String>) throws -> [String: Enterprise] {
        // One read transaction, the lookup statement reused: one index probe per code.
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
        Int(try connection.scalarInt("SELECT count(*) FROM enterprises") ?? 0)
    }

    public func forEachEnterprise(_ body: (Enterprise) throws -> Void) throws {
        // One statement is one read transaction: the rows come from a single snapshot even
        // while another connection imports.
        let statement = try connection.prepare(
            "SELECT \(EnterpriseRow.selectList) FROM enterprises ORDER BY credit_code")
        while try statement.step() {
            try body(try EnterpriseRow.read(statement))
        }
    }

    /// The current UTC time as ISO 8601 with milliseconds, from SQLite's clock.
    private func timestamp() throws -> String {
        try connection.scalarText("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')") ?? ""
    }

    private static func createParentDirectory(of path: String) throws {
        guard path != ":memory:", let slash = path.lastIndex(of: "/") else { return }
        let parent = String(path[..<slash])
        guard !parent.isEmpty else { return }
        var prefix = parent.hasPrefix("/") ? "/" : ""
        for component in parent.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST {
                let reason = String(cString: strerror(errno))
                throw StorageError(code: .cantOpen, message: "cannot create directory \(prefix): \(reason)")
            }
            prefix += "/"
        }
    }
}

@available(*, unavailable, message: "a store owns a SQLite connection; keep it on one thread or actor")
extension SQLiteStore: Sendable {}
