import Foundation
import Testing

@testable import Storage

/// A gateway's daily cap and recipient windows counted in the admission commit (``SendBudget``),
/// exact across writers sharing one store.
@Suite struct SendBudgetTests {
    let t0 = OutboxFixture.t0

    func budget(cap: Int? = nil, windows: [SendBudget.Window] = [], day: Int = 0) -> SendBudget {
        let start = t0.addingTimeInterval(Double(day) * 86_400)
        return SendBudget(
            gateway: "gw", dailyCap: cap, dayStart: start, dayEnd: start.addingTimeInterval(86_400), windows: windows)
    }

    func sending(_ id: Int64, at: Date, budget: SendBudget) -> Transition {
        Transition(messageID: id, to: .sending, at: at, gateway: "gw", countsAsAttempt: false, budget: budget)
    }

    /// Two writers, as two nodes' daemons have, admit 240 messages at once against a cap of 100.
    @Test(arguments: StoreBackend.all) func twoWritersTogetherNeverPassTheDailyCap(_ backend: StoreBackend) async throws
    {
        let db = try TestDatabase(backend)
        let f = try OutboxFixture(db: db)
        let ids = try f.queued(240, campaign: try f.runningCampaign())
        let writers = [try db.writer(), try db.writer()]
        let cap = budget(cap: 100)
        let start = t0
        let outcomes = try await withThrowingTaskGroup(of: SendingCommit.self) { group in
            for (index, id) in ids.enumerated() {
                let writer = writers[index % 2]
                group.addTask { try await writer.admit(self.sending(id, at: start, budget: cap)) }
            }
            return try await group.reduce(into: [SendingCommit]()) { $0.append($1) }
        }
        for writer in writers { writer.close() }
        #expect(writers[0].isShared == (backend == .postgres))
        #expect(outcomes.count { $0 == .applied } == 100)
        #expect(outcomes.count { $0 == .refused(.dailyCap(until: cap.dayEnd)) } == 140)
        #expect(try f.scalarInt("SELECT count(*) FROM messages WHERE state = 'sending'") == 100)
        #expect(try f.scalarInt("SELECT admitted FROM gateway_days WHERE gateway = 'gw'") == 100)
    }

    @Test(arguments: StoreBackend.all) func aNewLocalDayHasItsOwnCount(_ backend: StoreBackend) async throws {
        let db = try TestDatabase(backend)
        let f = try OutboxFixture(db: db)
        let ids = try f.queued(3, campaign: try f.runningCampaign())
        let writer = try db.writer()
        defer { writer.close() }
        #expect(try await writer.admit(sending(ids[0], at: t0, budget: budget(cap: 1))) == .applied)
        let full = budget(cap: 1)
        #expect(
            try await writer.admit(sending(ids[1], at: t0, budget: full)) == .refused(.dailyCap(until: full.dayEnd)))
        #expect(try f.state(ids[1]) == .queued)
        let tomorrow = t0.addingTimeInterval(86_400)
        #expect(try await writer.admit(sending(ids[1], at: tomorrow, budget: budget(cap: 1, day: 1))) == .applied)
        // Without a cap nothing is counted against one.
        #expect(try await writer.admit(sending(ids[2], at: tomorrow, budget: budget())) == .applied)
        #expect(try f.scalarInt("SELECT sum(admitted) FROM gateway_days") == 2)
    }

    @Test(arguments: StoreBackend.all) func aRecipientOverItsWindowIsRefusedUntilItFrees(
        _ backend: StoreBackend
    ) async throws {
        let db = try TestDatabase(backend)
        let f = try OutboxFixture(db: db)
        let ids = try f.queued(5, campaign: try f.runningCampaign())
        let writers = [try db.writer(), try db.writer()]
        defer { for writer in writers { writer.close() } }
        let twoPerMinute = [
            SendBudget.Window(key: "aliyun\u{1F}sign\u{1F}SMS_1\u{1F}13812340000", limit: 2, period: 60)
        ]
        let other = [SendBudget.Window(key: "aliyun\u{1F}sign\u{1F}SMS_1\u{1F}13812340001", limit: 2, period: 60)]
        let limited = budget(windows: twoPerMinute)
        // Two sends on two nodes fill the window; a third, on either, waits until the first leaves it.
        #expect(try await writers[0].admit(sending(ids[0], at: t0, budget: limited)) == .applied)
        #expect(try await writers[1].admit(sending(ids[1], at: t0 + 10, budget: limited)) == .applied)
        #expect(
            try await writers[0].admit(sending(ids[2], at: t0 + 20, budget: limited))
                == .refused(.recipientLimit(until: t0 + 60)))
        // Another recipient has its own window.
        #expect(try await writers[1].admit(sending(ids[3], at: t0 + 20, budget: budget(windows: other))) == .applied)
        // The provider did not count the first send (it answered a retry): its place in the window frees.
        _ = try await writers[0].submit([
            Transition(messageID: ids[0], to: .retryWait, at: t0 + 25, gateway: "gw", nextAttemptAt: t0 + 90)
        ])
        #expect(try await writers[0].admit(sending(ids[2], at: t0 + 30, budget: limited)) == .applied)
        #expect(
            try await writers[1].admit(sending(ids[4], at: t0 + 40, budget: limited))
                == .refused(.recipientLimit(until: t0 + 70)))
        // The window moves on: at 71 s only the send at 30 s is in it.
        #expect(try await writers[1].admit(sending(ids[4], at: t0 + 71, budget: limited)) == .applied)
        // The store keeps hashes, never the number; the sweep drops sends no window reaches (the
        // one at 10 s: the one at 0 s was taken back), and leaves the rest.
        #expect(try f.scalarInt("SELECT count(*) FROM recipient_sends WHERE key = 13812340000") == 0)
        #expect(try f.store.pruneRecipientSends(before: t0 + 11) == 1)
        #expect(try f.scalarInt("SELECT count(*) FROM recipient_sends WHERE at < \((t0 + 11).millis)") == 0)
        #expect(try f.scalarInt("SELECT count(*) FROM recipient_sends") == 3)
    }

    @Test(arguments: StoreBackend.all) func aRefusedOrPausedAdmissionCountsNothing(_ backend: StoreBackend) async throws
    {
        let db = try TestDatabase(backend)
        let f = try OutboxFixture(db: db)
        let campaign = try f.runningCampaign()
        let ids = try f.queued(2, campaign: campaign)
        let writer = try db.writer()
        defer { writer.close() }
        let window = [SendBudget.Window(key: "k", limit: 1, period: 60)]
        #expect(try await writer.admit(sending(ids[0], at: t0, budget: budget(cap: 5, windows: window))) == .applied)
        // Refused by the window: the day's count does not move.
        #expect(
            try await writer.admit(sending(ids[1], at: t0, budget: budget(cap: 5, windows: window)))
                == .refused(.recipientLimit(until: t0 + 60)))
        #expect(try f.scalarInt("SELECT admitted FROM gateway_days") == 1)
        // A paused campaign's message is not applied, and not counted.
        try f.store.applyCampaignState(id: campaign, .paused, at: t0)
        #expect(
            try await writer.admit(sending(ids[1], at: t0 + 61, budget: budget(cap: 5, windows: window))) == .notApplied
        )
        #expect(try f.scalarInt("SELECT admitted FROM gateway_days") == 1)
        #expect(try f.scalarInt("SELECT count(*) FROM recipient_sends") == 1)
    }
}
