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

    public init() {}
}
