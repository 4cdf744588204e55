import Foundation
import Kit

/// When to try a message again after a transient failure: capped exponential backoff with full
/// jitter, never earlier than the provider asked, within a number of attempts and an age.
///
/// How the caller uses it: `attempt` is the number of times the message was actually handed to the
/// gateway, counting the one that just failed. Call ``next(attempt:firstAttemptAt:now:providerEarliest:)``
/// after a `retry` outcome (and after an `ambiguous` one on a deduplicating gateway), passing its
/// `after` as `providerEarliest`. A `deferred` outcome, a paused gateway, an open circuit or a
/// throttle wait is not an attempt: requeue the message at the time given without incrementing the
/// count and without asking the policy. `firstAttemptAt` is when the message was first handed over.
public struct RetryPolicy: Sendable, Hashable, Codable {
    /// What to do with a message after a failed attempt.
    public enum Decision: Sendable, Hashable {
        /// Try again at this time.
        case retry(at: Date)
        /// Stop: `retry:attempts-exhausted` or `retry:max-age`.
        case giveUp(ReasonCode)
    }

    /// The most attempts per message, the first included.
    public var maxAttempts: Int
    /// The backoff ceiling after the first failure; it doubles with each further attempt.
    public var baseDelay: Duration
    /// The highest backoff ceiling.
    public var maxDelay: Duration
    /// The longest time from the first attempt within which a retry may happen.
    public var maxAge: Duration

    public static let attemptsExhausted = ReasonCode("retry", "attempts-exhausted")
    public static let maxAgeExceeded = ReasonCode("retry", "max-age")

    /// Creates a policy. Defaults: 5 attempts, 1 s base, 5 min cap, 6 h age.
    public init(
        maxAttempts: Int = 5, baseDelay: Duration = .seconds(1), maxDelay: Duration = .seconds(300),
        maxAge: Duration = .seconds(6 * 3600)
    ) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxAge = maxAge
    }

    /// The jitter range after `attempt` failed attempts: `min(maxDelay, baseDelay · 2^(attempt-1))`.
    public func ceiling(attempt: Int) -> Duration {
        let base = Swift.max(baseDelay.attoseconds, 0)
        let cap = Swift.max(maxDelay.attoseconds, 0)
        let shift = Swift.max(attempt - 1, 0)
        // Doubling past the cap (or past 2^64 attoseconds times anything) only returns the cap.
        guard shift < 64, base <= cap >> shift else { return Duration(attoseconds: cap) }
        return Duration(attoseconds: base << shift)
    }

    /// Decides after `attempt` attempts, drawing jitter from the system generator.
    public func next(attempt: Int, firstAttemptAt: Date, now: Date, providerEarliest: Date?) -> Decision {
        var generator = SystemRandomNumberGenerator()
        return next(
            attempt: attempt, firstAttemptAt: firstAttemptAt, now: now, providerEarliest: providerEarliest,
            using: &generator)
    }

    /// Decides after `attempt` attempts, drawing jitter from `generator`.
    ///
    /// The delay is uniform in `[0, ceiling(attempt)]`; the result is never before
    /// `providerEarliest`. Gives up when `attempt >= maxAttempts`, or when the retry would fall
    /// later than `firstAttemptAt + maxAge`.
    public func next<G: RandomNumberGenerator>(
        attempt: Int, firstAttemptAt: Date, now: Date, providerEarliest: Date?, using generator: inout G
    ) -> Decision {
        guard attempt < maxAttempts else { return .giveUp(Self.attemptsExhausted) }
        let ceiling = ceiling(attempt: attempt).attoseconds
        let nanoseconds = UInt64(clamping: ceiling / 1_000_000_000)
        let jitter = UInt64.random(in: 0...nanoseconds, using: &generator)
        var at = now.addingTimeInterval(TimeInterval(jitter) / 1e9)
        if let providerEarliest, providerEarliest > at { at = providerEarliest }
        guard at <= firstAttemptAt.addingTimeInterval(maxAge.seconds) else {
            return .giveUp(Self.maxAgeExceeded)
        }
        return .retry(at: at)
    }
}
