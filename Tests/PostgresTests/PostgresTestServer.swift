import Foundation
import Testing

@testable import Storage

/// The PostgreSQL server the tests use: the private cluster `scripts/test` starts, named by
/// `POLICYPUSH_TEST_PG`. Without it a test fails (never skips), saying how to get one.
///
/// Each test works in a schema of its own, dropped afterwards, so tests run in parallel on one
/// database without seeing each other's tables.
enum PostgresTestServer {
    static let variable = "POLICYPUSH_TEST_PG"

    struct Missing: Error, CustomStringConvertible {
        var description: String {
            """
            \(PostgresTestServer.variable) is not set: run the PostgreSQL tests through scripts/test, or start a \
            private cluster first: eval "$(scripts/pg-cluster env /tmp/policypush-pg)"
            """
        }
    }

    /// The cluster's connection string.
    static func connectionString() throws -> String {
        guard let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty else { throw Missing() }
        return value
    }

    /// Runs `body` with a fresh, empty schema; connections from `schema.connect()` work in it.
    static func withSchema<T>(_ body: (TestSchema) throws -> T) throws -> T {
        let admin = try PGConnection(connectionString())
        let schema = TestSchema(
            connectionString: try connectionString(),
            name: "test_\(UUID().uuidString.lowercased().filter(\.isHexDigit).prefix(16))")
        try admin.execute("CREATE SCHEMA \(schema.name)")
        defer { _ = try? admin.execute("DROP SCHEMA \(schema.name) CASCADE") }
        return try body(schema)
    }
}

/// A schema of one test's own.
struct TestSchema {
    var connectionString: String
    var name: String

    /// A new connection whose tables are this schema's.
    func connect() throws -> PGConnection {
        let connection = try PGConnection(connectionString)
        try connection.execute("SET search_path TO \(name)")
        return connection
    }
}
