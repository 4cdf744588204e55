import Foundation
import Kit
import Synchronization

/// Sends messages through one configured gateway, politely and defensively.
///
/// Each dispatcher owns its gateway's token bucket, daily cap, in-flight limit, circuit breaker,
/// recipient frequency limits and pause state. ``send(_:recipientKeys:)`` waits for an in-flight
/// slot and a token (sleeping on the injected clock, never spinning), then calls the
/// ``MessageSender`` and updates its state from the outcome. Messages that cannot go now come back
/// at once, unsent, with an outcome telling the caller when to requeue them:
///
/// - gateway paused (by an outcome, the daily cap or an operator): `.pauseGateway` with the pause's
///   reason and end;
/// - circuit open, or every half-open probe slot taken: `.deferred(until:reason: dispatch:circuit-open)`;
/// - a recipient window full: `.deferred(until:reason: dispatch:recipient-limit)`;
/// - the task cancelled while waiting: `.deferred(until: now, reason: dispatch:cancelled)`.
///
/// None of these is an attempt (``DispatchResult/attempted`` is false).
///
/// Once the gateway has admitted a message (slot, token, breaker, recipient windows), the
/// caller's `admit` closure runs, right before the request is handed over: the daemon commits
/// the message as `sending` there, so a crash can leave ambiguous only what was really admitted.
///
/// - Important: Every wait is an `await`; the state read before it is read again after it.
public actor GatewayDispatcher {
    /// The caller's last word on a message the gateway has admitted.
    public enum Admission: Sendable, Hashable {
        /// Send it now.
        case proceed
        /// Do not send it: ``send(_:recipientKeys:admit:)`` returns `outcome`, not an attempt,
        /// and hands back the in-flight slot, the breaker probe, the recipient window and the
        /// daily cap (the token stays spent). A `.pauseGateway` outcome also pauses the gateway,
        /// as the same answer from the provider would (a daily cap found spent by the shared store).
        case withdraw(DeliveryOutcome)
    }

    /// One gateway's limits.
    public struct Configuration: Sendable {
        /// The gateway's name in config, logs and metrics.
        public var name: String
        /// Sends per ``ratePeriod``. Default 100.
        public var rate: Int
        /// Default one second.
        public var ratePeriod: Duration
        /// Bucket size: sends allowed back to back. Default 10.
        public var burst: Int
        /// Sends per natural day, or nil for no cap. Default nil.
        public var dailyCap: Int?
        /// The zone of the daily cap's midnight. Default Asia/Shanghai.
        public var timeZone: TimeZone
        /// Requests awaiting the gateway at once. Default 16.
        public var maxInFlight: Int
        public var breaker: CircuitBreaker.Configuration
        /// Provider frequency windows per recipient key. Default none.
        public var recipientWindows: [RecipientLimits.Window]
        /// The retry schedule the caller applies to this gateway's `retry` outcomes.
        public var retry: RetryPolicy

        public init(
            name: String, rate: Int = 100, ratePeriod: Duration = .seconds(1), burst: Int = 10, dailyCap: Int? = nil,
            timeZone: TimeZone = DailyCap.shanghai, maxInFlight: Int = 16,
            breaker: CircuitBreaker.Configuration = .init(),
            recipientWindows: [RecipientLimits.Window] = [], retry: RetryPolicy = .init()
        ) {
            self.name = name
            self.rate = rate
            self.ratePeriod = ratePeriod
            self.burst = burst
            self.dailyCap = dailyCap
            self.timeZone = timeZone
            self.maxInFlight = maxInFlight
            self.breaker = breaker
            self.recipientWindows = recipientWindows
            self.retry = retry
        }

        /// Checks every value, reporting all problems with their key paths.
        public func validate() throws(DispatchConfigurationError) {
            var problems: [String] = []
            if name.isEmpty { problems.append("name: expected a non-empty name") }
            if rate < 1 { problems.append("rate: expected at least 1") }
            if ratePeriod <= .zero { problems.append("ratePeriod: expected a positive duration") }
            if burst < 1 { problems.append("burst: expected at least 1") }
            if let dailyCap, dailyCap < 0 { problems.append("dailyCap: expected 0 or more") }
            if maxInFlight < 1 { problems.append("maxInFlight: expected at least 1") }
            problems += breaker.problems().map { "breaker.\($0)" }
            for (index, window) in recipientWindows.enumerated() where window.limit < 1 || window.period <= .zero {
                problems.append("recipientWindows[\(index)]: expected a positive limit and period")
            }
            if retry.maxAttempts < 1 { problems.append("retry.maxAttempts: expected at least 1") }
            if retry.baseDelay < .zero || retry.maxDelay < retry.baseDelay {
                problems.append("retry: expected 0 <= baseDelay <= maxDelay")
            }
            if retry.maxAge <= .zero { problems.append("retry.maxAge: expected a positive duration") }
            guard problems.isEmpty else {
                throw DispatchConfigurationError(gateway: name, problems: problems)
            }
        }
    }

    /// A point-in-time view for metrics and `status`.
    public struct Snapshot: Sendable, Hashable {
        public var name: String
        public var breaker: CircuitBreaker.Phase
        /// Tokens that could be taken now.
        public var tokens: Int
        /// Sends awaiting the gateway's answer.
        public var inFlight: Int
        /// Sends waiting for a slot or a token.
        public var waiting: Int
        /// The end of a timed pause, while one lasts.
        public var pausedUntil: Date?
        /// Paused until an operator calls ``GatewayDispatcher/resume()``.
        public var pausedByOperator: Bool
        public var pauseReason: ReasonCode?
        /// Sends counted against the daily cap today.
        public var sentToday: Int
        /// Sends handed to the gateway since start.
        public var sent: Int
        /// Sends that had to wait for a slot or a token.
        public var throttled: Int
        /// Time spent waiting for slots and tokens, summed over sends.
        public var throttleWaitTotal: Duration
    }

    private struct Pause {
        var reason: ReasonCode
        var kind: DeliveryOutcome.PauseKind
        /// nil: until an operator resumes.
        var until: Date?
    }

    /// The gateway's name.
    public nonisolated let name: String
    public nonisolated let configuration: Configuration

    let sender: any MessageSender
    let clock: DispatchClock
    let wallClock: @Sendable () -> Date
    let slots: InFlightLimiter
    /// One sender at a time waits for the next token, so a token wakes one task, in order.
    let tokenQueue = InFlightLimiter(limit: 1)
    private let published = AvailabilityBox()

    var bucket: TokenBucket
    var dailyCap: DailyCap?
    var breaker: CircuitBreaker
    var recipients: RecipientLimits
    private var pause: Pause?
    var sent = 0
    var sending = 0
    var throttled = 0
    var throttleWaitTotal = Duration.zero

    public static let circuitOpen = ReasonCode("dispatch", "circuit-open")
    public static let recipientLimit = ReasonCode("dispatch", "recipient-limit")
    public static let dailyCapReached = ReasonCode("dispatch", "daily-cap")
    public static let cancelled = ReasonCode("dispatch", "cancelled")
    public static let operatorPause = ReasonCode("dispatch", "operator")

    /// How long a message refused because every half-open probe slot is taken should wait.
    static let probeBusyDelay: TimeInterval = 1

    /// Creates a dispatcher; call ``Configuration/validate()`` first.
    ///
    /// - Parameters:
    ///   - clock: the monotonic clock for throttling and the breaker's cool-down.
    ///   - now: wall-clock time for pauses, the daily cap and recipient windows.
    public init(
        configuration: Configuration, sender: any MessageSender, clock: any Clock<Duration> = ContinuousClock(),
        now: @escaping @Sendable () -> Date = Date.init
    ) {
        self.name = configuration.name
        self.configuration = configuration
        self.sender = sender
        self.clock = DispatchClock(clock)
        self.wallClock = now
        self.slots = InFlightLimiter(limit: Swift.max(configuration.maxInFlight, 1))
        self.bucket = TokenBucket(
            rate: Swift.max(configuration.rate, 1), per: configuration.ratePeriod,
            burst: Swift.max(configuration.burst, 1))
        self.dailyCap = configuration.dailyCap.map { DailyCap(limit: $0, timeZone: configuration.timeZone) }
        self.breaker = CircuitBreaker(configuration: configuration.breaker)
        self.recipients = RecipientLimits(windows: configuration.recipientWindows)
    }

    /// Sends `message` once the gateway allows it, or returns at once why it cannot go now.
    ///
    /// - Parameters:
    ///   - recipientKeys: the keys the provider's frequency limits count this message under
    ///     (``RecipientLimits/key(scope:_:)``).
    ///   - admit: called once the gateway has admitted the message, right before the request is
    ///     handed over; it may withdraw the message (``Admission``).
    public func send(
        _ message: OutboundMessage, recipientKeys: [String] = [],
        admit: (@Sendable () async -> Admission)? = nil
    ) async -> DispatchResult {
        let started = clock.elapsed()
        if let refusal = refusal(recipientKeys: recipientKeys) {
            return DispatchResult(outcome: refusal, attempted: false, throttled: false, waited: .zero)
        }
        var waitedForSlot = false
        if !slots.tryAcquire() {
            waitedForSlot = true
            do { try await slots.acquire() } catch { return cancelledResult(started: started) }
        }
        // Holding a slot from here on: every exit releases it.
        var waitedForToken = false
        do { try await tokenQueue.acquire() } catch {
            slots.release()
            return cancelledResult(started: started)
        }
        while true {
            if let refusal = refusal(recipientKeys: recipientKeys) {
                tokenQueue.release()
                slots.release()
                return finish(refusal, attempted: false, throttled: waitedForSlot || waitedForToken, started: started)
            }
            let now = clock.elapsed()
            guard let wait = bucket.wait(now: now) else { break }
            waitedForToken = true
            do { try await clock.sleep(now + wait) } catch {
                tokenQueue.release()
                slots.release()
                return cancelledResult(started: started)
            }
        }
        // A token is free, and nothing awaits from here to the send: the checks above still hold.
        // The bookkeeping comes first so that the token is taken at the latest instant before the
        // provider is contacted, which keeps the bucket's window exact at the gateway's side.
        tokenQueue.release()
        let wallNow = wallClock()
        _ = dailyCap?.reserve(now: wallNow)
        let permit = breaker.acquire(now: clock.elapsed())
        for key in recipientKeys { recipients.record(key: key, now: wallNow) }
        sent += 1
        let sendTime = clock.elapsed()
        // A token free at an earlier instant is still free later: the bucket only refills.
        let tokenTaken = bucket.reserve(now: sendTime) == nil
        assert(tokenTaken, "a token seen free was gone without an await")
        let waited = sendTime - started
        if waitedForSlot || waitedForToken {
            throttled += 1
            throttleWaitTotal += waited
        }

        if let admit, case .withdraw(let outcome) = await admit() {
            slots.release()
            if let permit { breaker.record(.neutral, for: permit, now: clock.elapsed()) }
            for key in recipientKeys { recipients.forget(key: key, at: wallNow) }
            dailyCap?.release(now: wallNow)
            sent -= 1
            // The account's quota is spent, as the shared store counts it: stop here too.
            if case .pauseGateway(let reason, let kind, let until) = outcome {
                pause(reason: reason, kind: kind, until: until)
            }
            publish()
            return DispatchResult(
                outcome: outcome, attempted: false, throttled: waitedForSlot || waitedForToken, waited: waited)
        }

        sending += 1
        let outcome = await sender.send(message)
        sending -= 1

        slots.release()
        if let permit { breaker.record(CircuitBreaker.verdict(for: outcome), for: permit, now: clock.elapsed()) }
        switch outcome {
        case .accepted, .ambiguous:
            break
        default:
            for key in recipientKeys { recipients.forget(key: key, at: wallNow) }
        }
        if case .pauseGateway(let reason, let kind, let until) = outcome {
            pause(reason: reason, kind: kind, until: until)
        }
        publish()
        return DispatchResult(
            outcome: outcome, attempted: true, throttled: waitedForSlot || waitedForToken, waited: waited)
    }

    /// Takes `1 / nodes` of the configured rate and burst, for one of `nodes` live nodes sharing
    /// the provider account (``TokenBucket/setShare(_:now:)``: the rate exactly, the burst rounded
    /// down to at least 1). `nodes` below 1 counts as 1: a node always counts itself.
    ///
    /// The bucket keeps its fill level, clamped to the new burst. A send already sleeping for a
    /// token sees the new rate when it wakes (it checks the bucket again), so a larger share
    /// takes effect at the latest one old token interval later.
    public func setShare(nodes: Int) {
        bucket.setShare(nodes, now: clock.elapsed())
    }

    /// The number of nodes this dispatcher shares its gateway's rate with (1: all of it).
    public var share: Int { bucket.share }

    /// Stops sending until `until`, or until ``resume()`` when `until` is nil.
    ///
    /// A later timed pause extends an earlier one; an operator pause (nil) outlasts timed ones.
    public func pauseGateway(
        until: Date?, reason: ReasonCode = GatewayDispatcher.operatorPause,
        kind: DeliveryOutcome.PauseKind = .configuration
    ) {
        pause(reason: reason, kind: kind, until: until)
        publish()
    }

    /// Lifts any pause, operator or timed.
    public func resume() {
        pause = nil
        publish()
    }

    /// The retry decision for a message of this gateway; see ``RetryPolicy``.
    public nonisolated func nextRetry(
        attempt: Int, firstAttemptAt: Date, providerEarliest: Date?
    )
        -> RetryPolicy.Decision
    {
        configuration.retry.next(
            attempt: attempt, firstAttemptAt: firstAttemptAt, now: wallClock(), providerEarliest: providerEarliest)
    }

    /// The dispatcher's state now.
    public var state: Snapshot {
        let now = clock.elapsed()
        let wallNow = wallClock()
        let activePause = currentPause(at: wallNow)
        return Snapshot(
            name: name, breaker: breaker.phase(now: now), tokens: bucket.available(now: now), inFlight: sending,
            waiting: slots.waiting + tokenQueue.waiting + tokenQueue.inUse,
            pausedUntil: activePause?.until, pausedByOperator: activePause != nil && activePause?.until == nil,
            pauseReason: activePause?.reason, sentToday: dailyCap?.used(now: wallNow) ?? 0, sent: sent,
            throttled: throttled, throttleWaitTotal: throttleWaitTotal)
    }

    /// Whether the gateway takes messages at `now`, readable without awaiting the actor.
    public nonisolated func availability(at now: Date) -> GatewayAvailability {
        published.value.withLock { $0 }.availability(at: now)
    }

    // MARK: - Internals

    func refusal(recipientKeys: [String]) -> DeliveryOutcome? {
        let wallNow = wallClock()
        if let active = currentPause(at: wallNow) {
            return .pauseGateway(reason: active.reason, kind: active.kind, until: active.until)
        }
        if let reset = dailyCap?.exhausted(now: wallNow) {
            pause(reason: Self.dailyCapReached, kind: .quota, until: reset)
            publish()
            return .pauseGateway(reason: Self.dailyCapReached, kind: .quota, until: reset)
        }
        let now = clock.elapsed()
        if !breaker.admits(now: now) {
            let until =
                breaker.phase(now: now) == .open
                ? wallNow.addingTimeInterval((breaker.openUntil - now).seconds)
                : wallNow.addingTimeInterval(Self.probeBusyDelay)
            return .deferred(until: until, reason: Self.circuitOpen)
        }
        var earliest: Date?
        for key in recipientKeys {
            if let allowed = recipients.check(key: key, now: wallNow) {
                earliest = Swift.max(earliest ?? allowed, allowed)
            }
        }
        if let earliest { return .deferred(until: earliest, reason: Self.recipientLimit) }
        return nil
    }

    private func currentPause(at now: Date) -> Pause? {
        guard let pause else { return nil }
        if let until = pause.until, until <= now { return nil }
        return pause
    }

    func pause(reason: ReasonCode, kind: DeliveryOutcome.PauseKind, until: Date?) {
        if let active = currentPause(at: wallClock()) {
            guard let activeUntil = active.until else { return }
            if let until, until <= activeUntil { return }
        }
        pause = Pause(reason: reason, kind: kind, until: until)
    }

    private func finish(
        _ outcome: DeliveryOutcome, attempted: Bool, throttled: Bool, started: Duration
    )
        -> DispatchResult
    {
        let waited = clock.elapsed() - started
        if throttled {
            self.throttled += 1
            throttleWaitTotal += waited
        }
        return DispatchResult(outcome: outcome, attempted: attempted, throttled: throttled, waited: waited)
    }

    func cancelledResult(started: Duration) -> DispatchResult {
        DispatchResult(
            outcome: .deferred(until: wallClock(), reason: Self.cancelled), attempted: false, throttled: true,
            waited: clock.elapsed() - started)
    }

    func publish() {
        let now = clock.elapsed()
        let wallNow = wallClock()
        let active = currentPause(at: wallNow)
        let circuitUntil: Date? =
            breaker.phase(now: now) == .open
            ? wallNow.addingTimeInterval((breaker.openUntil - now).seconds) : nil
        let snapshot = PublishedAvailability(
            pausedUntil: active?.until, pausedByOperator: active != nil && active?.until == nil,
            circuitOpenUntil: circuitUntil)
        published.value.withLock { $0 = snapshot }
    }
}

/// What became of one ``GatewayDispatcher/send(_:recipientKeys:)``.
public struct DispatchResult: Sendable, Hashable {
    /// The sender's outcome, or the dispatcher's reason for not sending (see ``GatewayDispatcher``).
    public var outcome: DeliveryOutcome
    /// Whether the sender was called. The call counts as an attempt for ``RetryPolicy`` only when
    /// the outcome is `retry` or `ambiguous`; a `deferred` or `pauseGateway` outcome requeues the
    /// message without counting, as does every refusal (`attempted == false`).
    public var attempted: Bool
    /// Whether it had to wait for an in-flight slot or a token.
    public var throttled: Bool
    /// Time from the call until the send (or the refusal).
    public var waited: Duration

    public init(outcome: DeliveryOutcome, attempted: Bool, throttled: Bool, waited: Duration) {
        self.outcome = outcome
        self.attempted = attempted
        self.throttled = throttled
        self.waited = waited
    }
}

/// Whether a gateway takes messages.
public enum GatewayAvailability: Sendable, Hashable {
    case available
    /// Paused or circuit open until then.
    case blocked(until: Date)
    /// Paused until an operator resumes it.
    case stopped
}

/// A configuration value out of range; ``problems`` name each key path.
public struct DispatchConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var gateway: String
    public var problems: [String]

    public var description: String {
        "invalid dispatch configuration: gateway \(gateway): \(problems.joined(separator: "; "))"
    }
}

struct PublishedAvailability: Sendable {
    var pausedUntil: Date?
    var pausedByOperator = false
    var circuitOpenUntil: Date?

    func availability(at now: Date) -> GatewayAvailability {
        if pausedByOperator { return .stopped }
        let until = [pausedUntil, circuitOpenUntil].compactMap { $0 }.filter { $0 > now }.max()
        return until.map { .blocked(until: $0) } ?? .available
    }
}

/// The dispatcher's availability, published for routers that must not await the actor.
final class AvailabilityBox: Sendable {
    let value = Mutex(PublishedAvailability())
}
