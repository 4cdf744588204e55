import Testing

@testable import Storage

/// `PGCursor`, the PostgreSQL side of the store's connection protocol: it reads as SQLite's
/// `Statement` does, so the store's SQL reads the same rows the same way on either backend.
@Suite struct PostgresCursorTests {
    @Test func stepsThroughRowsAndRunsAgainWithNewBindings() throws {
        try PostgresTestServer.withSchema { schema in
            let connection = try schema.connect()
            try connection.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, s TEXT, b BYTEA)")
            let insert = try connection.cursor("INSERT INTO t (id, s, b) VALUES (?1, ?2, ?3)")
            for id in 1...3 { try insert.run(Int64(id), "row \(id)", [UInt8(id), 0]) }
            #expect(connection.changes == 1)
            let select = try connection.cursor("SELECT id, s, b FROM t WHERE id >= ?1 ORDER BY id")
            try select.bind(Int64(2))
            var seen: [String] = []
            while try select.step() {
                seen.append("\(try select.int64(0)) \(select.text(1) ?? "") \(try select.blob(2))")
            }
            #expect(seen == ["2 row 2 [2, 0]", "3 row 3 [3, 0]"])
            try select.bind(Int64(3))
            #expect(try select.step() && select.int64(0) == 3)
            select.reset()
            let update = try connection.cursor("UPDATE t SET s = 'x' WHERE id < ?1")
            try update.run(Int64(3))
            #expect(connection.changes == 2)
        }
    }

    @Test func readsBooleansAsOneAndZeroAndNullAsZeroAsSQLiteDoes() throws {
        try PostgresTestServer.withSchema { schema in
            let connection = try schema.connect()
            let select = try connection.cursor("SELECT 1 = 1, 1 = 2, CAST(NULL AS BIGINT), CAST(NULL AS TEXT), 'abc'")
            #expect(try select.step())
            #expect(try select.int64(0) == 1 && select.int64(1) == 0)
            #expect(try select.int64(2) == 0 && select.double(2) == 0 && select.isNull(2))
            #expect(try select.optionalInt64(2) == nil && select.text(3) == nil)
            #expect(select.withText(4) { Array($0) } == Array("abc".utf8))
            // Text where a number was asked for is an error naming the column, never a guess.
            let error = #expect(throws: StorageError.self) { try select.int64(4) }
            #expect(error?.code == .corrupt)
        }
    }

    @Test func aColumnReadWithoutARowIsAnError() throws {
        try PostgresTestServer.withSchema { schema in
            let connection = try schema.connect()
            let select = try connection.cursor("SELECT 1 WHERE false")
            #expect(try !select.step())
            #expect(throws: StorageError.self) { try select.int64(0) }
            #expect(select.isNull(0) && select.text(0) == nil)
        }
    }

    @Test func aScanFetchesInBatchesAndCanBeLeftAndRunAgain() throws {
        try PostgresTestServer.withSchema { schema in
            let connection = try schema.connect()
            try connection.execute("CREATE TABLE t (id BIGINT PRIMARY KEY)")
            let rows = PGCursor.fetchBatch * 2 + 500
            try connection.execute("INSERT INTO t SELECT generate_series(1, \(rows))")
            try connection.readTransaction {
                let scan = try connection.scan("SELECT id FROM t WHERE id > ?1 ORDER BY id")
                try scan.bind(Int64(0))
                var seen: [Int64] = []
                while try scan.step() { seen.append(try scan.int64(0)) }
                #expect(seen == Array(1...Int64(rows)))
                // Left after one row, then run again: the reset closed the server-side cursor.
                try scan.bind(Int64(10))
                #expect(try scan.step() && scan.int64(0) == 11)
                try scan.bind(Int64(rows - 1))
                #expect(try scan.step() && scan.int64(0) == Int64(rows))
                #expect(try !scan.step())
            }
            // Outside a transaction there is no server-side cursor to declare.
            let outside = try connection.scan("SELECT id FROM t")
            #expect(throws: StorageError.self) { try outside.step() }
        }
    }
}
