internal import CSQLite

/// A failure of the enterprise store.
///
/// `description` is short and payload-free, fit for a log field or a metric label; the
/// message, the SQLite result code or PostgreSQL SQLSTATE and the SQL that failed are kept for
/// diagnosis.
public struct StorageError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is; new codes can be added without breaking callers.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }

        /// Another connection held the lock for longer than the busy timeout.
        public static let busy = Code("busy")
        /// A constraint (NOT NULL, CHECK, primary or foreign key) rejected a write.
        public static let constraint = Code("constraint")
        /// The database file or its directory could not be opened or created, or the database server
        /// could not be reached (or the connection to it was lost).
        public static let cantOpen = Code("cant_open")
        /// A write was attempted on a read-only store or file.
        public static let readOnly = Code("read_only")
        /// The file is not a database or is damaged, or a stored value cannot be decoded.
        public static let corrupt = Code("corrupt")
        /// The disk is full.
        public static let full = Code("full")
        /// The database was written by a newer PolicyPush than this one.
        public static let schemaTooNew = Code("schema_too_new")
        /// A read-only store found a schema older than this code; open it read-write once to migrate.
        public static let schemaOutdated = Code("schema_outdated")
        /// The database refused write-ahead logging.
        public static let journalMode = Code("journal_mode")
        /// The campaign or message named does not exist.
        public static let notFound = Code("not_found")
        /// The state change asked for is not allowed from the current state.
        public static let invalidTransition = Code("invalid_transition")
        /// The operator may not do this: approving or rejecting a campaign they started themselves.
        public static let notPermitted = Code("not_permitted")
        /// A value cannot be stored as given (a list id containing a comma).
        public static let invalidValue = Code("invalid_value")
        /// The writer was closed before the work was submitted.
        public static let closed = Code("closed")
        /// Any other SQLite error.
        public static let sqlite = Code("sqlite")
        /// A concurrent transaction got in the way (PostgreSQL's serialization failure or deadlock):
        /// running the whole transaction again may succeed.
        public static let conflict = Code("conflict")
        /// Any other PostgreSQL error; `sqlState` says which.
        public static let postgres = Code("postgres")

        public var description: String { rawValue }
    }

    public var code: Code
    /// What went wrong, with SQLite's own message when there is one.
    public var message: String
    /// SQLite's extended result code, when SQLite reported the failure.
    public var sqliteCode: Int32?
    /// The statement that failed, when there is one.
    public var sql: String?
    /// PostgreSQL's five-character SQLSTATE (`23505` a unique violation), when PostgreSQL reported
    /// the failure.
    public var sqlState: String?

    public init(code: Code, message: String, sqliteCode: Int32? = nil, sql: String? = nil, sqlState: String? = nil) {
        self.code = code
        self.message = message
        self.sqliteCode = sqliteCode
        self.sql = sql
        self.sqlState = sqlState
    }

    public var description: String { "StorageError.\(code.rawValue)" }
}

extension StorageError.Code {
    /// The code for a SQLite (extended) result code.
    init(sqliteResultCode: Int32) {
        // The low byte of an extended code is its primary code.
        switch sqliteResultCode & 0xff {
        case SQLITE_BUSY, SQLITE_LOCKED: self = .busy
        case SQLITE_CONSTRAINT: self = .constraint
        case SQLITE_CANTOPEN: self = .cantOpen
        case SQLITE_READONLY: self = .readOnly
        case SQLITE_CORRUPT, SQLITE_NOTADB: self = .corrupt
        case SQLITE_FULL: self = .full
        default: self = .sqlite
        }
    }
}
