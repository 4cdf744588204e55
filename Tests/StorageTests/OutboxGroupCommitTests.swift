import Foundation
import Testing

@testable import Storage

@Suite struct OutboxGroupCommitTests {
    let t0 = OutboxFixture.t0

    @Test(arguments: StoreBackend.all) func aThousandConcurrentSubmittersResumeAfterTheCommit(
        _ backend: StoreBackend
    ) async throws {
        let db = try TestDatabase(backend)
        let ids: [Int64]
        do {
            let f = try OutboxFixture(db: db)
            let campaign = try f.runningCampaign()
            ids = try f.queued(1000, campaign: campaign)
            #expect(try f.store.claimDue(now: t0, limit: 1000).count == 1000)
        }
        let writer = try db.writer()
        let start = t0
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in ids {
                group.addTask {
                    let applied = try await writer.submit([
                        Transition(messageID: id, to: .accepted, at: start, gateway: "g", providerID: "p\(id)")
                    ])
                    #expect(applied.count == 1)
                    // Resumed only after COMMIT: a fresh connection already sees the row.
                    let reader = try db.open(readOnly: true)
                    let state = try TestSQL.scalarText(reader, "SELECT state FROM messages WHERE id = \(id)")
                    #expect(state == "accepted")
                }
            }
            try await group.waitForAll()
        }
        await writer.flush()
        writer.close()
        let reader = try db.open(readOnly: true)
        #expect(try reader.queueDepth() == [.accepted: 1000])
        #expect(try TestSQL.scalarInt(reader, "SELECT count(*) FROM contact_log") == 1000)
        let events = "SELECT count(*) FROM message_events WHERE to_state = 'accepted'"
        #expect(try TestSQL.scalarInt(reader, events) == 1000)
        await #expect(throws: StorageError.self) { try await writer.submit([]) }
    }

    @Test(arguments: StoreBackend.all) func claimsOnTheWritersConnectionAreCommittedBeforeTheyReturn(
        _ backend: StoreBackend
    ) async throws {
        let db = try TestDatabase(backend)
        do {
            let f = try OutboxFixture(db: db)
            let campaign = try f.runningCampaign()
            _ = try f.queued(300, campaign: campaign)
        }
        let writer = try db.writer()
        let first = try await writer.claimDue(now: t0, limit: 200)
        #expect(first.count == 200)
        #expect(first.allSatisfy { $0.state == .queued && $0.claimedFrom == .queued })
        // Committed: a fresh connection sees the leases (claimed, not yet sent).
        let reader = try db.open(readOnly: true)
        #expect(try reader.queueDepth() == [.queued: 300])
        #expect(try TestSQL.scalarInt(reader, "SELECT count(*) FROM messages WHERE lease_until IS NOT NULL") == 200)
        // Transitions and claims share the thread and connection.
        let done = first[0].id
        async let applied = writer.submit([
            Transition(messageID: done, to: .accepted, at: t0, gateway: "g", providerID: "p")
        ])
        let second = try await writer.claimDue(now: t0, limit: 200)
        #expect(try await applied.count == 1)
        #expect(second.count == 100)
        #expect(Set(second.map(\.id)).isDisjoint(with: first.map(\.id)))
        #expect(try await writer.claimDue(now: t0, limit: 10).isEmpty)
        writer.close()
        #expect(try reader.queueDepth() == [.queued: 299, .accepted: 1])
        #expect(try TestSQL.scalarInt(reader, "SELECT count(*) FROM messages WHERE lease_until IS NOT NULL") == 299)
        await #expect(throws: StorageError.self) { try await writer.claimDue(now: t0, limit: 1) }
    }

    /// A claim that returned a message its holder had not yet let go of is undone: the message is
    /// due again as the claim found it, not in ten minutes; a claim something was recorded on since
    /// is left alone.
    @Test(arguments: StoreBackend.all) func anUndoneClaimMakesTheMessageDueAgainAsItWas(
        _ backend: StoreBackend
    ) async throws {
        let db = try TestDatabase(backend)
        do {
            let f = try OutboxFixture(db: db)
            _ = try f.queued(2, campaign: try f.runningCampaign())
        }
        let writer = try db.writer()
        let claimed = try await writer.claimDue(now: t0, limit: 2)
        #expect(claimed.count == 2)
        #expect(try await writer.claimDue(now: t0.addingTimeInterval(60), limit: 2).isEmpty)
        // The second message had a transition recorded after the claim: its release does nothing.
        let (first, second) = (claimed[0], claimed[1])
        try await writer.submit([Transition(messageID: second.id, to: .accepted, at: t0, gateway: "g")])
        try await writer.release(claimed.map { ClaimRelease(messageID: $0.id, due: $0.nextAttemptAt!) })
        let again = try await writer.claimDue(now: t0.addingTimeInterval(1), limit: 2)
        #expect(again.map(\.id) == [first.id])
        #expect(again.first?.nextAttemptAt == first.nextAttemptAt)
        writer.close()
        let reader = try db.open(readOnly: true)
        #expect(try reader.queueDepth() == [.queued: 1, .accepted: 1])
    }

    @Test(arguments: StoreBackend.all) func theCLIWritesCampaignsWhileTheWriterCommitsWithoutBusyErrors(
        _ backend: StoreBackend
    ) async throws {
        let db = try TestDatabase(backend)
        let ids: [Int64]
        do {
            let f = try OutboxFixture(db: db)
            let campaign = try f.runningCampaign()
            ids = try f.queued(2000, campaign: campaign)
            _ = try f.store.claimDue(now: t0, limit: 2000)
        }
        let writer = try db.writer(.init(maxDelay: .zero, maxBatch: 64))
        let start = t0
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // The CLI: its own store, its own IMMEDIATE transactions.
                try await Task.detached {
                    let cli = try db.open()
                    for n in 0..<50 {
                        let id = try cli.createCampaign(OutboxFixture.spec(name: "cli \(n)"))
                        try cli.requestCampaign(id: id, .cancelled)
                    }
                }.value
            }
            for chunk in stride(from: 0, to: ids.count, by: 20) {
                let slice = Array(ids[chunk..<min(chunk + 20, ids.count)])
                group.addTask {
                    try await writer.submit(slice.map { Transition(messageID: $0, to: .accepted, at: start) })
                }
            }
            try await group.waitForAll()
        }
        writer.close()
        let reader = try db.open()
        #expect(try reader.campaigns().count == 51)
        #expect(try reader.queueDepth() == [.accepted: 2000])
    }

    /// Inserting 200,000 rows takes seconds of synchronous work: on a thread of its own, so it does
    /// not hold one of the (two, here) cooperative threads every loopback test's handlers need.
    @Test func claimingFromTwoHundredThousandQueuedRowsIsFast() async throws {
        let t0 = self.t0
        try await onThread { try Self.claimFromTwoHundredThousand(t0: t0) }
    }

    static func claimFromTwoHundredThousand(t0: Date) throws {
        let f = try OutboxFixture()
        let campaign = try f.runningCampaign()
        let other = try f.store.createCampaign(OutboxFixture.spec(name: "paused backlog"))
        let payload = Array(repeating: UInt8(ascii: "x"), count: 200)
        for (id, offset) in [(campaign, 0), (other, 100_000)] {
            var batch: [NewMessage] = []
            batch.reserveCapacity(100_000)
            for n in offset..<offset + 100_000 {
                var message = OutboxFixture.message(campaign: id, n, notBefore: t0 + Double(n % 600))
                message.payload = payload
                batch.append(message)
            }
            try f.store.insertMessages(batch)
        }
        // A fresh connection, as after a restart.
        let restarted = try SQLiteStore(path: f.db.location)
        let clock = ContinuousClock()
        let start = clock.now
        let claimed = try restarted.claimDue(now: t0 + 3600, limit: 1000)
        let elapsed = clock.now - start
        #expect(claimed.count == 1000)
        #expect(claimed.allSatisfy { $0.campaignID == campaign })
        #expect(zip(claimed, claimed.dropFirst()).allSatisfy { ($0.nextAttemptAt ?? t0) <= ($1.nextAttemptAt ?? t0) })
        #expect(elapsed < .seconds(2), "claimDue took \(elapsed)")
    }
}
