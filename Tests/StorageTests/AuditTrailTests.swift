import Foundation
import Registry
import Testing

@testable import Storage

/// The audit trail's hash chain, and `verifyAudit` catching a row edited, removed or moved by
/// someone who writes the database file directly (here: a second SQLite connection that drops
/// the append-only triggers first, as a tamperer would).
@Suite struct AuditTrailTests {
    @Test func sha256MatchesTheFIPSVectors() {
        #expect(SHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        let twoBlocks =
            "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"
        #expect(SHA256.hex(Array(twoBlocks.utf8)) == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
        #expect(
            SHA256.hex([UInt8](repeating: UInt8(ascii: "a"), count: 1000))
                == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    @Test func theCanonicalFormIsNetstringsOfTheFieldsInOrder() {
        let entry = AuditEntry(
            seq: 1, at: Date(millis: 1_780_000_000_000), operatorName: "alice", action: "campaign.start",
            target: "campaign 1", arguments: "", result: "ok: x", prevHash: AuditChain.genesisHash, hash: "")
        let expected =
            "1:1,13:1780000000000,5:alice,14:campaign.start,10:campaign 1,0:,5:ok: x,64:\(AuditChain.genesisHash),"
        #expect(String(decoding: AuditChain.canonicalForm(of: entry), as: UTF8.self) == expected)
        // Independently computed (Python's hashlib over the same bytes).
        #expect(AuditChain.hash(of: entry) == "3ea3314a7ce119927334eca6438ca3e301a5e4bb8ef97c477310dd24429c5045")
    }

    @Test(arguments: StoreBackend.all) func entriesAreNumberedFromOneAndChained(_ backend: StoreBackend) throws {
        let db = try TestDatabase(backend)
        let store = try db.open()
        #expect(try store.verifyAudit() == AuditVerification(checked: 0, lastSeq: 0, lastHash: AuditChain.genesisHash))
        let entries = try Self.appendThree(store)
        #expect(entries.map(\.seq) == [1, 2, 3])
        #expect(entries[0].prevHash == AuditChain.genesisHash)
        #expect(entries[1].prevHash == entries[0].hash)
        #expect(entries[2].prevHash == entries[1].hash)
        for entry in entries { #expect(AuditChain.hash(of: entry) == entry.hash) }
        #expect(try Self.read(store) == entries)
        let verification = try store.verifyAudit()
        #expect(verification.isIntact)
        #expect(verification.checked == 3)
        #expect(verification.lastSeq == 3)
        #expect(verification.lastHash == entries[2].hash)
    }

    @Test(arguments: StoreBackend.all) func listingSinceADateSkipsOlderEntries(_ backend: StoreBackend) throws {
        let db = try TestDatabase(backend)
        let store = try db.open()
        let entries = try Self.appendThree(store)
        var seen: [Int64] = []
        try store.forEachAuditEntry(since: entries[2].at) {
            seen.append($0.seq)
            return true
        }
        #expect(seen.last == 3)
        #expect(!seen.contains { $0 < 1 })
        seen = []
        try store.forEachAuditEntry(since: entries[2].at.addingTimeInterval(3600)) {
            seen.append($0.seq)
            return true
        }
        #expect(seen.isEmpty)
    }

    @Test(arguments: StoreBackend.all) func theTableRefusesUpdatesAndDeletesThroughTheStore(
        _ backend: StoreBackend
    ) throws {
        let db = try TestDatabase(backend)
        let store = try db.open()
        try Self.appendThree(store)
        #expect(throws: StorageError.self) {
            try TestSQL.execute(store, "UPDATE audit SET result = 'x' WHERE seq = 2")
        }
        #expect(throws: StorageError.self) { try TestSQL.execute(store, "DELETE FROM audit WHERE seq = 3") }
        #expect(try store.verifyAudit().isIntact)
    }

    @Test(arguments: StoreBackend.all) func verifyCatchesAnEditedRow(_ backend: StoreBackend) throws {
        let db = try TestDatabase(backend)
        let store = try db.open()
        try Self.appendThree(store)
        try Self.tamper(db, "UPDATE audit SET arguments = 'reason=\"looked fine\"' WHERE seq = 2")
        let verification = try store.verifyAudit()
        #expect(verification.problem?.seq == 2)
        #expect(verification.problem?.reason.contains("changed") == true)
        #expect(verification.lastSeq == 1)
    }

    @Test(arguments: StoreBackend.all) func verifyCatchesAnEditedRowWhoseHashWasRecomputed(
        _ backend: StoreBackend
    ) throws {
        let db = try TestDatabase(backend)
        let store = try db.open()
        let entries = try Self.appendThree(store)
        var forged = entries[1]
        forged.operatorName = "mallory"
        forged.hash = AuditChain.hash(of: forged)
        try Self.tamper(db, "UPDATE audit SET operator = 'mallory', hash = '\(forged.hash)' WHERE seq = 2")
        let verification = try store.verifyAudit()
        #expect(verification.problem?.seq == 3, "entry 2 is consistent in itself; entry 3 no longer links to it")
        #expect(verification.problem?.reason.contains("prev_hash") == true)
    }

    @Test(arguments: StoreBackend.all) func verifyCatchesADeletedRow(_ backend: StoreBackend) throws {
        let db = try TestDatabase(backend)
        let store = try db.open()
        try Self.appendThree(store)
        try Self.tamper(db, "DELETE FROM audit WHERE seq = 2")
        let verification = try store.verifyAudit()
        #expect(verification.problem?.seq == 3)
        #expect(verification.problem?.reason.contains("entry 2 is missing") == true)
    }

    @Test(arguments: StoreBackend.all) func verifyCatchesARowRemovedAndTheRestRenumbered(_ backend: StoreBackend) throws
    {
        let db = try TestDatabase(backend)
        let store = try db.open()
        try Self.appendThree(store)
        try Self.tamper(db, "DELETE FROM audit WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 3")
        let verification = try store.verifyAudit()
        #expect(verification.problem?.seq == 2)
    }

    @Test(arguments: StoreBackend.all) func verifyCatchesReorderedRows(_ backend: StoreBackend) throws {
        let db = try TestDatabase(backend)
        let store = try db.open()
        try Self.appendThree(store)
        // Rows 2 and 3 trade places: each keeps its content, hash and prev_hash, under the other's seq.
        try Self.tamper(
            db,
            """
            UPDATE audit SET seq = -2 WHERE seq = 2;
            UPDATE audit SET seq = 2 WHERE seq = 3;
            UPDATE audit SET seq = 3 WHERE seq = -2;
            """)
        let verification = try store.verifyAudit()
        #expect(verification.problem?.seq == 2)
        #expect(verification.problem?.reason.contains("prev_hash") == true)
    }

    @Test(arguments: StoreBackend.all) func campaignWritesAppendTheirEntryInTheSameTransaction(
        _ backend: StoreBackend
    ) throws {
        let db = try TestDatabase(backend)
        let store = try db.open()
        let alice = AuditContext(operatorName: "alice", arguments: "name=x")
        let id = try store.createCampaign(Self.spec, awaitingApproval: false, audit: alice)
        try store.requestCampaign(id: id, .paused, audit: AuditContext(operatorName: "bob"))
        try store.requestCampaign(id: id, .cancelled, audit: AuditContext(operatorName: "carol"))
        // A refused request writes nothing, its entry included.
        #expect(throws: StorageError.self) {
            try store.requestCampaign(id: id, .running, audit: AuditContext(operatorName: "bob"))
        }
        let entries = try Self.read(store)
        #expect(entries.map(\.action) == ["campaign.start", "campaign.pause", "campaign.cancel"])
        #expect(entries.map(\.operatorName) == ["alice", "bob", "carol"])
        #expect(entries.map(\.target) == Array(repeating: "campaign \(id)", count: 3))
        #expect(entries[0].arguments == "name=x")
        #expect(entries[0].result == "ok: pending")
        #expect(try store.campaign(id: id)?.createdBy == "alice")
        #expect(try store.verifyAudit().isIntact)
    }

    static let spec = CampaignSpec(
        name: "audited", policyIDs: ["p"], channels: [.sms], fallback: false,
        startAt: Date(timeIntervalSince1970: 1_780_000_000), campaignDate: "2026-06-01", policyVersions: ["p": "v1"],
        templateVersion: "t1")

    @discardableResult
    static func appendThree(_ store: any PolicyPushStore) throws -> [AuditEntry] {
        [
            try store.appendAudit(
                .init(operatorName: "alice", action: "enterprises.import", target: "a.csv", result: "ok: inserted 3")),
            try store.appendAudit(
                .init(
                    operatorName: "bob", action: "suppressions.add", target: "91440300MA5FXXXX1A",
                    arguments: "channel=sms")),
            try store.appendAudit(.init(operatorName: "daemon", action: "config.reload", result: "failed: bad key")),
        ]
    }

    static func read(_ store: any PolicyPushStore) throws -> [AuditEntry] {
        var entries: [AuditEntry] = []
        try store.forEachAuditEntry(since: nil) {
            entries.append($0)
            return true
        }
        return entries
    }

    /// Writes the database the way a tamperer with write access would: another connection, the
    /// append-only triggers dropped.
    static func tamper(_ db: TestDatabase, _ sql: String) throws {
        switch db.backend {
        case .sqlite:
            let connection = try SQLiteConnection(path: db.location, readOnly: false)
            try connection.execute("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;")
            try connection.execute(sql)
        case .postgres:
            let connection = try PGConnection(db.location)
            try connection.execute("DROP TRIGGER audit_no_update ON audit; DROP TRIGGER audit_no_delete ON audit;")
            try connection.execute(sql)
        }
    }
}
