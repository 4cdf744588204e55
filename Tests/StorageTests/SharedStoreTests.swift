import Foundation
import Testing

@testable import Storage

/// What several daemons sharing a store rely on: one planner per campaign, and operators' writes
/// heard through `NOTIFY`.
@Suite("Shared store")
struct SharedStoreTests {
    @Test(arguments: StoreBackend.all) func oneConnectionPlansACampaignAtATime(_ backend: StoreBackend) throws {
        let f = try OutboxFixture(backend)
        let id = try f.store.createCampaign(OutboxFixture.spec())
        var first: (any PolicyPushStore)? = try f.db.open()
        let second = try f.db.open()
        #expect(try first?.tryLockPlanning(campaignID: id) == true)
        switch backend {
        case .sqlite:
            // One daemon owns a SQLite store: the lock is always granted.
            #expect(try second.tryLockPlanning(campaignID: id))
        case .postgres:
            #expect(try !second.tryLockPlanning(campaignID: id), "held by the first connection")
            #expect(try second.tryLockPlanning(campaignID: id + 1), "another campaign's lock is free")
            try first?.unlockPlanning(campaignID: id)
            #expect(try second.tryLockPlanning(campaignID: id), "released by unlock")
            try second.unlockPlanning(campaignID: id)
            #expect(try first?.tryLockPlanning(campaignID: id) == true)
            #expect(try !second.tryLockPlanning(campaignID: id))
            // A node dying mid-planning: its session ends, and the server releases the lock once its
            // backend has seen the connection close (a moment after the client's close returns).
            first = nil
            let deadline = ContinuousClock.now + .seconds(10)
            var granted = false
            while !granted, ContinuousClock.now < deadline {
                granted = try second.tryLockPlanning(campaignID: id)
                if !granted { Thread.sleep(forTimeInterval: 0.01) }
            }
            #expect(granted, "released when the holder's connection closed")
        }
    }

    @Test func aSQLiteStoreHasNoChangeFeed() throws {
        let db = try TestDatabase(.sqlite)
        #expect(try Store.changes(url: db.location) == nil)
    }

    @Test func operatorsWritesWakeAListenerWhenTheyCommit() async throws {
        let f = try OutboxFixture(.postgres)
        let changes = try #require(try Store.changes(url: f.db.location))
        defer { changes.close() }
        let id = try f.store.createCampaign(OutboxFixture.spec())
        let start = changes.generation
        let before = ContinuousClock.now
        try f.store.requestCampaign(id: id, .cancelled, audit: nil)
        // The listener runs on a thread of its own: its count moves within milliseconds whatever
        // the cooperative pool is doing (a waiting task may resume late on a loaded machine).
        // Another store's writes (the tests' other schemas) notify other channels, so only this
        // cancel can move it.
        while changes.generation == start, ContinuousClock.now - before < .seconds(10) {
            usleep(2_000)
        }
        let elapsed = ContinuousClock.now - before
        #expect(changes.generation != start, "the cancel request was heard")
        #expect(elapsed < .seconds(5), "heard in \(elapsed)")
        // A waiter is woken by it, and one waiting after it (once the write's notifications are
        // all in) sleeps until its timeout.
        #expect(await changes.wait(after: start, timeout: .seconds(30)) != start)
        try await Task.sleep(for: .milliseconds(300))
        let seen = changes.generation
        let quiet = ContinuousClock.now
        #expect(await changes.wait(after: seen, timeout: .milliseconds(300)) == seen)
        #expect(ContinuousClock.now - quiet >= .milliseconds(300))

        // Closed, it returns at once: a daemon shutting down never waits for the fallback.
        changes.close()
        let closing = ContinuousClock.now
        _ = await changes.wait(after: changes.generation, timeout: .seconds(30))
        #expect(ContinuousClock.now - closing < .seconds(5))
    }
}
