import Foundation

extension SQLiteStore {
    /// One daemon per file (a lock sees to that): it registers no node.
    public var isShared: Bool { false }

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
