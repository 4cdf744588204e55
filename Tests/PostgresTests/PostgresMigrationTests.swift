import Dispatch
import Foundation
import Synchronization
import Testing

@testable import Storage

/// The schema on PostgreSQL: the same versions as on SQLite, and the same tables, columns, keys,
/// indexes and triggers, so the two cannot drift apart unnoticed.
@Suite struct PostgresMigrationTests {
    @Test func anEmptyDatabaseMigratesToTheVersionSQLiteHas() throws {
        #expect(PostgresMigration.latestVersion == Migration.latestVersion)
        try PostgresTestServer.withSchema { schema in
            let connection = try schema.connect()
            #expect(try PostgresMigration.migrate(connection) == Migration.latestVersion)
            #expect(try PostgresMigration.currentVersion(connection) == Migration.latestVersion)
            // Again: nothing to do.
            #expect(try PostgresMigration.migrate(connection) == Migration.latestVersion)
        }
    }

    @Test func theSchemaHasEveryTableColumnKeyIndexAndTriggerSQLiteHas() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("policypush-pg-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let sqlite = try SQLiteConnection(path: directory.appendingPathComponent("store.sqlite").path, readOnly: false)
        _ = try Migration.migrate(sqlite, readOnly: false)
        let expected = try SchemaShape.of(sqlite)
        try PostgresTestServer.withSchema { schema in
            let connection = try schema.connect()
            try PostgresMigration.migrate(connection)
            let actual = try SchemaShape.of(connection)
            #expect(expected.columns["messages"]?.contains("recipient NOT NULL") == true, "the SQLite schema was read")
            #expect(expected.indexes.count >= 15 && expected.triggers.count == 4)
            print(
                "schema parity: \(actual.columns.count) tables, \(actual.indexes.count) indexes, \(actual.foreignKeys.count) foreign keys, \(actual.uniques.count) unique constraints, \(actual.triggers.count) triggers"
            )
            #expect(Set(actual.columns.keys) == Set(expected.columns.keys), "tables")
            for (table, columns) in expected.columns {
                #expect(actual.columns[table] == columns, "columns of \(table)")
            }
            #expect(actual.indexes.symmetricDifference(expected.indexes) == [], "indexes")
            #expect(actual.primaryKeys.symmetricDifference(expected.primaryKeys) == [], "primary keys")
            #expect(actual.uniques.symmetricDifference(expected.uniques) == [], "unique constraints")
            #expect(actual.foreignKeys.symmetricDifference(expected.foreignKeys) == [], "foreign keys")
            #expect(actual.triggers.symmetricDifference(expected.triggers) == [], "triggers")
        }
    }

    @Test func rowsWrittenBeforeTheRebuildingStepsSurviveThem() throws {
        try PostgresTestServer.withSchema { schema in
            let connection = try schema.connect()
            #expect(try PostgresMigration.migrate(connection, upTo: 2) == 2)
            try connection.execute(
                """
                INSERT INTO campaigns (id, name, policy_ids, channels, fallback, start_at, campaign_date, policy_versions,
                    template_version, state, created_at, updated_at)
                VALUES (1, '小微企业', 'p1', 'sms', 0, 0, '2026-12-03', '{}', 't1', 'running', 0, 0);
                INSERT INTO messages (idempotency_key, campaign_id, credit_code, channel, recipient, policy_ids, payload,
                    state, not_before, created_at, updated_at)
                VALUES ('k1', 1, '91440300MA5FXXXX1A', 'sms', '13812341234', 'p1', '\\x00', 'ambiguous', 0, 0, 777);
                INSERT INTO suppressions (credit_code, channel, source, at) VALUES ('91440300MA5FXXXX1A', 'sms', 'import', 5);
                """)
            #expect(try PostgresMigration.migrate(connection) == PostgresMigration.latestVersion)
            let message = try connection.query("SELECT check_at, lease_until, state FROM messages")
            #expect(try message.optionalInt64(0, 0) == 777)
            #expect(try message.optionalInt64(0, 1) == nil)
            let suppression = try connection.query("SELECT target_kind, target, reason, at FROM suppressions")
            #expect(suppression.text(0, 0) == "enterprise")
            #expect(suppression.text(0, 1) == "91440300MA5FXXXX1A")
            #expect(suppression.text(0, 2) == "import")
            #expect(try suppression.int64(0, 3) == 5)
            // The CHECKs changed in place: the states and kinds added later are accepted.
            try connection.execute("UPDATE messages SET state = 'unconfirmed'")
            try connection.execute("UPDATE campaigns SET state = 'awaiting_approval'")
            let refused = try #require(throws: StorageError.self) {
                try connection.execute("UPDATE messages SET state = 'lost'")
            }
            #expect(refused.sqlState == "23514")
        }
    }

    @Test func theAuditTrailRefusesUpdatesAndDeletes() throws {
        try PostgresTestServer.withSchema { schema in
            let connection = try schema.connect()
            try PostgresMigration.migrate(connection)
            try connection.execute(
                """
                INSERT INTO audit (seq, at, operator, action, target, arguments, result, prev_hash, hash)
                VALUES (1, 0, '张三', 'campaign.start', 'campaign:1', '{}', 'ok', '', 'h1')
                """)
            for sql in ["UPDATE audit SET result = 'forged'", "DELETE FROM audit"] {
                let error = try #require(throws: StorageError.self) { try connection.execute(sql) }
                #expect(error.message.contains("append-only"), "\(sql): \(error.message)")
            }
            #expect(try connection.query("SELECT result FROM audit").text(0, 0) == "ok")
        }
    }

    @Test func aDatabaseFromANewerPolicyPushIsRefused() throws {
        try PostgresTestServer.withSchema { schema in
            let connection = try schema.connect()
            try PostgresMigration.migrate(connection)
            try connection.query("UPDATE schema_version SET version = $1", PostgresMigration.latestVersion + 1)
            let error = try #require(throws: StorageError.self) { try PostgresMigration.migrate(connection) }
            #expect(error.code == .schemaTooNew)
            #expect(error.message.contains("schema version \(PostgresMigration.latestVersion + 1)"))
        }
    }

    @Test func nodesStartingTogetherMigrateOnce() throws {
        let nodes = 4
        try PostgresTestServer.withSchema { schema in
            let connectionString = schema.connectionString
            let name = schema.name
            let results = Mutex<[Result<Int, any Error>]>([])
            let ready = DispatchSemaphore(value: 0)
            let go = DispatchSemaphore(value: 0)
            let done = DispatchSemaphore(value: 0)
            // A thread per node: blocked in `go.wait()`, they would starve Dispatch's small pool.
            for _ in 0..<nodes {
                Thread {
                    defer { done.signal() }
                    let connection = Result { () throws -> PGConnection in
                        let connection = try PGConnection(connectionString)
                        try connection.execute("SET search_path TO \(name)")
                        return connection
                    }
                    // Connected: now all migrate at once, so their steps overlap.
                    ready.signal()
                    go.wait()
                    let result = Result { try PostgresMigration.migrate(connection.get()) }
                    results.withLock { $0.append(result) }
                }.start()
            }
            for _ in 0..<nodes { ready.wait() }
            for _ in 0..<nodes { go.signal() }
            for _ in 0..<nodes { done.wait() }
            let outcomes = results.withLock { $0 }
            #expect(outcomes.count == nodes)
            for outcome in outcomes {
                let version = try outcome.get()
                #expect(version == PostgresMigration.latestVersion)
            }
            let connection = try schema.connect()
            #expect(try PostgresMigration.currentVersion(connection) == PostgresMigration.latestVersion)
        }
    }
}
