internal import CPostgreSQL

extension PGConnection: SQLDatabase {
    var dialect: SQLDialect { .postgres }

    /// A cursor over the statement prepared (once per connection) for `sql` translated by ``PGDialect``.
    func cursor(_ sql: String) throws -> PGCursor {
        PGCursor(connection: self, statement: try prepare(PGDialect.translate(sql)))
    }

    /// `SERIALIZABLE`, re-run on a serialization failure: writers behave as if one at a time, as
    /// SQLite's `BEGIN IMMEDIATE` makes them.
    func writeTransaction<T>(_ body: () throws -> T) throws -> T {
        try transaction(.serializable, body)
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
    private unowned let connection: PGConnection
    private let statement: PGStatement
    private var values: [any SQLBindable] = []
    private var result: PGResult?
    private var row = -1

    init(connection: PGConnection, statement: PGStatement) {
        self.connection = connection
        self.statement = statement
    }

    var sql: String { statement.sql }

    func bind(contentsOf values: [any SQLBindable]) throws {
        reset()
        self.values = values
    }

    @discardableResult
    func step() throws -> Bool {
        if result == nil {
            let ran = try statement.query(values: values)
            connection.changes = ran.changes
            result = ran
        }
        row += 1
        return row < (result?.rowCount ?? 0)
    }

    func reset() {
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
