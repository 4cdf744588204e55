import Foundation

extension PostgresStore {
    /// Several daemons may share a server: each registers as a node.
    public var isShared: Bool { true }

    public func registerNode(_ registration: NodeRegistration, now: Date, lease: TimeInterval) throws {
        try outbox.registerNode(registration, now: now, lease: lease)
    }

    public func heartbeat(node id: String, now: Date, lease: TimeInterval) throws -> NodeHeartbeat {
        try outbox.heartbeat(node: id, now: now, lease: lease)
    }

    @discardableResult
    public func deregisterNode(id: String, now: Date) throws -> NodeRecovery {
        try outbox.deregisterNode(id: id, now: now)
    }

    @discardableResult
    public func recoverLapsedNodes(now: Date) throws -> NodeRecovery {
        try outbox.recoverLapsedNodes(now: now)
    }
}
