import Config
import Foundation
import Kit
import Ops
import Storage
import Synchronization

/// How many nodes share the store now, for services that divide something among them (a gateway's
/// rate): the count from this node's last heartbeat, itself included; 1 on a store no other daemon
/// shares (SQLite).
public final class LiveNodes: Sendable {
    private let count = Mutex(1)

    public init() {}

    /// The live node count at the last heartbeat (at least 1).
    public var liveNodes: Int { count.withLock { $0 } }

    func update(_ live: Int) {
        count.withLock { $0 = max(1, live) }
    }
}

/// This daemon as a node of a shared (PostgreSQL) store: registered at start, it renews its lease
/// every `daemon.heartbeat_s`, recovers the nodes whose leases lapsed (their `sending` messages become
/// ambiguous, their claims due again), and publishes the live node count in ``LiveNodes``.
///
/// A heartbeat that finds its own lease lapsed throws ``LeaseLost``: the others may already have
/// recovered this node's messages and resent them, so it must not go on (its writer's fence refuses
/// its sends meanwhile). The failure ends the daemon with exit 1, and systemd starts a new node.
/// A store it cannot reach is logged and tried again at the next beat; the lease lapses on its own
/// if that lasts.
struct NodeMembership: Service {
    let node: NodeRegistration
    let store: StoreWorker
    let heartbeat: Duration
    let lease: TimeInterval
    let live: LiveNodes
    let log: Log
    let metrics: DaemonMetrics
    let now: @Sendable () -> Date

    /// The heartbeat found the lease lapsed: another node may have taken this one's messages over.
    struct LeaseLost: Error, CustomStringConvertible {
        var node: String
        var description: String { "node \(node) lost its lease; another node recovers its messages" }
    }

    /// Registers this daemon as a node when its store is shared; `nil` otherwise (SQLite: one daemon).
    static func join(
        store: StoreWorker, settings: DaemonSettings, live: LiveNodes, log: Log, metrics: DaemonMetrics,
        now: @escaping @Sendable () -> Date
    ) async throws -> NodeMembership? {
        guard try await store.run({ $0.isShared }) else { return nil }
        let registration = NodeRegistration.random(startedAt: now())
        let lease = settings.nodeLease.seconds
        try await store.run { try $0.registerNode(registration, now: now(), lease: lease) }
        let membership = NodeMembership(
            node: registration, store: store, heartbeat: settings.heartbeat, lease: lease, live: live, log: log,
            metrics: metrics, now: now)
        try await membership.beat()
        log.info(
            "joined as a node",
            ["node": registration.id, "name": registration.name, "live_nodes": live.liveNodes, "lease_s": lease])
        return membership
    }

    func run() async throws {
        while !Task.isCancelled {
            try await Task.sleep(for: heartbeat)
            try await beat()
        }
    }

    /// Renews the lease (throwing ``LeaseLost`` if it had lapsed), then recovers lapsed nodes.
    func beat() async throws {
        let beat: NodeHeartbeat
        let recovered: NodeRecovery
        do {
            // The time is read on the store's queue, so work queued ahead cannot age it.
            beat = try await store.run { [node, lease, now] in try $0.heartbeat(node: node.id, now: now(), lease: lease)
            }
            guard beat.leaseHeld else { throw LeaseLost(node: node.name) }
            recovered = try await store.run { [now] in try $0.recoverLapsedNodes(now: now()) }
        } catch let error as LeaseLost {
            throw error
        } catch {
            log.error("the node's heartbeat failed; trying again", ["node": node.id, "error": "\(error)"])
            return
        }
        live.update(beat.liveNodes)
        metrics.liveNodes.set(Double(live.liveNodes))
        if !recovered.nodes.isEmpty {
            metrics.nodesRecovered.increment(by: Double(recovered.nodes.count))
            log.warning(
                "recovered nodes whose lease lapsed",
                [
                    "nodes": recovered.nodes.count, "names": recovered.nodes.joined(separator: ","),
                    "recovered_sending": recovered.sending, "released_claims": recovered.released,
                ])
        }
    }

    /// A clean stop: this node's leftover `sending` messages become ambiguous, its claims due again,
    /// and its row goes, so the others need not wait for its lease to lapse.
    func leave() async {
        do {
            let recovered = try await store.run { [node, now] in try $0.deregisterNode(id: node.id, now: now()) }
            log.info(
                "left the nodes",
                ["node": node.id, "recovered_sending": recovered.sending, "released_claims": recovered.released])
        } catch {
            log.error("the node could not deregister; its lease will lapse", ["node": node.id, "error": "\(error)"])
        }
    }
}

/// Gives each gateway this node's share of its rate and burst (``DeliveryService/share(nodes:)``)
/// whenever the live node count changes: a gateway's rate belongs to the provider account, which
/// every node sends through. Looks five times a second, so a change the heartbeat saw applies
/// within 0.2 s of it (the overshoot bound in the README counts it in the detection delay).
struct RateShare: Service {
    let nodes: LiveNodes
    let delivery: DeliveryService

    func run() async throws {
        var applied = 0
        while !Task.isCancelled {
            let live = nodes.liveNodes
            if live != applied {
                await delivery.share(nodes: live)
                applied = live
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}
