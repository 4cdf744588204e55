/// What the store's SQL needs of a database connection, so that the same statements (``OutboxSQL``)
/// run on SQLite and on PostgreSQL.
///
/// The SQL is written once, in SQLite's dialect where the two agree; a PostgreSQL connection
/// translates it when it prepares it (``PGDialect``), and the few statements that cannot be said
/// the same way on both ask ``dialect``. The store code is generic over the connection, so the
/// SQLite build is specialized and pays nothing for the abstraction.
///
/// - Important: A connection and its cursors belong to their owner's thread.
protocol SQLDatabase: AnyObject {
    associatedtype Cursor: SQLCursor

    /// Which SQL the server speaks, for the statements written twice.
    var dialect: SQLDialect { get }

    /// A statement for `sql` (SQLite's dialect, `?N` parameters), to bind, step and reset again and again.
    func cursor(_ sql: String) throws -> Cursor

    /// A statement whose rows may be many (a whole campaign, the whole registry), not cached: SQLite
    /// steps through them as it reads them; PostgreSQL fetches them in batches through a server-side
    /// cursor, so the scan must run inside a transaction (``readTransaction(_:)``).
    func scan(_ sql: String) throws -> Cursor

    /// Runs statements without parameters whose rows are of no interest.
    func execute(_ sql: String) throws

    /// Rows inserted, updated or deleted by the most recent statement run through a cursor.
    var changes: Int { get }

    /// Runs `body` in a write transaction that no other writer interleaves with: SQLite's
    /// `BEGIN IMMEDIATE`, PostgreSQL's `SERIALIZABLE` (re-run on a serialization failure, so `body`
    /// must only touch the database and values it returns).
    func writeTransaction<T>(_ body: () throws -> T) throws -> T

    /// Runs `body` in a write transaction whose statements lock only the rows they change or select
    /// `FOR UPDATE`, for writes that several nodes make at once to rows of their own (claims,
    /// heartbeats): SQLite's `BEGIN IMMEDIATE` (one writer at a time anyway), PostgreSQL's
    /// `READ COMMITTED`.
    ///
    /// At `SERIALIZABLE`, two nodes claiming from the same index range abort each other (each read
    /// what the other wrote) and re-run again and again; at `READ COMMITTED`, `FOR UPDATE SKIP LOCKED`
    /// is what keeps them apart: a row another transaction has locked is skipped, and a row it
    /// changed and committed since this statement's snapshot is checked again against the `WHERE`
    /// (a message claimed meanwhile is no longer due). So `body` must lock what it decides on.
    func rowLockingTransaction<T>(_ body: () throws -> T) throws -> T

    /// Runs `body` in one read transaction, so every query sees the same snapshot.
    func readTransaction<T>(_ body: () throws -> T) throws -> T

    /// A number that changes when another connection commits a write (it may change more often).
    func dataVersion() throws -> Int64
}

/// The SQL dialect a ``SQLDatabase`` speaks.
enum SQLDialect: Sendable {
    case sqlite
    case postgres
}

/// A prepared statement with a cursor over its rows, as SQLite's ``Statement`` works: bind, step
/// row by row, read columns of the current row, reset.
///
/// Parameters count from 1, columns from 0. The getters throw where a backend may find a value
/// not of the type asked for (PostgreSQL's rows are text); SQLite's never do.
protocol SQLCursor: AnyObject {
    /// The SQL the statement was prepared from, for errors.
    var sql: String { get }

    /// Binds `values` to parameters `1...values.count` after clearing the previous bindings.
    func bind(contentsOf values: [any SQLBindable]) throws

    /// Advances to the next row: `true` when a row is available, `false` when done.
    @discardableResult
    func step() throws -> Bool

    /// Makes the statement ready to run again with new bindings.
    func reset()

    func isNull(_ column: Int32) -> Bool
    func int64(_ column: Int32) throws -> Int64
    func double(_ column: Int32) throws -> Double
    /// The column as text; `nil` when it is NULL.
    func text(_ column: Int32) -> String?
    /// Calls `body` with the column's UTF-8 bytes, valid only during the call; `nil` when NULL.
    func withText<R>(_ column: Int32, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R?
    /// The column's bytes; empty when it is NULL or empty.
    func blob(_ column: Int32) throws -> [UInt8]
}

extension SQLCursor {
    /// Binds `values` to parameters `1...values.count`; see ``bind(contentsOf:)``.
    func bind(_ values: any SQLBindable...) throws {
        try bind(contentsOf: values)
    }

    /// Runs a statement that returns no rows of interest, then resets it for the next use.
    func run() throws {
        defer { reset() }
        while try step() {}
    }

    /// Binds the values as `bind` does, runs the statement to completion and resets it.
    func run(_ first: any SQLBindable, _ rest: any SQLBindable...) throws {
        try bind(contentsOf: [first] + rest)
        try run()
    }

    func optionalInt64(_ column: Int32) throws -> Int64? { isNull(column) ? nil : try int64(column) }

    func optionalDouble(_ column: Int32) throws -> Double? { isNull(column) ? nil : try double(column) }
}
