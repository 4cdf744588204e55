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
    /// Opened read-only: an import, which writes on a connection of its own, is refused up front.
    let readOnly: Bool

    /// The page cache an import may grow to, in KiB (SQLite's negative `cache_size` unit).
    ///
    /// Import files are rarely in credit-code order, so upserts touch B-tree pages at random;
    /// with SQLite's 2 MiB default, dirty pages spill to the WAL and are rewritten over and
    /// over, and a re-import of 1,000,000 shuffled rows runs a third slower. It is a ceiling,
    /// not an allocation, and it goes with the import writer's connection when the import ends.
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
        self.readOnly = readOnly
        connection = try SQLiteConnection(path: path, readOnly: readOnly)
        schemaVersion = try Migration.migrate(connection, readOnly: readOnly)
    }

    /// Parses on the caller's thread while a writer thread of its own upserts into the database on
    /// a connection of its own (``SQLiteImportWriter``); a read-only store refuses.
    ///
    /// The writer's transaction is open before `produce` runs, and this returns only once it has
    /// committed or rolled back.
    public func importEnterprises(
        file: String, replace: Bool,
        _ produce: (_ sink: ([Enterprise]) throws -> Void) throws -> RejectedRows
    ) throws -> ImportCounts {
        guard !readOnly else {
            throw StorageError(code: .readOnly, message: "\(connection.path) is open read-only; an import writes")
        }
        let queue = ImportBatchQueue(capacity: SQLiteImportWriter.queueCapacity)
        SQLiteImportWriter.start(path: connection.path, file: file, replace: replace, queue: queue)
        let rejected: RejectedRows
        do {
            try queue.awaitBegin()
            rejected = try produce { batch in try queue.put(batch) }
        } catch {
            queue.close(.abandoned)
            // When the writer failed first, its error is the cause of the producer's.
            if case .failure(let writerError) = queue.awaitOutcome(), !(writerError is ImportBatchQueue.Abandoned) {
                throw writerError
            }
            throw error
        }
        queue.close(.complete(rejected))
        return try queue.awaitOutcome().get()
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
