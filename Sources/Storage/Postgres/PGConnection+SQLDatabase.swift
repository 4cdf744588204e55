internal import CPostgreSQL

extension PGConnection: SQLDatabase {
    var dialect: SQLDialect { .postgres }

    /// A cursor over the statement prepared (once per connection) for `sql` translated by ``PGDialect``.
    func cursor(_ sql: String) throws -> PGCursor {
        PGCursor(connection: self, source: .prepared(try prepare(PGDialect.translate(sql))))
    }

    /// A cursor that declares a server-side cursor for `sql` on its first step and fetches its rows
    /// ``PGCursor/fetchBatch`` at a time, so a scan of millions holds one batch in memory.
    func scan(_ sql: String) throws -> PGCursor {
        scans += 1
        return PGCursor(
            connection: self, source: .scan(sql: PGDialect.translate(sql), name: "policypush_scan_\(scans)"))
    }

    /// `SERIALIZABLE`, re-run on a serialization failure: writers behave as if one at a time, as
    /// SQLite's `BEGIN IMMEDIATE` makes them.
    func writeTransaction<T>(_ body: () throws -> T) throws -> T {
        try transaction(.serializable, body)
    }

    /// `READ COMMITTED` (see ``SQLDatabase/rowLockingTransaction(_:)``); a deadlock is still re-run.
    func rowLockingTransaction<T>(_ body: () throws -> T) throws -> T {
        try transaction(.readCommitted, body)
    }

    /// `REPEATABLE READ`: one snapshot for the whole transaction, as a SQLite read transaction has.
    func readTransaction<T>(_ body: () throws -> T) throws -> T {
        try transaction(.repeatableRead, body)
    }

    /// The server's write-ahead log insert position: it moves with every write on the cluster
    /// (ours and other databases' too, so more often than SQLite's `data_version`).
    func dataVersion() throws -> Int64 {
        try query("SELECT (pg_current_wal_insert_lsn() - '0/0')::bigint").int64(0, 0)
    }
}

/// A prepared statement read row by row, as SQLite's ``Statement`` is: the first `step` runs it
/// with the bound values and keeps its rows; the following steps move through them.
///
/// - Important: Belongs to its connection's thread, like the connection.
final class PGCursor: SQLCursor {
    /// Rows a scan fetches at a time.
    static let fetchBatch = 1000

    /// Where the rows come from: a prepared statement run at the first step, or a server-side
    /// cursor (`DECLARE … CURSOR`) fetched from batch by batch.
    enum Source {
        case prepared(PGStatement)
        case scan(sql: String, name: String)
    }

    private unowned let connection: PGConnection
    private let source: Source
    private var values: [any SQLBindable] = []
    private var result: PGResult?
    private var row = -1
    /// Whether the scan's server-side cursor is declared and may have rows left to fetch.
    private var scanOpen = false

    init(connection: PGConnection, source: Source) {
        self.connection = connection
        self.source = source
    }

    var sql: String {
        switch source {
        case .prepared(let statement): statement.sql
        case .scan(let sql, _): sql
        }
    }

    func bind(contentsOf values: [any SQLBindable]) throws {
        reset()
        self.values = values
    }

    @discardableResult
    func step() throws -> Bool {
        switch source {
        case .prepared(let statement):
            if result == nil {
                let ran = try statement.query(values: values)
                connection.changes = ran.changes
                result = ran
            }
        case .scan(let sql, let name):
            if result == nil {
                try connection.query("DECLARE \(name) NO SCROLL CURSOR FOR \(sql)", values: values)
                scanOpen = true
                result = try fetch(name)
            } else if let current = result, row + 1 >= current.rowCount, scanOpen {
                result = try fetch(name)
                row = -1
            }
        }
        row += 1
        return row < (result?.rowCount ?? 0)
    }

    /// The next batch of the scan's rows; a short batch is the last.
    private func fetch(_ name: String) throws -> PGResult {
        let batch = try connection.query("FETCH \(Self.fetchBatch) FROM \(name)")
        if batch.rowCount < Self.fetchBatch {
            scanOpen = false
            try connection.execute("CLOSE \(name)")
        }
        return batch
    }

    func reset() {
        // A scan left before its end is closed, so the cursor's name can be declared again; if the
        // transaction already ended, the server closed it and there is nothing to do.
        if scanOpen, case .scan(_, let name) = source, connection.inTransaction {
            _ = try? connection.execute("CLOSE \(name)")
        }
        scanOpen = false
        result = nil
        row = -1
    }

    /// The current row's result; reading a column before a row was stepped to is a bug of ours.
    private var current: PGResult? {
        guard let result, row >= 0, row < result.rowCount else { return nil }
        return result
    }

    func isNull(_ column: Int32) -> Bool {
        current?.isNull(row, Int(column)) ?? true
    }

    /// The column as an integer, as SQLite's `sqlite3_column_int64` gives it: 0 for NULL (a `sum`
    /// over no rows), 1 or 0 for a boolean (a comparison in a select list).
    func int64(_ column: Int32) throws -> Int64 {
        let result = try rowResult()
        guard !result.isNull(row, Int(column)) else { return 0 }
        if PQftype(result.handle, column) == Self.booleanOID { return result.text(row, Int(column)) == "t" ? 1 : 0 }
        return try result.int64(row, Int(column))
    }

    /// The column as a double; 0 for NULL, as SQLite's `sqlite3_column_double` gives it.
    func double(_ column: Int32) throws -> Double {
        let result = try rowResult()
        guard !result.isNull(row, Int(column)) else { return 0 }
        return try result.double(row, Int(column))
    }

    /// The `boolean` type's OID.
    private static let booleanOID: Oid = 16

    func text(_ column: Int32) -> String? {
        current?.text(row, Int(column))
    }

    func withText<R>(_ column: Int32, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R? {
        guard let current, !current.isNull(row, Int(column)) else { return nil }
        var text = current.text(row, Int(column)) ?? ""
        return try text.withUTF8(body)
    }

    func blob(_ column: Int32) throws -> [UInt8] {
        try rowResult().bytes(row, Int(column)) ?? []
    }

    private func rowResult() throws -> PGResult {
        guard let current else {
            throw StorageError(code: .postgres, message: "a column was read with no current row", sql: sql)
        }
        return current
    }
}

@available(*, unavailable, message: "a cursor lives on its connection's thread")
extension PGCursor: Sendable {}
