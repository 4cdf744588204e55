import Foundation
import Registry
import Testing

@testable import Storage

/// The SQLite import upserts in runs sorted by credit code: the store must end as an upsert in
/// file order would leave it.
@Suite struct SQLiteImportRunTests {
    /// Codes sharing their first 16 bytes, prefixes of each other, multi-byte ones, and repeats.
    static let codes = [
        "91440300MA5FXXXX1A", "91440300MA5FXXXX0Z", "91440300MA5FXXXX", "91440300MA5FXXXX1A", "9144",
        "91440300MA5FXXXX1AB", "企业9144", "91440300MA5FXXXX1A", "", "Z", "91440300MA5FXXXW1A", "9144",
    ]

    @Test func creditCodeOrderIsSQLiteOrderWithRepeatsInFileOrder() throws {
        let enterprises = Self.codes.enumerated().map { Enterprise(creditCode: $1, name: "row \($0)") }

        let db = try TemporaryDatabase()
        _ = try SQLiteStore(path: db.path)
        let connection = try SQLiteConnection(path: db.path, readOnly: false)
        try connection.execute("CREATE TEMP TABLE t (code TEXT NOT NULL, name TEXT NOT NULL, seq INTEGER NOT NULL)")
        let insert = try connection.prepare("INSERT INTO t VALUES (?1, ?2, ?3)")
        for (seq, enterprise) in enterprises.enumerated() {
            try insert.run(enterprise.creditCode, enterprise.name, Int64(seq))
        }
        let select = try connection.prepare("SELECT name FROM t ORDER BY code, seq")
        var expected: [String] = []
        while try select.step() { expected.append(select.text(0) ?? "") }

        #expect(CreditCodeOrder.sorted(enterprises).map(\.name) == expected)
    }

    /// Two imports, the second with repeats inside and across runs of 3 rows, against the same
    /// imports upserted one row at a time (runs of 1 are file order).
    @Test func runsGiveTheStoreFileOrderGives() throws {
        #expect(try Self.imported(runRows: 3) == Self.imported(runRows: 1))
    }

    struct Outcome: Equatable {
        var counts: [ImportCounts]
        var rows: [String]
    }

    static func imported(runRows: Int) throws -> Outcome {
        let db = try TemporaryDatabase()
        _ = try SQLiteStore(path: db.path)
        let connection = try SQLiteConnection(path: db.path, readOnly: false)

        var first = Fixtures.generated(8)
        first.reverse()
        var second = Fixtures.generated(8, offset: 4)
        var generator = FixedGenerator()
        second.shuffle(using: &generator)
        var renamed = second[1]
        renamed.name += "（更名）"
        var again = second[6]
        again.region = "朝阳区"
        // Rows 9 and 10 repeat a code in one run, rows 6, 11 and 12 one across runs.
        second += [first[0], renamed, second[1], again, second[6]]

        var counts: [ImportCounts] = []
        for (file, rows) in [("a.csv", first), ("b.csv", second)] {
            counts.append(
                try connection.immediateTransaction {
                    var transaction = try SQLiteImportTransaction(
                        connection: connection, file: file, replace: false, runRows: runRows)
                    for row in rows { try transaction.write([row]) }
                    return try transaction.finish(rejected: RejectedRows())
                })
        }
        let select = try connection.prepare(
            "SELECT credit_code || ',' || name || ',' || coalesce(region, '') || ',' || import_run || ',' || content_hash"
                + " FROM enterprises ORDER BY credit_code")
        var rows: [String] = []
        while try select.step() { rows.append(select.text(0) ?? "") }
        return Outcome(counts: counts, rows: rows)
    }

    /// A shuffle that is the same on every run.
    struct FixedGenerator: RandomNumberGenerator {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state
        }
    }
}
