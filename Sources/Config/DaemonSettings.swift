import Foundation

/// `daemon` in the config.
public struct DaemonSettings: Sendable {
    /// How long SIGTERM waits for sends in flight before cancelling them. Default 30 s.
    public var grace: Duration = .seconds(30)
    /// Accepted messages with no receipt after this long become `expired`. Default 72 h.
    public var expireAfter: TimeInterval = 72 * 3600
    /// Sends awaiting an answer at once, across gateways. Default 256.
    public var maxInFlight = 256
    /// Messages claimed per store round trip. Default 256.
    public var claimBatch = 256
    /// How often the daemon looks for CLI requests (new campaigns, pause, resume, cancel).
    public var controlInterval: Duration = .milliseconds(250)
    /// On a shared (PostgreSQL) store, where operators' writes wake the daemon through `NOTIFY`, how
    /// often it looks anyway: for campaigns whose last message became final, a campaign another node
    /// left half planned, and notifications lost while the listener reconnected. Default 5 s.
    public var sharedStoreFallback: Duration = .seconds(5)
    /// On a shared (PostgreSQL) store: how often the node renews its lease and recovers nodes whose
    /// leases lapsed. Default 2 s.
    public var heartbeat: Duration = .seconds(2)
    /// How long a node's lease runs from its last heartbeat; once it has lapsed, another node
    /// recovers the node's messages. Longer than two heartbeats, so one late beat is not a death.
    /// Default 10 s.
    public var nodeLease: Duration = .seconds(10)

    public init() {}
}
