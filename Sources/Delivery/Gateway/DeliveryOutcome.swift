import Foundation

/// What became of one send attempt, normalised across providers.
///
/// Adapters turn a provider's answer (or the lack of one) into exactly one outcome; the
/// dispatcher acts on it without knowing the provider (Delivery/Gateways.md §2).
public enum DeliveryOutcome: Sendable, Hashable {
    /// The provider took the message; its id (BizId, SerialNo, msgid) matches receipts.
    case accepted(providerID: String?)
    /// A transient failure: back off and try again; counts as an attempt. `after` is the
    /// provider's earliest time (Retry-After) when it gave one.
    case retry(after: Date?, reason: ReasonCode)
    /// A provider frequency window is full: requeue at `until`; not an attempt.
    case deferred(until: Date, reason: ReasonCode)
    /// Stop the whole gateway (quota, balance, credentials, configuration) until `until`, or
    /// until an operator acts when `until` is nil. The message itself goes back to the queue.
    case pauseGateway(reason: ReasonCode, kind: PauseKind, until: Date?)
    /// The message can never be delivered through this gateway. `fallback` is true when another
    /// channel may still reach the recipient (a WeChat user who does not follow the account).
    case failed(reason: ReasonCode, fallback: Bool)
    /// The request was sent but no answer came: the provider may have acted on it.
    case ambiguous(reason: ReasonCode)

    public enum PauseKind: String, Sendable, Hashable, Codable {
        case quota, billing, credentials, configuration
    }
}

/// A provider's error code kept verbatim with its namespace, e.g. `aliyun:isv.MOBILE_NUMBER_ILLEGAL`,
/// `wechat:43004`, `http:503`, `transport:timeout`. Payload-free, fit for logs and metric labels.
public struct ReasonCode: Sendable, Hashable, Codable, CustomStringConvertible {
    public var namespace: String
    public var code: String

    public init(_ namespace: String, _ code: String) {
        self.namespace = namespace
        self.code = code
    }

    public var description: String { "\(namespace):\(code)" }
}
