internal import CSQLite

/// One open SQLite database handle, configured the way every PolicyPush connection is.
///
/// - Important: Not thread-safe (opened with `SQLITE_OPEN_NOMUTEX`). A connection and its
///   statements live and die on the thread or actor that owns them.
final class SQLiteConnection {
    /// How long a writer waits for another connection's lock before failing with `.busy`.
    static let busyTimeoutMilliseconds: Int32 = 5000

    let path: String
    let handle: OpaquePointer

    /// Library-wide settings, made once before the first connection opens (SQLite takes them only
    /// before it initializes): no memory statistics, whose global mutex around every allocation
    /// was 5 % of the group-commit writer's CPU. Nothing here reads them.
    private static let configureLibrary: Void = { _ = csqlite_disable_memstatus() }()

    /// Opens (or, unless `readOnly`, creates) the database at `path` in WAL mode.
    init(path: String, readOnly: Bool) throws {
        _ = Self.configureLibrary
        self.path = path
        let flags =
            (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
            | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        var opened: OpaquePointer?
        let rc = sqlite3_open_v2(path, &opened, flags, nil)
        guard let opened else {
            throw StorageError(
                code: .cantOpen, message: "sqlite3_open_v2 could not allocate a connection for \(path)",
                sqliteCode: rc)
        }
        guard rc == SQLITE_OK else {
            let message = String(cString: sqlite3_errmsg(opened))
            sqlite3_close_v2(opened)
            throw StorageError(
                code: StorageError.Code(sqliteResultCode: rc), message: "cannot open \(path): \(message)",
                sqliteCode: rc)
        }
        handle = opened
        // From here on deinit closes the handle, whatever fails below.
        try check(sqlite3_extended_result_codes(handle, 1), sql: nil)
        try check(sqlite3_busy_timeout(handle, Self.busyTimeoutMilliseconds), sql: nil)
        try execute("PRAGMA foreign_keys = ON")
        if !readOnly {
            let mode = try scalarText("PRAGMA journal_mode = WAL")
            guard mode?.lowercased() == "wal" else {
                throw StorageError(
                    code: .journalMode, message: "journal_mode is \(mode ?? "unknown"), expected wal",
                    sql: "PRAGMA journal_mode = WAL")
            }
            // NORMAL is durable across application crashes in WAL mode; only a power loss may
            // lose the last transactions, never corrupt the file.
            try execute("PRAGMA synchronous = NORMAL")
        }
    }

    deinit {
        // close_v2 defers the close until the last statement is finalized.
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements that return no rows of interest.
    func execute(_ sql: String) throws {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        defer { sqlite3_free(errorMessage) }
        guard rc == SQLITE_OK else {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            throw StorageError(
                code: StorageError.Code(sqliteResultCode: rc), message: message, sqliteCode: rc, sql: sql)
        }
    }

    /// Compiles `sql` into a statement to bind, step and reset repeatedly.
    ///
    /// `persistent` tells SQLite the statement will be reused many times (an import, a cached
    /// lookup), so it allocates it outside the lookaside pool meant for short-lived ones.
    func prepare(_ sql: String, persistent: Bool = false) throws -> Statement {
        var statement: OpaquePointer?
        let flags = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        let rc = sqlite3_prepare_v3(handle, sql, -1, flags, &statement, nil)
        try check(rc, sql: sql)
        guard let statement else {
            throw StorageError(code: .sqlite, message: "statement contains no SQL", sql: sql)
        }
        return Statement(connection: self, handle: statement, sql: sql)
    }

    /// The first column of the first row, as an integer; `nil` when there is no row or it is NULL.
    func scalarInt(_ sql: String) throws -> Int64? {
        let statement = try prepare(sql)
        guard try statement.step(), !statement.isNull(0) else { return nil }
        return statement.int64(0)
    }

    /// The first column of the first row, as text; `nil` when there is no row or it is NULL.
    func scalarText(_ sql: String) throws -> String? {
        let statement = try prepare(sql)
        guard try statement.step() else { return nil }
        return statement.text(0)
    }

    /// Runs `body` in a `BEGIN IMMEDIATE … COMMIT` transaction, rolling back if anything throws.
    ///
    /// IMMEDIATE takes the write lock up front, so a concurrent writer waits in the busy
    /// handler instead of failing with `SQLITE_BUSY_SNAPSHOT` when it upgrades a read.
    func immediateTransaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            // Some errors (SQLITE_FULL, SQLITE_IOERR) roll back by themselves. If ROLLBACK
            // fails too, the original error is still the one to report.
            if sqlite3_get_autocommit(handle) == 0 {
                _ = try? execute("ROLLBACK")
            }
            throw error
        }
    }

    /// Rows changed by the most recent INSERT, UPDATE or DELETE.
    var changes: Int { Int(sqlite3_changes64(handle)) }

    /// The rowid of the most recent successful INSERT.
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Throws the connection's current error unless `rc` is `SQLITE_OK`.
    func check(_ rc: Int32, sql: String?) throws {
        guard rc != SQLITE_OK else { return }
        throw error(rc, sql: sql)
    }

    func error(_ rc: Int32, sql: String?) -> StorageError {
        StorageError(
            code: StorageError.Code(sqliteResultCode: rc), message: String(cString: sqlite3_errmsg(handle)),
            sqliteCode: rc, sql: sql)
    }
}

@available(*, unavailable, message: "a SQLite connection lives on its owner's thread")
extension SQLiteConnection: Sendable {}
