import Foundation
import Testing

@testable import Storage

/// Nodes sharing one store: leases, claims that never overlap, recovery of a node that died, and
/// the fence that keeps a dead node from sending. The node writers are PostgreSQL's (a SQLite store
/// has one daemon, and its writer takes no node).
@Suite struct NodeMembershipTests {
    let t0 = OutboxFixture.t0
    static let lease: TimeInterval = 10

    func register(_ store: any PolicyPushStore, _ id: String, at: Date) throws {
        try store.registerNode(
            NodeRegistration(id: id, name: "host-\(id)", host: "host-\(id)", pid: 1, startedAt: at), now: at,
            lease: Self.lease)
    }

    func sending(_ id: Int64, at: Date) -> Transition {
        Transition(messageID: id, to: .sending, at: at, gateway: "ali", countsAsAttempt: false)
    }

    @Test(arguments: StoreBackend.all) func aHeartbeatExtendsAHeldLeaseAndCountsLiveNodes(
        _ backend: StoreBackend
    ) throws {
        let f = try OutboxFixture(backend)
        try register(f.store, "a", at: t0)
        try register(f.store, "b", at: t0)
        #expect(
            try f.store.heartbeat(node: "a", now: t0 + 5, lease: Self.lease) == .init(leaseHeld: true, liveNodes: 2))
        // b's lease ended at t0 + 10; a's runs to t0 + 15.
        #expect(
            try f.store.heartbeat(node: "a", now: t0 + 12, lease: Self.lease) == .init(leaseHeld: true, liveNodes: 1))
        // Lapsed: nothing brings it back, even before anyone recovered it.
        #expect(
            try f.store.heartbeat(node: "b", now: t0 + 12, lease: Self.lease) == .init(leaseHeld: false, liveNodes: 1))
        #expect(try f.store.recoverLapsedNodes(now: t0 + 12).nodes == ["host-b"])
        #expect(try f.scalarInt("SELECT count(*) FROM nodes") == 1)
        #expect(f.store.isShared == (backend == .postgres))
    }

    @Test func twoNodesClaimingAtOnceGetDisjointSetsCoveringEveryMessage() async throws {
        let f = try OutboxFixture(.postgres)
        let campaign = try f.runningCampaign()
        let ids = try f.queued(1200, campaign: campaign)
        try register(f.store, "a", at: t0)
        try register(f.store, "b", at: t0)
        let writers = try ["a", "b"].map { try GroupCommitWriter(postgres: f.db.location, node: $0) }
        defer { for writer in writers { writer.close() } }
        let at = t0 + 1
        let claims = try await withThrowingTaskGroup(of: (String, [Int64]).self) { group in
            for writer in writers {
                group.addTask {
                    var mine: [Int64] = []
                    while true {
                        let batch = try await writer.claimDue(now: at, limit: 40)
                        if batch.isEmpty { return (writer.node ?? "", mine) }
                        mine += batch.map(\.id)
                    }
                }
            }
            var all: [String: [Int64]] = [:]
            for try await (node, claimed) in group { all[node] = claimed }
            return all
        }
        let a = claims["a"] ?? []
        let b = claims["b"] ?? []
        #expect(Set(a).isDisjoint(with: b))
        #expect(a.count + b.count == ids.count)
        #expect(Set(a + b) == Set(ids))
        #expect(!a.isEmpty && !b.isEmpty)
        // Each claimed row names its claimer.
        #expect(try f.scalarInt("SELECT count(*) FROM messages WHERE node = 'a'") == Int64(a.count))
    }

    @Test func aLapsedNodesMessagesAreRecoveredByAnotherAndItCannotSendAgain() async throws {
        let f = try OutboxFixture(.postgres)
        let campaign = try f.runningCampaign()
        try f.queued(4, campaign: campaign)
        try register(f.store, "a", at: t0)
        try register(f.store, "b", at: t0)
        let writer = try GroupCommitWriter(postgres: f.db.location, node: "a")
        defer { writer.close() }
        let claimed = try await writer.claimDue(now: t0 + 1, limit: 3).map(\.id)
        #expect(claimed.count == 3)
        #expect(try await writer.submit([sending(claimed[0], at: t0 + 1)]).count == 1)
        // a stops beating; b goes on.
        #expect(try f.store.heartbeat(node: "b", now: t0 + 9, lease: Self.lease).leaseHeld)
        #expect(try f.store.recoverLapsedNodes(now: t0 + 9).nodes.isEmpty)

        let recovered = try f.store.recoverLapsedNodes(now: t0 + 11)
        #expect(recovered == NodeRecovery(nodes: ["host-a"], sending: 1, released: 2))
        // As a restart recovers its own: ambiguous, pinned to its gateway, checked now.
        let pinned = """
            SELECT count(*) FROM messages WHERE id = \(claimed[0]) AND state = 'ambiguous' AND gateway = 'ali'
                AND check_at = \((t0 + 11).millis) AND next_attempt_at IS NULL AND last_error = 'interrupted: node host-a lost'
            """
        #expect(try f.scalarInt(pinned) == 1)
        #expect(
            try f.scalarInt(
                """
                SELECT count(*) FROM message_events WHERE message_id = \(claimed[0]) AND from_state = 'sending'
                    AND to_state = 'ambiguous' AND error = 'interrupted: node host-a lost'
                """) == 1)
        // Its claims are due again now.
        #expect(
            try f.scalarInt(
                "SELECT count(*) FROM messages WHERE lease_until IS NULL AND next_attempt_at = \((t0 + 11).millis)")
                == 2)
        #expect(try f.scalarInt("SELECT count(*) FROM nodes WHERE id = 'a'") == 0)

        // The fence: a's admission of a message it had claimed is refused, and it claims nothing.
        #expect(try await writer.submit([sending(claimed[1], at: t0 + 11)]).isEmpty)
        #expect(try f.state(claimed[1]) == .queued)
        #expect(try await writer.claimDue(now: t0 + 11, limit: 10).isEmpty)
        // Another node takes them over and sends them.
        let other = try GroupCommitWriter(postgres: f.db.location, node: "b")
        defer { other.close() }
        let taken = try await other.claimDue(now: t0 + 11, limit: 10).map(\.id)
        #expect(Set(taken) == Set(claimed[1...2]).union([try #require(Set(try f.ids()).subtracting(claimed).first)]))
        #expect(try await other.submit([sending(claimed[1], at: t0 + 11)]).count == 1)
    }

    @Test func aLiveNodeCannotSendAMessageAnotherNodeClaimedAfterItsClaimRanOut() async throws {
        let f = try OutboxFixture(.postgres)
        let campaign = try f.runningCampaign()
        try f.queued(1, campaign: campaign)
        try register(f.store, "a", at: t0)
        try register(f.store, "b", at: t0)
        let a = try GroupCommitWriter(postgres: f.db.location, node: "a")
        defer { a.close() }
        let b = try GroupCommitWriter(postgres: f.db.location, node: "b")
        defer { b.close() }
        let held = try #require(try await a.claimDue(now: t0 + 1, limit: 1, lease: 2).first)
        // a waited past its claim (a slow token, a full gateway); b finds the message due again.
        #expect(try await b.claimDue(now: t0 + 4, limit: 1, lease: 2).map(\.id) == [held.id])
        #expect(try await a.submit([sending(held.id, at: t0 + 4)]).isEmpty)
        #expect(try await b.submit([sending(held.id, at: t0 + 4)]).count == 1)
        #expect(try f.scalarText("SELECT node FROM messages WHERE id = \(held.id)") == "b")
    }

    /// A node whose clock runs behind admits messages while another, past the lease, recovers it: each
    /// admission either commits first and is recovered, or finds no lease. None stays `sending`.
    @Test func anAdmissionRacingTheRecoveryOfItsNodeIsEitherRecoveredOrRefused() async throws {
        let f = try OutboxFixture(.postgres)
        let campaign = try f.runningCampaign()
        try f.queued(300, campaign: campaign)
        try register(f.store, "a", at: t0)
        let writer = try GroupCommitWriter(postgres: f.db.location, node: "a")
        defer { writer.close() }
        let claimed = try await writer.claimDue(now: t0 + 1, limit: 300).map(\.id)
        let db = f.db
        let admitted = try await withThrowingTaskGroup(of: Int.self) { group in
            group.addTask {
                // Admissions in waves, so that some commit while the recovery runs.
                var admitted = 0
                for wave in stride(from: 0, to: claimed.count, by: 10) {
                    let ids = claimed[wave..<min(wave + 10, claimed.count)]
                    admitted += try await withThrowingTaskGroup(of: Int.self) { inner in
                        for id in ids { inner.addTask { try await writer.submit([sending(id, at: t0 + 9)]).count } }
                        return try await inner.reduce(0, +)
                    }
                }
                return admitted
            }
            group.addTask {
                let recoverer = try db.open()
                while try recoverer.recoverLapsedNodes(now: t0 + 11).nodes.isEmpty {}
                return 0
            }
            return try await group.reduce(0, +)
        }
        #expect(try f.scalarInt("SELECT count(*) FROM messages WHERE state = 'sending'") == 0)
        #expect(try f.scalarInt("SELECT count(*) FROM messages WHERE state = 'ambiguous'") == Int64(admitted))
        #expect(try f.scalarInt("SELECT count(*) FROM nodes") == 0)
    }

    @Test func anotherNodesStartupRecoveryLeavesALiveNodesMessagesAlone() async throws {
        let f = try OutboxFixture(.postgres)
        let campaign = try f.runningCampaign()
        try f.queued(4, campaign: campaign)
        try register(f.store, "a", at: t0)
        let writer = try GroupCommitWriter(postgres: f.db.location, node: "a")
        defer { writer.close() }
        let claimed = try await writer.claimDue(now: t0 + 1, limit: 2).map(\.id)
        #expect(try await writer.submit([sending(claimed[0], at: t0 + 1)]).count == 1)
        // Left by a daemon without a node: recovered by whichever node starts.
        let unowned = try f.claimAndSend(now: t0 + 1, limit: 1, gateway: "ali").map(\.id)

        try register(f.store, "b", at: t0 + 2)
        #expect(try f.store.recoverAfterCrash(now: t0 + 2, node: "b") == CrashRecovery(sending: 1, released: 0))
        #expect(try f.state(unowned[0]) == .ambiguous)
        #expect(try f.state(claimed[0]) == .sending)
        #expect(
            try f.scalarInt("SELECT count(*) FROM messages WHERE id = \(claimed[1]) AND lease_until IS NOT NULL") == 1)
        // a goes on: its claimed message is still its to send.
        #expect(try await writer.submit([sending(claimed[1], at: t0 + 3)]).count == 1)
    }
}

extension OutboxFixture {
    /// Every message id, in order.
    func ids() throws -> [Int64] {
        var ids: [Int64] = []
        for campaign in try store.campaigns() {
            try store.forEachMessage(campaignID: campaign.id, withEvents: false) { message, _ in ids.append(message.id)
            }
        }
        return ids
    }
}
