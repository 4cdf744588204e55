import Config
import Foundation
import Ops
import Storage
import Synchronization
import Testing

@testable import Daemon

/// The node service's beats on a store with a `nodes` table (a SQLite file here: the table and its
/// SQL are the same on PostgreSQL, where `NodeMembershipTests` runs the store's side), with a clock
/// the test moves.
@Suite struct NodeMembershipServiceTests {
    final class Clock: Sendable {
        let time = Mutex(Date(timeIntervalSince1970: 1_780_000_000))
        var now: Date { time.withLock { $0 } }
        func advance(_ seconds: TimeInterval) { time.withLock { $0 += seconds } }
    }

    func membership(
        _ id: String, store: StoreWorker, clock: Clock, metrics: DaemonMetrics
    ) async throws
        -> NodeMembership
    {
        let node = NodeRegistration(id: id, name: "host-\(id)", host: "host-\(id)", pid: 1, startedAt: clock.now)
        try await store.run { [now = clock.now] in try $0.registerNode(node, now: now, lease: 10) }
        return NodeMembership(
            node: node, store: store, heartbeat: .seconds(2), lease: 10, live: LiveNodes(), log: Log(threshold: .error),
            metrics: metrics, now: { clock.now })
    }

    @Test func aBeatCountsLiveNodesRecoversLapsedOnesAndALapsedNodeStops() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pp-nodes-\(UUID().uuidString).sqlite")
            .path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let store = try StoreWorker(path: path)
        defer { store.close() }
        #expect(try await store.run { $0.isShared } == false)
        let clock = Clock()
        let metrics = DaemonMetrics()
        let a = try await membership("a", store: store, clock: clock, metrics: metrics)
        let b = try await membership("b", store: store, clock: clock, metrics: DaemonMetrics())
        try await a.beat()
        #expect(a.live.liveNodes == 2)

        // b falls silent; a beats on past b's lease and recovers it.
        clock.advance(6)
        try await a.beat()
        clock.advance(6)
        try await a.beat()
        #expect(a.live.liveNodes == 1)
        #expect(metrics.render().contains("policypush_nodes_recovered_total 1\n"))
        #expect(metrics.render().contains("policypush_live_nodes 1\n"))

        // b wakes up: it was declared dead, and must stop.
        await #expect(throws: NodeMembership.LeaseLost.self) { try await b.beat() }
    }
}
