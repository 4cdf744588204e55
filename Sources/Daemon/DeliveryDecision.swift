import Config
import Delivery
import Foundation
import Kit
import Ops
import Planning

/// The one rule for what happens to a message after its gateway answered (or refused it): used
/// by the daemon's dispatcher for outbox messages and by ``DeliveryService/deliver(on:deadline:build:)``.
///
/// The rule that matters most: a message that may have reached a gateway (an `ambiguous` send)
/// is **pinned** to that gateway on every path. Whatever that gateway answers afterwards — a
/// breaker open, a pause, a recipient window, a deferral, a 5xx to the resend, a cancellation —
/// it never goes to another gateway: it is resent only there, with the same id, and only when
/// that gateway deduplicates by our id; otherwise it waits for reconciliation.
public enum DeliveryDecision {
    /// Where a message stands when an attempt's result comes back.
    public struct Situation: Sendable, Hashable {
        /// The gateway an earlier send may have reached (the message was `ambiguous` there).
        public var pinnedTo: String?
        /// Attempts that reached a gateway before this one.
        public var attempts: Int
        /// When the first attempt was handed over (now, for a first attempt).
        public var firstAttemptAt: Date?

        public init(pinnedTo: String? = nil, attempts: Int = 0, firstAttemptAt: Date? = nil) {
            self.pinnedTo = pinnedTo
            self.attempts = attempts
            self.firstAttemptAt = firstAttemptAt
        }
    }

    /// What the decision needs to know of the gateway that answered.
    public struct Gateway: Sendable, Hashable {
        public var name: String
        /// The provider deduplicates by our id, so a resend with the same id cannot deliver twice.
        public var deduplicates: Bool
        /// How long after the first attempt the provider still recognises the id (WeChat: 10
        /// minutes); `nil` when it does not expire.
        public var deduplicationWindow: TimeInterval?
        public var retry: RetryPolicy

        public init(name: String, deduplicates: Bool, deduplicationWindow: TimeInterval? = nil, retry: RetryPolicy) {
            self.name = name
            self.deduplicates = deduplicates
            self.deduplicationWindow = deduplicationWindow
            self.retry = retry
        }
    }

    /// The message's next step.
    public enum Step: Sendable, Hashable {
        /// The provider took it.
        case accepted(gateway: String, providerID: String?)
        /// It can never be delivered through this gateway; `fallback` when another channel may
        /// still reach the recipient. `lastError` is the transient error that used up the
        /// attempts, when `reason` is the retry policy giving up.
        case failed(gateway: String, reason: ReasonCode, fallback: Bool, lastError: ReasonCode?)
        /// It was not sent (a refusal, or an answer that proves the provider did not take it): due
        /// again at `at`, through any gateway of the channel.
        case retry(at: Date, reason: ReasonCode, countsAsAttempt: Bool, gateway: String)
        /// It may have reached `gateway` and stays pinned there: resent with the same id at
        /// `resendAt` (only ever for a deduplicating gateway), or, when `nil`, left for
        /// reconciliation.
        case pinned(gateway: String, resendAt: Date?, reason: ReasonCode, countsAsAttempt: Bool)
    }

    /// A deduplicating gateway's answer that an earlier request with this id is still in flight
    /// there (HTTP 409): ask that gateway again, it may yet accept it.
    public static let inFlightElsewhere = ReasonCode("http", "409")

    /// Decides the next step after `result` from `gateway`, for a message in `situation`.
    ///
    /// - Parameters:
    ///   - unavailableDelay: when a paused gateway gives no end, how long to wait.
    ///   - inFlightRecheck: how soon to ask a deduplicating gateway again after its 409.
    public static func next(
        after result: DispatchResult, from gateway: Gateway, situation: Situation, now: Date,
        unavailableDelay: TimeInterval = 30, inFlightRecheck: TimeInterval = 0.5
    ) -> Step {
        let pin = situation.pinnedTo ?? gateway.name
        let pinned = situation.pinnedTo != nil
        let firstAttemptAt = situation.firstAttemptAt ?? now
        // Same id, same gateway, and only while the provider still recognises the id (the first
        // attempt is the earliest any copy can have reached it).
        func resend(_ at: Date?) -> Date? {
            guard gateway.deduplicates, let at else { return nil }
            if let window = gateway.deduplicationWindow, at >= firstAttemptAt.addingTimeInterval(window) { return nil }
            return at
        }

        switch result.outcome {
        case .accepted(let providerID):
            return .accepted(gateway: gateway.name, providerID: providerID)

        case .failed(let reason, let fallback):
            return .failed(gateway: gateway.name, reason: reason, fallback: fallback, lastError: nil)

        case .retry(let after, let reason) where reason == inFlightElsewhere && gateway.deduplicates:
            return .pinned(
                gateway: pin, resendAt: resend(after ?? now.addingTimeInterval(inFlightRecheck)), reason: reason,
                countsAsAttempt: false)

        case .retry(let after, let reason):
            let decision = gateway.retry.next(
                attempt: situation.attempts + 1, firstAttemptAt: firstAttemptAt, now: now, providerEarliest: after)
            switch (decision, pinned) {
            case (.retry(let at), false):
                return .retry(at: at, reason: reason, countsAsAttempt: true, gateway: gateway.name)
            case (.giveUp(let giveUp), false):
                return .failed(gateway: gateway.name, reason: giveUp, fallback: false, lastError: reason)
            // The resend was refused, but the earlier send may still have gone through.
            case (.retry(let at), true):
                return .pinned(gateway: pin, resendAt: resend(at), reason: reason, countsAsAttempt: true)
            case (.giveUp, true):
                return .pinned(gateway: pin, resendAt: nil, reason: reason, countsAsAttempt: true)
            }

        case .deferred(let until, let reason):
            return pinned
                ? .pinned(gateway: pin, resendAt: resend(until), reason: reason, countsAsAttempt: false)
                : .retry(at: until, reason: reason, countsAsAttempt: false, gateway: gateway.name)

        case .pauseGateway(let reason, _, let until):
            let at = until ?? now.addingTimeInterval(unavailableDelay)
            return pinned
                ? .pinned(gateway: pin, resendAt: resend(at), reason: reason, countsAsAttempt: false)
                : .retry(at: at, reason: reason, countsAsAttempt: false, gateway: gateway.name)

        case .ambiguous(let reason):
            guard gateway.deduplicates else {
                return .pinned(gateway: pin, resendAt: nil, reason: reason, countsAsAttempt: true)
            }
            switch gateway.retry.next(
                attempt: situation.attempts + 1, firstAttemptAt: firstAttemptAt, now: now, providerEarliest: nil)
            {
            case .retry(let at):
                return .pinned(gateway: pin, resendAt: resend(at), reason: reason, countsAsAttempt: true)
            case .giveUp: return .pinned(gateway: pin, resendAt: nil, reason: reason, countsAsAttempt: true)
            }
        }
    }
}
