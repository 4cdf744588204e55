internal import CPostgreSQL

#if canImport(Glibc)
    internal import Glibc
#endif

/// One connection to a PostgreSQL server, through libpq, with a synchronous API.
///
/// Parameters bind as the SQLite store binds them (``SQLBindable``): integers, reals and text go
/// as text, byte arrays in binary (so a 0x00 survives), `nil` as NULL, a `Date` as milliseconds.
/// Statements prepared with ``prepare(_:)`` are kept for the connection's life, one per SQL text.
///
/// - Important: Every call blocks on the network. Use a connection from one dedicated thread
///   (as ``StoreWorker`` does for SQLite), never from the cooperative pool; it is not `Sendable`.
final class PGConnection {
    /// Where the connection goes, without secrets when described.
    let target: PGConnectionString
    let handle: OpaquePointer
    /// Prepared statements by SQL text.
    private var statements: [String: PGStatement] = [:]
    /// Rows changed by the last statement a ``PGCursor`` ran (``SQLDatabase/changes``).
    var changes = 0
    /// Scans made so far, to name each one's server-side cursor.
    var scans = 0
    /// A channel every transaction committed while it is set notifies (``transaction(_:attempts:_:)``
    /// sends the `NOTIFY` just before `COMMIT`, so listeners hear of the write once it is visible).
    var commitNotification: String?

    /// Connects to `target`, failing with `.cantOpen` and libpq's reason.
    ///
    /// The client encoding is always UTF-8, a missing `connect_timeout` is 10 s, and a missing
    /// `application_name` is `policypush`, so the server's `pg_stat_activity` names us.
    init(_ target: PGConnectionString) throws {
        self.target = target
        var overrides = ["client_encoding": "UTF8"]
        if target["connect_timeout"] == nil { overrides["connect_timeout"] = "10" }
        if target["application_name"] == nil { overrides["application_name"] = "policypush" }
        let options = target.with(overrides)
        // NULL-terminated arrays of C strings, freed once libpq has read them.
        let keys: [UnsafePointer<CChar>?] = options.map { UnsafePointer(strdup($0.key)) } + [nil]
        let values: [UnsafePointer<CChar>?] = options.map { UnsafePointer(strdup($0.value)) } + [nil]
        defer {
            for string in keys + values { free(UnsafeMutablePointer(mutating: string)) }
        }
        let connection = PQconnectdbParams(keys, values, 0)
        guard let connection else {
            throw StorageError(code: .cantOpen, message: "cannot connect to \(target): out of memory")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let reason = String(cString: PQerrorMessage(connection)).singleLine
            PQfinish(connection)
            throw StorageError(code: .cantOpen, message: "cannot connect to \(target): \(reason)")
        }
        handle = connection
        cpostgresql_discard_notices(handle)
    }

    /// Connects to a `postgres://` URL or a libpq `key=value` string.
    convenience init(_ connectionString: String) throws {
        try self.init(PGConnectionString(connectionString))
    }

    deinit {
        PQfinish(handle)
    }

    /// Runs one or more statements without parameters (the simple query protocol): DDL, `SET`,
    /// `BEGIN`. Rows they return are discarded.
    func execute(_ sql: String) throws {
        _ = try check(PQexec(handle, sql), sql: sql)
    }

    /// Runs one statement with `values` bound to `$1`, `$2`, …, unprepared.
    ///
    /// Each value's type is left for the server to infer from the SQL, except a byte array's,
    /// which is `bytea`.
    @discardableResult
    func query(_ sql: String, _ values: any SQLBindable...) throws -> PGResult {
        try query(sql, values: values)
    }

    /// Runs one statement with `values`, as the variadic `query` does.
    @discardableResult
    func query(_ sql: String, values: [any SQLBindable]) throws -> PGResult {
        let parameters = try PGParameters(values, sql: sql)
        let result = parameters.withPointers { values, lengths, formats in
            let types = parameters.types
            return PQexecParams(handle, sql, Int32(parameters.count), types, values, lengths, formats, 0)
        }
        return try check(result, sql: sql)
    }

    /// The prepared statement for `sql`, prepared on the server the first time it is asked for.
    func prepare(_ sql: String) throws -> PGStatement {
        if let statement = statements[sql] { return statement }
        let name = "policypush_\(statements.count + 1)"
        _ = try check(PQprepare(handle, name, sql, 0, nil), sql: sql)
        let statement = PGStatement(connection: self, name: name, sql: sql)
        statements[sql] = statement
        return statement
    }

    /// Whether a transaction is open (or aborted and waiting for `ROLLBACK`).
    var inTransaction: Bool {
        PQtransactionStatus(handle) != PQTRANS_IDLE
    }

    /// Takes ownership of `result`: returns it when it succeeded, or throws its error (clearing it).
    func check(_ result: OpaquePointer?, sql: String?) throws -> PGResult {
        guard let result else {
            throw connectionError(sql: sql)
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY, PGRES_COPY_IN:
            return PGResult(result)
        default:
            defer { PQclear(result) }
            var error = Self.error(result, sql: sql)
            // libpq reports a lost connection as a failed result without a SQLSTATE.
            if error.sqlState == nil, PQstatus(handle) == CONNECTION_BAD {
                error.code = .cantOpen
                error.message = "\(target): \(error.message)"
            }
            throw error
        }
    }

    /// The error of a failed result: SQLSTATE, the primary message and the constraint, never the
    /// detail (a unique violation's detail quotes the key, which may be a phone number).
    static func error(_ result: OpaquePointer, sql: String?) -> StorageError {
        let state = cpostgresql_sqlstate(result).map { String(cString: $0) }
        var message =
            cpostgresql_primary_message(result).map { String(cString: $0) }
            ?? String(cString: PQresultErrorMessage(result)).singleLine
        if let constraint = cpostgresql_constraint_name(result), !message.contains(String(cString: constraint)) {
            message += " (constraint \(String(cString: constraint)))"
        }
        return StorageError(
            code: StorageError.Code(sqlState: state), message: message, sql: sql, sqlState: state)
    }

    /// The connection's own error (libpq returned no result, or the socket failed).
    func connectionError(sql: String?) -> StorageError {
        let reason = String(cString: PQerrorMessage(handle)).singleLine
        let code: StorageError.Code = PQstatus(handle) == CONNECTION_BAD ? .cantOpen : .postgres
        return StorageError(code: code, message: "\(target): \(reason)", sql: sql)
    }
}

@available(*, unavailable, message: "a PostgreSQL connection lives on its owner's thread")
extension PGConnection: Sendable {}

/// A statement prepared on the server, run again and again with new values.
///
/// - Important: Belongs to its connection's thread, like the connection.
final class PGStatement {
    let sql: String
    let name: String
    private unowned let connection: PGConnection  // the connection keeps its statements

    init(connection: PGConnection, name: String, sql: String) {
        self.connection = connection
        self.name = name
        self.sql = sql
    }

    /// Runs the statement with `values` bound to `$1`, `$2`, …, and returns its rows.
    @discardableResult
    func query(_ values: any SQLBindable...) throws -> PGResult {
        try query(values: values)
    }

    /// Runs the statement with `values`, as the variadic `query` does.
    ///
    /// Labelled so that a `[UInt8]`, bound as one `bytea`, cannot be taken for a list of values.
    @discardableResult
    func query(values: [any SQLBindable]) throws -> PGResult {
        let parameters = try PGParameters(values, sql: sql)
        let result = parameters.withPointers { values, lengths, formats in
            PQexecPrepared(connection.handle, name, Int32(parameters.count), values, lengths, formats, 0)
        }
        return try connection.check(result, sql: sql)
    }

    /// Runs the statement and returns how many rows it inserted, updated or deleted.
    @discardableResult
    func run(_ values: any SQLBindable...) throws -> Int {
        try query(values: values).changes
    }
}

@available(*, unavailable, message: "a prepared statement lives on its connection's thread")
extension PGStatement: Sendable {}

extension StorageError.Code {
    /// The code for a PostgreSQL SQLSTATE; `nil` is an error libpq raised itself.
    init(sqlState: String?) {
        guard let sqlState else {
            self = .postgres
            return
        }
        switch sqlState {
        case "40001", "40P01": self = .conflict
        case "55P03": self = .busy
        case "53100": self = .full
        case "25006": self = .readOnly
        case "57P01", "57P02", "57P03": self = .cantOpen
        // A protocol violation (say, a statement given the wrong number of values) is a bug of ours,
        // not a lost connection: the connection goes on.
        case "08P01": self = .postgres
        case _ where sqlState.hasPrefix("23"): self = .constraint
        case _ where sqlState.hasPrefix("08"): self = .cantOpen
        default: self = .postgres
        }
    }
}
