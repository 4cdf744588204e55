import Dispatch
import Foundation
import Synchronization
import Testing

@testable import Storage

/// `PGConnection` against the private cluster: binding and reading every type, transactions,
/// errors with their SQLSTATE, COPY and LISTEN/NOTIFY.
@Suite struct PostgresConnectionTests {
    static let createValues = """
        CREATE TABLE t (id BIGINT PRIMARY KEY, i BIGINT, r DOUBLE PRECISION, s TEXT, b BYTEA, at BIGINT)
        """

    struct Row: Equatable {
        var id: Int64
        var i: Int64?
        var r: Double?
        var s: String?
        var b: [UInt8]?
        var at: Date?
    }

    static let rows: [Row] = [
        Row(id: 1, i: .min, r: -1.7976931348623157e308, s: "", b: [], at: Date(millis: 0)),
        Row(
            id: 2, i: .max, r: .leastNonzeroMagnitude, s: "税收优惠政策：小微企业 🧾", b: [0x00, 0xff, 0x00, 0x27, 0x5c, 0x00],
            at: nil),
        Row(
            id: 3, i: 0, r: 0.1, s: "tab\tnewline\n'quote\" back\\slash", b: Array(0...255),
            at: Date(millis: 1_780_000_000_123)),
        Row(id: 4, i: nil, r: nil, s: nil, b: nil, at: nil),
        Row(id: 5, i: -1, r: .infinity, s: "NULL", b: [0x5c, 0x78], at: Date(millis: -86_400_000)),
        Row(id: 6, i: 42, r: -.infinity, s: "\\N", b: [0], at: Date(millis: .max)),
    ]

    static func read(_ connection: PGConnection) throws -> [Row] {
        let result = try connection.query("SELECT id, i, r, s, b, at FROM t ORDER BY id")
        return try (0..<result.rowCount).map { row in
            Row(
                id: try result.int64(row, 0), i: try result.optionalInt64(row, 1), r: try result.optionalDouble(row, 2),
                s: result.text(row, 3), b: try result.bytes(row, 4), at: try result.date(row, 5))
        }
    }

    @Test func aPreparedStatementRoundTripsEveryType() throws {
        try PostgresTestServer.withSchema { schema in
            let connection = try schema.connect()
            try connection.execute(Self.createValues)
            let insert = try connection.prepare("INSERT INTO t (id, i, r, s, b, at) VALUES ($1, $2, $3, $4, $5, $6)")
            for row in Self.rows {
                #expect(try insert.run(row.id, row.i, row.r, row.s, row.b, row.at) == 1)
            }
            #expect(try connection.prepare(insert.sql) === insert, "a statement is prepared once per connection")
            #expect(try Self.read(connection) == Self.rows)
            // The same values through an unprepared query, and NaN, which is never equal to itself.
            let echoed = try connection.query(
                "SELECT $1::bigint, $2::float8, $3::text, $4, $5::float8", Int64.min, 0.1,
                "税", [UInt8]([0, 1, 0]), Double.nan)
            #expect(try echoed.int64(0, 0) == .min)
            #expect(try echoed.double(0, 1) == 0.1)
            #expect(echoed.text(0, 2) == "税")
            #expect(try echoed.bytes(0, 3) == [0, 1, 0])
            #expect(try echoed.double(0, 4).isNaN)
        }
    }

    @Test func textWithANulByteIsRefusedNotTruncated() throws {
        try PostgresTestServer.withSchema { schema in
            let connection = try schema.connect()
            let error = try #require(throws: StorageError.self) { try connection.query("SELECT $1::text", "a\u{0}b") }
            #expect(error.code == .invalidValue)
            #expect(error.message.contains("$1"))
        }
    }

    @Test func aGetterOfTheWrongTypeThrowsNamingTheColumn() throws {
        try PostgresTestServer.withSchema { schema in
            let connection = try schema.connect()
            let result = try connection.query(
                "SELECT 'x' AS word, NULL::bigint AS nothing, '9223372036854775808' AS big")
            #expect(throws: StorageError.self) { try result.int64(0, 0) }
            #expect(throws: StorageError.self) { try result.int64(0, 1) }
            #expect(try result.optionalInt64(0, 1) == nil)
            let overflow = try #require(throws: StorageError.self) { try result.int64(0, 2) }
            #expect(overflow.code == .corrupt)
            #expect(overflow.message.contains("column big"), "\(overflow.message)")
        }
    }

    @Test func aTransactionThatThrowsLeavesNothingBehind() throws {
        struct Abandon: Error {}
        try PostgresTestServer.withSchema { schema in
            let connection = try schema.connect()
            try connection.execute(Self.createValues)
            do {
                try connection.transaction { () throws -> Void in
                    try connection.query("INSERT INTO t (id) VALUES (1)")
                    throw Abandon()
                }
                Issue.record("the transaction's error was swallowed")
            } catch is Abandon {}
            #expect(!connection.inTransaction)
            try connection.transaction { _ = try connection.query("INSERT INTO t (id) VALUES (2)") }
            #expect(try connection.query("SELECT id FROM t").int64(0, 0) == 2)
            #expect(try connection.query("SELECT count(*) FROM t").int64(0, 0) == 1)
        }
    }

    @Test func aFailedStatementCaughtInsideTheTransactionStillRollsItBack() throws {
        try PostgresTestServer.withSchema { schema in
            let connection = try schema.connect()
            try connection.execute(Self.createValues)
            let error = try #require(throws: StorageError.self) {
                try connection.transaction {
                    try connection.query("INSERT INTO t (id) VALUES (1)")
                    _ = try? connection.query("INSERT INTO t (id) VALUES (1)")
                }
            }
            #expect(error.sqlState == "25P02")
            #expect(try connection.query("SELECT count(*) FROM t").int64(0, 0) == 0)
        }
    }

    @Test func aSerializationFailureRunsTheTransactionAgain() throws {
        try PostgresTestServer.withSchema { schema in
            let connection = try schema.connect()
            let other = try schema.connect()
            try connection.execute("CREATE TABLE counter (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)")
            try connection.execute("INSERT INTO counter VALUES (1, 0)")
            var attempts = 0
            let seen = try connection.transaction(.repeatableRead) {
                attempts += 1
                let n = try connection.query("SELECT n FROM counter WHERE id = 1").int64(0, 0)
                // Another session changes the row after our snapshot: our update must fail and retry.
                if attempts == 1 { try other.execute("UPDATE counter SET n = n + 10 WHERE id = 1") }
                try connection.query("UPDATE counter SET n = $1 WHERE id = 1", n + 1)
                return n
            }
            #expect(attempts == 2)
            #expect(seen == 10)
            #expect(try other.query("SELECT n FROM counter").int64(0, 0) == 11)
        }
    }

    @Test func aUniqueViolationCarriesItsSQLStateButNotTheKey() throws {
        try PostgresTestServer.withSchema { schema in
            let connection = try schema.connect()
            try connection.execute("CREATE TABLE contacts (mobile TEXT NOT NULL UNIQUE)")
            let insert = try connection.prepare("INSERT INTO contacts (mobile) VALUES ($1)")
            try insert.run("13812345678")
            let error = try #require(throws: StorageError.self) { try insert.run("13812345678") }
            #expect(error.sqlState == "23505")
            #expect(error.code == .constraint)
            #expect(error.message.contains("contacts_mobile_key"), "\(error.message)")
            #expect(!error.message.contains("13812345678"), "\(error.message)")
            #expect(error.sql == insert.sql)
            let syntax = try #require(throws: StorageError.self) { try connection.execute("SELEC 1") }
            #expect(syntax.sqlState == "42601")
            #expect(syntax.code == .postgres)
            let miscounted = try #require(throws: StorageError.self) { try insert.run("1", "2") }
            #expect(miscounted.sqlState == "08P01")
            #expect(miscounted.code == .postgres, "the connection is not lost: \(miscounted.message)")
            #expect(try insert.run("13900000000") == 1)
        }
    }

    @Test func aConnectionTheServerClosedFailsAsCantOpen() throws {
        try PostgresTestServer.withSchema { schema in
            let connection = try schema.connect()
            let admin = try schema.connect()
            let pid = try connection.query("SELECT pg_backend_pid()").int64(0, 0)
            try admin.query("SELECT pg_terminate_backend($1::int)", pid)
            // The statement that finds the connection closed, and the ones after it, fail alike: the
            // owner reconnects on `.cantOpen`.
            for _ in 0..<2 {
                let error = try #require(throws: StorageError.self) { try connection.query("SELECT 1") }
                #expect(error.code == .cantOpen, "\(error.message)")
                #expect(error.message.contains("port="), "names the server: \(error.message)")
            }
        }
    }

    @Test func copyLoadsAHundredThousandRows() throws {
        try PostgresTestServer.withSchema { schema in
            let connection = try schema.connect()
            try connection.execute(Self.createValues)
            let count = 100_000
            let rows = (0..<count).lazy.map { n -> [any SQLBindable] in
                let row = Self.rows[n % Self.rows.count]
                return [Int64(n), row.i, row.r, row.s.map { "\($0) #\(n)" }, row.b, row.at]
            }
            let clock = ContinuousClock()
            var copied = 0
            let elapsed = try clock.measure {
                copied = try connection.copy(into: "t", columns: Self.columns, rows: rows)
            }
            #expect(copied == count)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print("COPY: \(count) rows in \(String(format: "%.3f", seconds)) s, \(Int(Double(count) / seconds)) rows/s")
            #expect(try connection.query("SELECT count(*) FROM t").int64(0, 0) == Int64(count))
            // Every kind of value came through COPY's escapes intact.
            let back = try connection.query("SELECT id, i, r, s, b, at FROM t WHERE id < 6 ORDER BY id")
            for n in 0..<6 {
                var expected = Self.rows[n]
                expected.id = Int64(n)
                expected.s = expected.s.map { "\($0) #\(n)" }
                let row = Row(
                    id: try back.int64(n, 0), i: try back.optionalInt64(n, 1), r: try back.optionalDouble(n, 2),
                    s: back.text(n, 3), b: try back.bytes(n, 4), at: try back.date(n, 5))
                #expect(row == expected)
            }
        }
    }

    static let columns = ["id", "i", "r", "s", "b", "at"]

    @Test func aCopyWithABadRowKeepsNoneOfItAndTheConnectionGoesOn() throws {
        try PostgresTestServer.withSchema { schema in
            let connection = try schema.connect()
            try connection.execute(Self.createValues)
            // Good rows, more than one chunk's worth so some reach the server, then a bad one.
            let good = 20_000
            let rows = (0...good).lazy.map { n -> [any SQLBindable] in
                let text = n < good ? "ok \(n) " + String(repeating: "x", count: 16) : "bad\u{0}"
                return [Int64(n), nil as Int64?, nil as Double?, text, nil as [UInt8]?, nil as Date?]
            }
            let error = try #require(throws: StorageError.self) {
                try connection.copy(into: "t", columns: Self.columns, rows: rows)
            }
            #expect(error.message.contains("row \(good + 1), column s"), "\(error.message)")
            #expect(try connection.query("SELECT count(*) FROM t").int64(0, 0) == 0)
            let duplicate: [[any SQLBindable]] = [[Int64(7)], [Int64(7)]]
            let violation = try #require(throws: StorageError.self) {
                try connection.copy(into: "t", columns: ["id"], rows: duplicate)
            }
            #expect(violation.sqlState == "23505")
            #expect(try connection.query("SELECT count(*) FROM t").int64(0, 0) == 0)
        }
    }

    @Test func aNotificationArrivesWithinASecond() throws {
        try PostgresTestServer.withSchema { schema in
            let listener = try schema.connect()
            try listener.listen("campaign_changed")
            let connectionString = schema.connectionString
            let connected = DispatchSemaphore(value: 0)
            let sent = DispatchSemaphore(value: 0)
            let clock = ContinuousClock()
            let sentAt = Mutex<ContinuousClock.Instant?>(nil)
            // Another session on another thread, as a CLI command would be. It connects first (on a
            // busy machine that takes a while), then notifies while the listener waits.
            DispatchQueue.global().async {
                defer { sent.signal() }
                let notifier = try? PGConnection(connectionString)
                connected.signal()
                sentAt.withLock { $0 = clock.now }
                try? notifier?.notify("campaign_changed", payload: "42")
            }
            connected.wait()
            let start = clock.now
            let notification = try listener.nextNotification(timeout: .seconds(1))
            let elapsed = clock.now - start
            sent.wait()
            let latency = sentAt.withLock { $0 }.map { (start + elapsed) - $0 }
            print("NOTIFY: received \(elapsed) after the wait began, \(latency ?? .zero) after it was sent")
            #expect(notification?.channel == "campaign_changed")
            #expect(notification?.payload == "42")
            #expect(elapsed < .seconds(1))
        }
    }

    @Test func waitingForANotificationEndsAtItsTimeout() throws {
        try PostgresTestServer.withSchema { schema in
            let listener = try schema.connect()
            try listener.listen("nothing_here")
            let other = try schema.connect()
            try other.notify("another_channel", payload: "not for us")
            let clock = ContinuousClock()
            let start = clock.now
            let notification = try listener.nextNotification(timeout: .milliseconds(200))
            let elapsed = clock.now - start
            #expect(notification == nil)
            #expect(elapsed >= .milliseconds(200))
            #expect(elapsed < .seconds(1))
        }
    }
}
