import Foundation
import Testing

@testable import Storage

/// The backends the store suites run on: each test taking a `StoreBackend` runs once per case.
///
/// PostgreSQL is the private cluster `scripts/test` starts, named by `POLICYPUSH_TEST_PG`; without
/// it the PostgreSQL cases fail, saying how to get one (never skip), unless
/// `POLICYPUSH_TEST_BACKENDS=sqlite` asks for SQLite alone.
enum StoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    static let connectionVariable = "POLICYPUSH_TEST_PG"
    static let selectionVariable = "POLICYPUSH_TEST_BACKENDS"

    /// Every backend, or those `POLICYPUSH_TEST_BACKENDS` (comma-separated) names.
    static var all: [StoreBackend] {
        guard let names = ProcessInfo.processInfo.environment[selectionVariable], !names.isEmpty else {
            return allCases
        }
        return allCases.filter { names.split(separator: ",").contains(Substring($0.rawValue)) }
    }

    var testDescription: String { rawValue }

    struct Missing: Error, CustomStringConvertible {
        var description: String {
            """
            \(StoreBackend.connectionVariable) is not set: run the store tests through scripts/test, start a private \
            cluster first (eval "$(scripts/pg-cluster env /tmp/policypush-pg)"), or set \
            \(StoreBackend.selectionVariable)=sqlite
            """
        }
    }

    static func postgresConnectionString() throws -> String {
        guard let value = ProcessInfo.processInfo.environment[connectionVariable], !value.isEmpty else {
            throw Missing()
        }
        return value
    }
}

/// A fresh, empty store location on one backend, removed when the value is dropped: a SQLite file
/// in a temporary directory, or a PostgreSQL schema of its own (so tests run in parallel on one
/// database without seeing each other's tables).
final class TestDatabase: Sendable {
    let backend: StoreBackend
    /// What `Store.open(url:)` opens: a file path or a connection string.
    let location: String
    let sqliteFile: TemporaryDatabase?
    private let schema: String?
    private let adminConnectionString: String?

    init(_ backend: StoreBackend) throws {
        self.backend = backend
        switch backend {
        case .sqlite:
            let file = try TemporaryDatabase()
            sqliteFile = file
            location = file.path
            schema = nil
            adminConnectionString = nil
        case .postgres:
            let base = try StoreBackend.postgresConnectionString()
            let name = "store_\(UUID().uuidString.lowercased().filter(\.isHexDigit).prefix(16))"
            try PGConnection(base).execute("CREATE SCHEMA \(name)")
            sqliteFile = nil
            schema = name
            adminConnectionString = base
            // libpq passes `options` to the server: every connection of the store works in the schema.
            location =
                base.contains("://")
                ? base + (base.contains("?") ? "&" : "?") + "options=-csearch_path%3D\(name)"
                : base + " options='-csearch_path=\(name)'"
        }
    }

    deinit {
        if let schema, let adminConnectionString {
            _ = try? PGConnection(adminConnectionString).execute("DROP SCHEMA \(schema) CASCADE")
        }
    }

    /// Opens (creating and migrating) the store here.
    func open(readOnly: Bool = false) throws -> any PolicyPushStore {
        try Store.open(url: location, readOnly: readOnly)
    }

    /// Opens the daemon's group-commit writer on the store here.
    func writer(_ configuration: GroupCommitWriter.Configuration = .init()) throws -> GroupCommitWriter {
        switch backend {
        case .sqlite: try GroupCommitWriter(path: location, configuration: configuration)
        case .postgres: try GroupCommitWriter(postgres: location, configuration: configuration)
        }
    }
}

/// Raw SQL on a store's own connection, for tests that look under the protocol: the SQL is SQLite's
/// dialect, translated for PostgreSQL as the store's is.
enum TestSQL {
    static func scalarInt(_ store: any PolicyPushStore, _ sql: String) throws -> Int64? {
        if let sqlite = store as? SQLiteStore { return try sqlite.connection.scalarInt(sql) }
        // Through a cursor, so a boolean reads as 1 or 0 as SQLite gives it.
        let select = try postgres(store).cursor(sql)
        defer { select.reset() }
        guard try select.step(), !select.isNull(0) else { return nil }
        return try select.int64(0)
    }

    static func scalarText(_ store: any PolicyPushStore, _ sql: String) throws -> String? {
        if let sqlite = store as? SQLiteStore { return try sqlite.connection.scalarText(sql) }
        let result = try postgres(store).query(PGDialect.translate(sql))
        return result.rowCount > 0 ? result.text(0, 0) : nil
    }

    static func execute(_ store: any PolicyPushStore, _ sql: String) throws {
        if let sqlite = store as? SQLiteStore { return try sqlite.connection.execute(sql) }
        try postgres(store).execute(PGDialect.translate(sql))
    }

    private static func postgres(_ store: any PolicyPushStore) throws -> PGConnection {
        guard let postgres = store as? PostgresStore else {
            throw StorageError(
                code: .invalidValue, message: "a test store is SQLite or PostgreSQL, not \(type(of: store))")
        }
        return postgres.connection
    }
}
