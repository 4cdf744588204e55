/// What a stub gateway has seen, as served at `GET /_stub/stats`.
///
/// The stub is a witness for crash and fault tests: every acceptance is recorded by our id
/// (Aliyun `OutId`, Tencent `SessionContext`, WeChat `client_msg_id`, generic `Idempotency-Key`)
/// and by recipient (the 11-digit mobile number as the stub normalised it, or the openid), so
/// a message accepted twice shows up in ``duplicateDeliveries`` whatever the provider did with
/// the repeat. The id lists are present only when asked for (`?ids=1`).
public struct StubStats: Sendable, Hashable, Codable {
    /// Send requests received (tokens, queries and stats excluded).
    public var received: Int
    /// Messages accepted (one per recipient), repeats of an id included.
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
    /// Replies (an SMS sent back, a WeChat unsubscribe) pushed and acknowledged by the receiver.
    public var repliesPushed: Int
    /// Accepted sends whose connection was closed without an answer (``StubFaults/dropAfterAcceptRate``).
    public var droppedAfterAccept: Int
    /// Our ids of accepted sends (OutId, SessionContext, client_msg_id, Idempotency-Key), in order,
    /// one entry per accepted request (a Tencent request to several numbers counts once);
    /// present only when asked for.
    public var acceptedIds: [String]?
    /// Our ids accepted by more than one request, in order of first acceptance; present only when
    /// asked for.
    public var duplicateSends: [String]?
    /// Every (our id, recipient) pair accepted more than once, with how often, in order of first
    /// acceptance: the message reached that recipient twice. Present only when asked for.
    public var duplicateDeliveries: [StubDuplicateDelivery]?
    /// Recipients accepted under more than one of our ids, in order of first acceptance. Not an
    /// error by itself (one number may receive several messages); a crash test that sends one
    /// message per recipient reads it as a double send under a fresh id. Present only when asked for.
    public var duplicateRecipients: [StubRepeatedRecipient]?
    /// Send requests received in each wall-clock second (the key is Unix seconds), so a test can
    /// check the rate the provider saw from every sender together; present only when asked for.
    public var receivedBySecond: [String: Int]?

    public init(
        received: Int = 0, accepted: Int = 0, rejected: [String: Int] = [:], deduplicated: Int = 0, delivered: Int = 0,
        failed: Int = 0, receiptsPushed: Int = 0, repliesPushed: Int = 0, droppedAfterAccept: Int = 0,
        acceptedIds: [String]? = nil,
        duplicateSends: [String]? = nil, duplicateDeliveries: [StubDuplicateDelivery]? = nil,
        duplicateRecipients: [StubRepeatedRecipient]? = nil
    ) {
        self.received = received
        self.accepted = accepted
        self.rejected = rejected
        self.deduplicated = deduplicated
        self.delivered = delivered
        self.failed = failed
        self.receiptsPushed = receiptsPushed
        self.repliesPushed = repliesPushed
        self.droppedAfterAccept = droppedAfterAccept
        self.acceptedIds = acceptedIds
        self.duplicateSends = duplicateSends
        self.duplicateDeliveries = duplicateDeliveries
        self.duplicateRecipients = duplicateRecipients
    }
}

/// One message (our id) accepted for one recipient more than once.
public struct StubDuplicateDelivery: Sendable, Hashable, Codable {
    /// Our id as the sends carried it.
    public var id: String
    /// The mobile number (11 digits, as the stub normalised it) or openid.
    public var recipient: String
    /// How many times the pair was accepted (≥ 2).
    public var count: Int

    public init(id: String, recipient: String, count: Int) {
        self.id = id
        self.recipient = recipient
        self.count = count
    }
}

/// One recipient accepted under several of our ids.
public struct StubRepeatedRecipient: Sendable, Hashable, Codable {
    /// The mobile number (11 digits, as the stub normalised it) or openid.
    public var recipient: String
    /// The distinct ids accepted for it, in order of first acceptance.
    public var ids: [String]

    public init(recipient: String, ids: [String]) {
        self.recipient = recipient
        self.ids = ids
    }
}
