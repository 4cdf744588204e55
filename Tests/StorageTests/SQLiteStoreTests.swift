import Foundation
import Registry
import Testing

@testable import Storage

@Suite struct SQLiteStoreTests {
    @Test func migratesAnEmptyDatabaseAndReopensIdempotently() throws {
        let db = try TemporaryDatabase()
        do {
            let store = try SQLiteStore(path: db.path)
            #expect(store.schemaVersion == SQLiteStore.latestSchemaVersion)
            #expect(try store.enterpriseCount() == 0)
            _ = try store.importing(file: "a.csv", replace: false) { sink in
                try sink([Fixtures.sparse])
            }
        }
        let reopened = try SQLiteStore(path: db.path)
        #expect(reopened.schemaVersion == SQLiteStore.latestSchemaVersion)
        #expect(try reopened.enterpriseCount() == 1)
        #expect(try reopened.connection.scalarText("PRAGMA journal_mode") == "wal")
        #expect(try reopened.connection.scalarInt("PRAGMA foreign_keys") == 1)

        var mode = stat()
        #expect(stat(db.directory + "/data", &mode) == 0)
        #expect(mode.st_mode & 0o777 == 0o700)

        let readOnly = try SQLiteStore(path: db.path, readOnly: true)
        #expect(try readOnly.enterpriseCount() == 1)
    }

    @Test(arguments: StoreBackend.all) func roundTripsEveryField(_ backend: StoreBackend) throws {
        let db = try TestDatabase(backend)
        let store = try db.open()
        _ = try store.importing(file: "a.csv", replace: false) { sink in
            try sink([Fixtures.full, Fixtures.sparse])
        }
        #expect(try store.enterprise(creditCode: Fixtures.full.creditCode) == Fixtures.full)
        #expect(try store.enterprise(creditCode: Fixtures.sparse.creditCode) == Fixtures.sparse)
        #expect(try store.enterprise(creditCode: "91000000000000000X") == nil)

        var streamed: [Enterprise] = []
        try store.forEachEnterprise { streamed.append($0) }
        #expect(streamed == [Fixtures.full, Fixtures.sparse])
        #expect(
            try TestSQL.scalarText(store, "SELECT custom FROM enterprises WHERE custom IS NOT NULL")
                == #"{"emoji":"🙂","quote\"back\\slash":"line\nbreak\t\u0001","研发费用":"1200000"}"#)
        #expect(try TestSQL.scalarInt(store, "SELECT count(*) FROM enterprises WHERE custom IS NULL") == 1)
    }

    @Test(arguments: StoreBackend.all) func countsInsertedUnchangedAndUpdated(_ backend: StoreBackend) throws {
        let db = try TestDatabase(backend)
        let store = try db.open()
        let batch = Fixtures.generated(100)

        let first = try store.importEnterprises(file: "a.csv", replace: false) { sink in
            try sink(Array(batch[..<60]))
            try sink(Array(batch[60...]))
            return RejectedRows(count: 3)
        }
        #expect(first == ImportCounts(inserted: 100))

        let again = try store.importing(file: "a.csv", replace: false) { try $0(batch) }
        #expect(again == ImportCounts(unchanged: 100))

        var changed = batch
        changed[5].taxableIncome = -1
        changed[6].custom = ["k": "v"]
        changed[7].highTech = nil
        let createdAt = try TestSQL.scalarText(
            store,
            "SELECT created_at FROM enterprises WHERE credit_code = '\(batch[5].creditCode)'")
        let third = try store.importing(file: "b.csv", replace: false) { sink in
            try sink(changed + Fixtures.generated(2, offset: 100))
        }
        #expect(third == ImportCounts(inserted: 2, updated: 3, unchanged: 97))
        #expect(try store.enterprise(creditCode: batch[5].creditCode) == changed[5])
        #expect(try store.enterprise(creditCode: batch[6].creditCode) == changed[6])
        #expect(try store.enterprise(creditCode: batch[7].creditCode)?.highTech == nil)
        #expect(try store.enterpriseCount() == 102)
        #expect(
            try TestSQL.scalarText(
                store,
                "SELECT created_at FROM enterprises WHERE credit_code = '\(batch[5].creditCode)'") == createdAt)

        var recorded: [[String]] = []
        for run in 0..<3 {
            let row = try TestSQL.scalarText(
                store,
                """
                SELECT file || ',' || inserted || ',' || updated || ',' || unchanged || ',' || rejected || ',' || removed
                    || ',' || CASE WHEN finished_at IS NOT NULL THEN 1 ELSE 0 END
                FROM import_runs ORDER BY id LIMIT 1 OFFSET \(run)
                """)
            recorded.append((row ?? "").split(separator: ",").map(String.init))
        }
        #expect(
            recorded == [
                ["a.csv", "100", "0", "0", "3", "0", "1"],
                ["a.csv", "0", "0", "100", "0", "0", "1"],
                ["b.csv", "2", "3", "97", "0", "0", "1"],
            ])
    }

    @Test(arguments: StoreBackend.all) func replaceRemovesEnterprisesAbsentFromTheImport(_ backend: StoreBackend) throws
    {
        let db = try TestDatabase(backend)
        let store = try db.open()
        _ = try store.importing(file: "a.csv", replace: true) {
            try $0(Fixtures.generated(10))
        }
        let counts = try store.importing(file: "b.csv", replace: true) {
            try $0(Fixtures.generated(4, offset: 8))
        }
        #expect(counts == ImportCounts(inserted: 2, unchanged: 2, removed: 8))
        var codes: [String] = []
        try store.forEachEnterprise { codes.append($0.creditCode) }
        #expect(codes == Fixtures.generated(4, offset: 8).map(\.creditCode))

        let merged = try store.importing(file: "c.csv", replace: false) {
            try $0(Fixtures.generated(1))
        }
        #expect(merged == ImportCounts(inserted: 1))
        #expect(try store.enterpriseCount() == 5)
    }

    @Test(arguments: StoreBackend.all) func aCreditCodeRepeatedInOneImportCountsOnceAndKeepsItsLastAttributes(
        _ backend: StoreBackend
    ) throws {
        let db = try TestDatabase(backend)
        let store = try db.open()
        var renamed = Fixtures.sparse
        renamed.name = "改名"
        let counts = try store.importing(file: "a.csv", replace: true) { sink in
            try sink([Fixtures.sparse, Fixtures.full])
            try sink([Fixtures.full, renamed])
        }
        #expect(counts == ImportCounts(inserted: 2))
        #expect(try store.enterprise(creditCode: renamed.creditCode) == renamed)
        #expect(try store.enterpriseCount() == 2)
    }

    struct ProducerFailed: Error {}

    @Test(arguments: StoreBackend.all) func aFailingProducerRollsBackTheWholeImport(_ backend: StoreBackend) throws {
        let db = try TestDatabase(backend)
        let store = try db.open()
        _ = try store.importing(file: "a.csv", replace: false) {
            try $0(Fixtures.generated(3))
        }
        var changed = Fixtures.generated(3)
        changed[0].name = "改名"
        #expect(throws: ProducerFailed.self) {
            try store.importing(file: "b.csv", replace: true) { sink in
                try sink(changed + Fixtures.generated(5, offset: 3))
                throw ProducerFailed()
            }
        }
        #expect(try store.enterpriseCount() == 3)
        #expect(try store.enterprise(creditCode: changed[0].creditCode) == Fixtures.generated(1)[0])
        #expect(try TestSQL.scalarInt(store, "SELECT count(*) FROM import_runs") == 1)

        // A constraint failure while writing rolls back the same way and reports the SQL. The
        // rows are written on the import's own connection (SQLite's writer thread, PostgreSQL's
        // upsert after the COPY): the database itself refuses the name "x" here.
        try TestSQL.execute(
            store,
            backend == .sqlite
                ? "CREATE TRIGGER refuse_x BEFORE INSERT ON enterprises WHEN NEW.name = 'x' BEGIN SELECT RAISE(ABORT, 'x'); END"
                : "ALTER TABLE enterprises ADD CONSTRAINT refuse_x CHECK (name <> 'x')")
        var invalid = Fixtures.generated(1, offset: 50)[0]
        invalid.name = "x"
        let error = #expect(throws: StorageError.self) {
            try store.importing(file: "c.csv", replace: false) { sink in
                try sink(Fixtures.generated(2, offset: 60) + [invalid])
            }
        }
        #expect(error?.code == .constraint)
        #expect(error?.sql?.contains("INSERT INTO enterprises") == true)
        #expect(try store.enterpriseCount() == 3)
    }

    @Test func aSecondWriterWaitsForTheFirstInsteadOfFailing() async throws {
        let db = try TemporaryDatabase()
        _ = try SQLiteStore(path: db.path)
        let path = db.path
        let firstHoldsLock = DispatchSemaphore(value: 0)
        let secondStarting = DispatchSemaphore(value: 0)

        async let first: ImportCounts = onThread {
            let store = try SQLiteStore(path: path)
            return try store.importing(file: "a.csv", replace: false) { sink in
                try sink(Fixtures.generated(100))
                firstHoldsLock.signal()
                secondStarting.wait()
                // Keep the write lock while the second writer is blocked in BEGIN IMMEDIATE.
                Thread.sleep(forTimeInterval: 0.3)
            }
        }
        async let second: (ImportCounts, Duration) = onThread {
            firstHoldsLock.wait()
            let store = try SQLiteStore(path: path)
            secondStarting.signal()
            let clock = ContinuousClock()
            let start = clock.now
            let counts = try store.importing(file: "b.csv", replace: false) { sink in
                try sink(Fixtures.generated(100, offset: 50))
            }
            return (counts, clock.now - start)
        }

        #expect(try await first == ImportCounts(inserted: 100))
        let (counts, waited) = try await second
        // The second import ran after the first committed, so it saw the first's rows.
        #expect(counts == ImportCounts(inserted: 50, unchanged: 50))
        #expect(waited > .milliseconds(100))
        #expect(try SQLiteStore(path: path).enterpriseCount() == 150)
    }

    @Test func refusesADatabaseFromANewerVersion() throws {
        let db = try TemporaryDatabase()
        do {
            let store = try SQLiteStore(path: db.path)
            try TestSQL.execute(store, "PRAGMA user_version = \(SQLiteStore.latestSchemaVersion + 1)")
        }
        let error = #expect(throws: StorageError.self) { try SQLiteStore(path: db.path) }
        #expect(error?.code == .schemaTooNew)
        #expect(error?.message.contains("newer") == true)
        let readOnlyError = #expect(throws: StorageError.self) { try SQLiteStore(path: db.path, readOnly: true) }
        #expect(readOnlyError?.code == .schemaTooNew)
    }

    @Test func readOnlyStoreRefusesWritesAndMissingFiles() throws {
        let db = try TemporaryDatabase()
        let missing = #expect(throws: StorageError.self) { try SQLiteStore(path: db.path, readOnly: true) }
        #expect(missing?.code == .cantOpen)
        _ = try SQLiteStore(path: db.path)
        let store = try SQLiteStore(path: db.path, readOnly: true)
        let error = #expect(throws: StorageError.self) {
            try store.importing(file: "a.csv", replace: false) {
                try $0(Fixtures.generated(1))
            }
        }
        #expect(error?.code == .readOnly)
    }

    @Test(
        arguments: [
            [:], ["a": ""], ["": "x"], ["k": "\"\\/\u{8}\u{c}\n\r\t\u{0}\u{1f}"], ["中文": "值", "e": "🙂𝄞"],
        ] as [[String: String]])
    func customAttributesRoundTripThroughJSON(custom: [String: String]) {
        let json = CustomAttributes.encode(custom)
        #expect((json == nil) == custom.isEmpty)
        #expect(json.map { CustomAttributes.decode($0) } ?? [:] == custom)
    }

    @Test func customAttributesDecodeEscapesWrittenByOthers() {
        #expect(CustomAttributes.decode(#" { "a" : "\u4e2d\ud834\udd1e\/" } "#) == ["a": "中𝄞/"])
        #expect(CustomAttributes.decode(#"{"a":1}"#) == nil)
        #expect(CustomAttributes.decode(#"{"a":"b"} x"#) == nil)
        #expect(CustomAttributes.decode(#"{"a":"\ud834"}"#) == nil)
    }

    @Test func contentHashIsStableAndSensitiveToEveryField() {
        let base = Fixtures.full
        let hash = ContentHash.of(base, customJSON: CustomAttributes.encode(base.custom))
        // Pinned: the hash is persisted, so it must not change between releases or processes.
        #expect(hash == -5_321_754_752_597_279_438)
        var variants: [Enterprise] = []
        func vary(_ change: (inout Enterprise) -> Void) {
            var copy = base
            change(&copy)
            variants.append(copy)
        }
        vary { $0.name += " " }
        vary { $0.taxpayerType = nil }
        vary { $0.industryCode = "I66" }
        vary { $0.region = nil }
        vary { $0.registeredOn = LocalDate(iso: "2019-03-29") }
        vary { $0.employees = 88 }
        vary { $0.annualSales = nil }
        vary { $0.taxableIncome = 250_000.5 }
        vary { $0.totalAssets = 0 }
        vary { $0.creditRating = .a }
        vary { $0.highTech = false }
        vary { $0.mobile = nil }
        vary { $0.wechatOpenID = "" }
        vary { $0.smsOptOut = false }
        vary { $0.wechatOptOut = true }
        vary { $0.custom["extra"] = "" }
        let hashes = Set(variants.map { ContentHash.of($0, customJSON: CustomAttributes.encode($0.custom)) })
        #expect(hashes.count == variants.count)
        #expect(!hashes.contains(hash))
    }
}

/// Runs `body` on a new thread of its own, as a store's owner would.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.start()
    }
}

extension EnterpriseStore {
    /// An import with no rejected rows.
    func importing(
        file: String, replace: Bool, _ produce: (_ sink: ([Enterprise]) throws -> Void) throws -> Void
    ) throws -> ImportCounts {
        try withoutActuallyEscaping(produce) { produce in
            try importEnterprises(file: file, replace: replace) { sink in
                try produce(sink)
                return RejectedRows()
            }
        }
    }
}

@Suite struct ReplacingImportTests {
    @Test(arguments: StoreBackend.all) func rejectedRowsKeepTheirStoredEnterprise(_ backend: StoreBackend) throws {
        let db = try TestDatabase(backend)
        let store = try db.open()
        let all = Fixtures.generated(5)
        _ = try store.importing(file: "a.csv", replace: false) { try $0(all) }
        // The new file names 0...2 correctly, row 3 is bad (rejected), row 4 is gone.
        let counts = try store.importEnterprises(file: "b.csv", replace: true) { sink in
            try sink(Array(all[0...2]))
            return RejectedRows(count: 1, creditCodes: [all[3].creditCode])
        }
        #expect(counts == ImportCounts(unchanged: 3, removed: 1))
        #expect(try store.enterprise(creditCode: all[3].creditCode) == all[3])
        #expect(try store.enterprise(creditCode: all[4].creditCode) == nil)
    }
}
