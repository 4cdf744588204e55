internal import CSQLite

/// A prepared statement, compiled once and reused with fresh bindings.
///
/// Parameter and column indexes follow SQLite: parameters count from 1, columns from 0.
///
/// - Important: Belongs to its connection's thread, like the connection.
final class Statement {
    let sql: String
    private let connection: SQLiteConnection  // kept alive until the statement is finalized
    private let handle: OpaquePointer

    init(connection: SQLiteConnection, handle: OpaquePointer, sql: String) {
        self.connection = connection
        self.handle = handle
        self.sql = sql
    }

    deinit {
        sqlite3_finalize(handle)
    }

    /// Makes the statement ready to run again with new bindings.
    ///
    /// `sqlite3_reset` repeats the error of a failed step; that error was thrown by `step`, so
    /// only the reset itself matters here, and it cannot fail otherwise.
    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Binds `values` to parameters `1...values.count`, after a reset that clears the previous
    /// bindings.
    ///
    /// The SQL numbers its parameters (`?1`, `?2`, …); the values come in that order, and a
    /// number may appear more than once in the SQL while its value is passed once.
    func bind(_ values: any SQLBindable...) throws {
        try bind(contentsOf: values)
    }

    /// Binds `values` to parameters `1...values.count`, as the variadic `bind` does.
    ///
    /// Labelled so that a `[UInt8]`, bound as one blob, cannot be taken for a list of values.
    func bind(contentsOf values: [any SQLBindable]) throws {
        reset()
        for (offset, value) in values.enumerated() {
            try bind(value.sqliteValue, at: Int32(offset + 1))
        }
    }

    /// Binds the values as `bind` does, runs the statement to completion and resets it.
    func run(_ first: any SQLBindable, _ rest: any SQLBindable...) throws {
        try bind(contentsOf: [first] + rest)
        try run()
    }

    /// Binds one value to parameter `index`, leaving the others as they are.
    func bind(_ value: SQLiteValue, at index: Int32) throws {
        let rc: Int32
        switch value {
        case .null:
            rc = sqlite3_bind_null(handle, index)
        case .integer(let value):
            rc = sqlite3_bind_int64(handle, index, value)
        case .real(let value):
            rc = sqlite3_bind_double(handle, index, value)
        case .text(let value):
            // The implicit bridge passes the String's NUL-terminated UTF-8; the explicit length
            // keeps any embedded NUL. TRANSIENT makes SQLite copy before the bridge buffer goes.
            rc = sqlite3_bind_text(handle, index, value, Int32(value.utf8.count), csqlite_transient())
        case .blob(let value):
            // An empty array may have no storage, and a NULL pointer would bind SQL NULL.
            rc =
                value.isEmpty
                ? sqlite3_bind_zeroblob(handle, index, 0)
                : value.withUnsafeBytes {
                    sqlite3_bind_blob64(handle, index, $0.baseAddress, UInt64($0.count), csqlite_transient())
                }
        }
        try connection.check(rc, sql: sql)
    }

    /// Advances to the next row: `true` when a row is available, `false` when done.
    @discardableResult
    func step() throws -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw connection.error(rc, sql: sql)
        }
    }

    /// Runs a statement that returns no rows, then resets it for the next use.
    func run() throws {
        defer { reset() }
        while try step() {}
    }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }

    /// The column as UTF-8 text; `nil` when it is NULL.
    func text(_ column: Int32) -> String? {
        guard let bytes = sqlite3_column_text(handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    /// Calls `body` with the column's UTF-8 bytes, valid only during the call; `nil` when NULL.
    func withText<R>(_ column: Int32, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R? {
        guard let bytes = sqlite3_column_text(handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        return try body(UnsafeBufferPointer(start: bytes, count: count))
    }

    /// The column's bytes; empty when it is NULL or an empty blob.
    func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let bytes = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }

    func optionalInt64(_ column: Int32) -> Int64? { isNull(column) ? nil : int64(column) }

    func optionalDouble(_ column: Int32) -> Double? { isNull(column) ? nil : double(column) }
}

@available(*, unavailable, message: "a prepared statement lives on its connection's thread")
extension Statement: Sendable {}
