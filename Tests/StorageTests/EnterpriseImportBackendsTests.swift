import Foundation
import Registry
import Testing

@testable import Storage

/// The two import paths — SQLite's row-by-row upsert on a writer thread, PostgreSQL's COPY into a
/// staging table and one `INSERT … SELECT … ON CONFLICT` — give the same store.
@Suite struct EnterpriseImportBackendsTests {
    /// What a store holds after the imports, per enterprise: its attributes, and which run last
    /// wrote it, its content hash and whether the second import moved its `updated_at`.
    struct Outcome: Equatable {
        var counts: [ImportCounts]
        var enterprises: [Enterprise]
        var bookkeeping: [String]
    }

    /// Two imports of a few thousand rows: the second overlaps the first, changes some rows,
    /// and repeats a code (unchanged at first, changed at its last occurrence).
    static func run(on backend: StoreBackend) throws -> Outcome {
        let db = try TestDatabase(backend)
        let store = try db.open()
        var counts: [ImportCounts] = []
        counts.append(
            try store.importing(file: "a.csv", replace: false) { sink in try sink(Fixtures.generated(3_000)) })
        // Runs a millisecond apart at least, so that a moved `updated_at` differs from `created_at`.
        Thread.sleep(forTimeInterval: 0.01)

        var second = Fixtures.generated(3_000, offset: 1_500)
        for i in stride(from: 0, to: second.count, by: 7) { second[i].name += "（更名）" }
        for i in stride(from: 3, to: second.count, by: 11) { second[i].custom = ["备注": "第\(i)行", "k": "v\t\n"] }
        for i in stride(from: 5, to: second.count, by: 13) { second[i].taxableIncome = nil }
        var repeated = second[1]
        repeated.region = "朝阳区"
        counts.append(
            try store.importing(file: "b.csv", replace: false) { sink in
                try sink(Array(second[..<2_000]))
                try sink(Array(second[2_000...]) + [repeated])
            })

        var enterprises: [Enterprise] = []
        try store.forEachEnterprise { enterprises.append($0) }
        var bookkeeping: [String] = []
        for enterprise in enterprises {
            bookkeeping.append(
                try TestSQL.scalarText(
                    store,
                    """
                    SELECT import_run || ',' || content_hash || ',' || CASE WHEN updated_at = created_at THEN 'kept' ELSE 'moved' END
                    FROM enterprises WHERE credit_code = '\(enterprise.creditCode)'
                    """) ?? "")
        }
        return Outcome(counts: counts, enterprises: enterprises, bookkeeping: bookkeeping)
    }

    @Test func postgresCopyGivesTheStoreSQLiteGives() throws {
        let sqlite = try Self.run(on: .sqlite)
        let postgres = try Self.run(on: .postgres)

        // The reference itself is what the row-by-row rules say.
        #expect(sqlite.counts[0] == ImportCounts(inserted: 3_000))
        let changed = Set(
            Array(stride(from: 0, to: 1_500, by: 7)) + Array(stride(from: 3, to: 1_500, by: 11))
                + Array(stride(from: 5, to: 1_500, by: 13)))
        #expect(
            sqlite.counts[1] == ImportCounts(inserted: 1_500, updated: changed.count, unchanged: 1_500 - changed.count))
        #expect(sqlite.enterprises.count == 4_500)
        #expect(sqlite.bookkeeping.filter { $0.hasSuffix("moved") }.count == changed.union([1]).count)

        // The first difference only: thousands of rows printed whole would hide it.
        #expect(postgres.counts == sqlite.counts)
        #expect(postgres.enterprises.count == sqlite.enterprises.count)
        #expect(zip(postgres.enterprises, sqlite.enterprises).first { $0 != $1 } == nil)
        #expect(zip(postgres.bookkeeping, sqlite.bookkeeping).first { $0 != $1 } == nil)
    }
}
