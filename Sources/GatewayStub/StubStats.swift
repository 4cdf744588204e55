/// What a stub gateway has seen, as served at `GET /_stub/stats`.
public struct StubStats: Sendable, Hashable, Codable {
    /// Send requests received (tokens, queries and stats excluded).
    public var received: Int
    /// Messages accepted (one per recipient).
    public var accepted: Int
    /// Refused send requests by reason (the provider code, `http:<status>`, `429` or `reset`).
    public var rejected: [String: Int]
    /// Sends answered from the dedupe store instead of being accepted again.
    public var deduplicated: Int
    /// Messages whose receipt says delivered.
    public var delivered: Int
    /// Messages whose receipt says failed.
    public var failed: Int
    /// Receipts pushed and acknowledged by the receiver (duplicates included).
    public var receiptsPushed: Int
    /// Our ids of accepted sends (OutId, SessionContext, client_msg_id, Idempotency-Key), in order;
    /// present only when asked for.
    public var acceptedIds: [String]?
    /// Our ids accepted more than once; present only when asked for.
    public var duplicateSends: [String]?

    public init(
        received: Int = 0, accepted: Int = 0, rejected: [String: Int] = [:], deduplicated: Int = 0, delivered: Int = 0,
        failed: Int = 0, receiptsPushed: Int = 0, acceptedIds: [String]? = nil, duplicateSends: [String]? = nil
    ) {
        self.received = received
        self.accepted = accepted
        self.rejected = rejected
        self.deduplicated = deduplicated
        self.delivered = delivered
        self.failed = failed
        self.receiptsPushed = receiptsPushed
        self.acceptedIds = acceptedIds
        self.duplicateSends = duplicateSends
    }
}
