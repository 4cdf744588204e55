import Foundation

/// Membership of the nodes (daemons) sharing one store, and recovery of those that die.
///
/// On a shared store (PostgreSQL, ``isShared``) each daemon registers as a node with a lease it
/// renews at every heartbeat. A node whose lease lapses is dead to the others: any of them turns its
/// `sending` messages `ambiguous` and releases its claims (``recoverLapsedNodes(now:)``), exactly as
/// a restarted daemon recovers its own, and the fence on `sending` (a writer opened with the node,
/// ``Store/openWriter(url:node:)``) keeps it from sending again. A SQLite store has one daemon (a
/// file lock sees to that) and no nodes.
///
/// Times are the callers' clocks: nodes compare leases across machines, so their clocks must agree
/// (NTP) to well within a lease.
public protocol NodeStore: AnyObject {
    /// Whether several daemons may share this store at once (PostgreSQL), so they register as nodes.
    var isShared: Bool { get }

    /// Registers a node whose lease runs `lease` seconds from `now`.
    func registerNode(_ registration: NodeRegistration, now: Date, lease: TimeInterval) throws

    /// Extends node `id`'s lease to `lease` seconds after `now` if it still runs at `now`, and
    /// counts the nodes whose leases run past `now` (this one included when held).
    func heartbeat(node id: String, now: Date, lease: TimeInterval) throws -> NodeHeartbeat

    /// A clean stop: recovers the node's messages as a lapsed node's (those it still had `sending`
    /// become `ambiguous`, its claims are released) and removes it. An unknown node does nothing.
    @discardableResult
    func deregisterNode(id: String, now: Date) throws -> NodeRecovery

    /// In one write transaction: every node whose lease ended at or before `now` has its `sending`
    /// messages made `ambiguous` (pinned to their gateway, checked now, the event saying
    /// `interrupted: node <name> lost`), its claims released (due now), and its row removed.
    @discardableResult
    func recoverLapsedNodes(now: Date) throws -> NodeRecovery
}

/// A node as it registers: who it is, for the lease, and where it runs, for people.
public struct NodeRegistration: Sendable, Hashable {
    /// Random per start (``random(name:)``): a restarted daemon is a new node.
    public var id: String
    /// The name to show (the host name unless configured otherwise).
    public var name: String
    public var host: String
    public var pid: Int32
    public var startedAt: Date

    public init(id: String, name: String, host: String, pid: Int32, startedAt: Date) {
        self.id = id
        self.name = name
        self.host = host
        self.pid = pid
        self.startedAt = startedAt
    }

    /// This process as a new node: a random id, this host and process.
    public static func random(name: String? = nil, startedAt: Date) -> NodeRegistration {
        let host = ProcessInfo.processInfo.hostName
        return NodeRegistration(
            id: UUID().uuidString.lowercased(), name: name ?? host, host: host,
            pid: ProcessInfo.processInfo.processIdentifier, startedAt: startedAt)
    }
}

/// What a heartbeat found.
public struct NodeHeartbeat: Sendable, Hashable {
    /// Whether the node still held its lease (now extended). `false`: it may already have been
    /// recovered by another node, and must stop.
    public var leaseHeld: Bool
    /// Nodes whose leases run past the heartbeat's time.
    public var liveNodes: Int

    public init(leaseHeld: Bool, liveNodes: Int) {
        self.leaseHeld = leaseHeld
        self.liveNodes = liveNodes
    }
}

/// What recovering nodes did.
public struct NodeRecovery: Sendable, Hashable {
    /// The names of the nodes recovered, and removed.
    public var nodes: [String]
    /// Their messages that were `sending` and are now `ambiguous`.
    public var sending: Int
    /// Their claims released, due again.
    public var released: Int

    public init(nodes: [String] = [], sending: Int = 0, released: Int = 0) {
        self.nodes = nodes
        self.sending = sending
        self.released = released
    }

    mutating func add(_ other: NodeRecovery) {
        nodes += other.nodes
        sending += other.sending
        released += other.released
    }
}
