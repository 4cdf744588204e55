/// Stops traffic to a gateway that keeps failing, then probes it back to health.
///
/// Closed: calls pass and their verdicts fill a sliding window of the last
/// ``Configuration/windowSize`` calls. The breaker opens when, with at least
/// ``Configuration/minimumCalls`` in the window, the failure rate reaches
/// ``Configuration/failureRate``, or after ``Configuration/consecutiveFailures`` failures in a row.
/// Open: nothing passes until ``Configuration/coolDown`` has passed. Half-open: up to
/// ``Configuration/halfOpenProbes`` calls pass; a success closes the breaker, a failure opens it
/// again for another cool-down.
///
/// Times are durations since a fixed origin of the owner's injected monotonic clock. A verdict is
/// recorded against the ``Permit`` that admitted the call, so a late answer from before a
/// transition never counts in the new state.
public struct CircuitBreaker: Sendable {
    /// Thresholds and timings.
    public struct Configuration: Sendable, Hashable, Codable {
        /// Calls remembered in closed state. Default 20.
        public var windowSize: Int
        /// Calls needed in the window before the rate counts. Default 10.
        public var minimumCalls: Int
        /// Failure share (0...1) that opens the breaker. Default 0.5.
        public var failureRate: Double
        /// Failures in a row that open the breaker. Default 5.
        public var consecutiveFailures: Int
        /// Time open before probing. Default 30 s.
        public var coolDown: Duration
        /// Calls admitted at once while half-open. Default 1.
        public var halfOpenProbes: Int

        public init(
            windowSize: Int = 20, minimumCalls: Int = 10, failureRate: Double = 0.5, consecutiveFailures: Int = 5,
            coolDown: Duration = .seconds(30), halfOpenProbes: Int = 1
        ) {
            self.windowSize = windowSize
            self.minimumCalls = minimumCalls
            self.failureRate = failureRate
            self.consecutiveFailures = consecutiveFailures
            self.coolDown = coolDown
            self.halfOpenProbes = halfOpenProbes
        }

        /// Problems with these values, each naming its key.
        public func problems() -> [String] {
            var problems: [String] = []
            if windowSize < 1 { problems.append("windowSize: expected at least 1") }
            if minimumCalls < 1 || minimumCalls > windowSize {
                problems.append("minimumCalls: expected 1...windowSize")
            }
            if !(failureRate > 0 && failureRate <= 1) { problems.append("failureRate: expected a share in (0, 1]") }
            if consecutiveFailures < 1 { problems.append("consecutiveFailures: expected at least 1") }
            if coolDown <= .zero { problems.append("coolDown: expected a positive duration") }
            if halfOpenProbes < 1 { problems.append("halfOpenProbes: expected at least 1") }
            return problems
        }
    }

    /// Where the breaker stands.
    public enum Phase: String, Sendable, Hashable, Codable {
        case closed
        case open
        case halfOpen = "half-open"
    }

    /// How one call's outcome counts.
    public enum Verdict: Sendable, Hashable {
        case success, failure
        /// Says nothing about the gateway's health (a message-specific failure, a deferral).
        case neutral
    }

    /// Admission of one call, to hand back with its verdict.
    public struct Permit: Sendable, Hashable {
        fileprivate let generation: UInt64
        fileprivate let probe: Bool
    }

    public let configuration: Configuration
    /// The phase as of the last call to ``acquire(now:)`` or ``record(_:for:now:)``; see ``phase(now:)``.
    public private(set) var phase: Phase = .closed
    /// When the open phase ends; meaningful while ``phase`` is `.open`.
    public private(set) var openUntil: Duration = .zero

    private var generation: UInt64 = 0
    private var window: [Bool] = []
    private var windowHead = 0
    private var failuresInWindow = 0
    private var failuresInRow = 0
    private var probesInFlight = 0

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    /// How `outcome` counts: transient, ambiguous and gateway-wide trouble are failures; a message's
    /// permanent failure and a deferral say nothing about the gateway.
    public static func verdict(for outcome: DeliveryOutcome) -> Verdict {
        switch outcome {
        case .accepted: .success
        case .retry, .ambiguous, .pauseGateway: .failure
        case .failed, .deferred: .neutral
        }
    }

    /// The phase at `now`, counting an elapsed cool-down as half-open.
    public func phase(now: Duration) -> Phase {
        phase == .open && now >= openUntil ? .halfOpen : phase
    }

    /// Whether ``acquire(now:)`` would admit a call at `now`.
    public func admits(now: Duration) -> Bool {
        switch phase {
        case .closed: true
        case .open: now >= openUntil && configuration.halfOpenProbes > 0
        case .halfOpen: probesInFlight < configuration.halfOpenProbes
        }
    }

    /// Admits a call at `now`, or returns nil when the breaker refuses it.
    public mutating func acquire(now: Duration) -> Permit? {
        if phase == .open, now >= openUntil { transition(to: .halfOpen) }
        switch phase {
        case .closed:
            return Permit(generation: generation, probe: false)
        case .open:
            return nil
        case .halfOpen:
            guard probesInFlight < configuration.halfOpenProbes else { return nil }
            probesInFlight += 1
            return Permit(generation: generation, probe: true)
        }
    }

    /// Records the verdict of the call admitted by `permit`.
    public mutating func record(_ verdict: Verdict, for permit: Permit, now: Duration) {
        guard permit.generation == generation else { return }
        switch phase {
        case .closed:
            guard verdict != .neutral else { return }
            remember(failure: verdict == .failure)
            if shouldOpen { open(now: now) }
        case .halfOpen:
            if permit.probe { probesInFlight -= 1 }
            switch verdict {
            case .success: transition(to: .closed)
            case .failure: open(now: now)
            case .neutral: break
            }
        case .open:
            break
        }
    }

    private var shouldOpen: Bool {
        if failuresInRow >= configuration.consecutiveFailures { return true }
        guard window.count >= configuration.minimumCalls else { return false }
        return Double(failuresInWindow) >= configuration.failureRate * Double(window.count)
    }

    private mutating func remember(failure: Bool) {
        failuresInRow = failure ? failuresInRow + 1 : 0
        if window.count < configuration.windowSize {
            window.append(failure)
        } else {
            if window[windowHead] { failuresInWindow -= 1 }
            window[windowHead] = failure
            windowHead = (windowHead + 1) % configuration.windowSize
        }
        if failure { failuresInWindow += 1 }
    }

    private mutating func open(now: Duration) {
        transition(to: .open)
        openUntil = now + configuration.coolDown
    }

    private mutating func transition(to next: Phase) {
        phase = next
        generation &+= 1
        window.removeAll(keepingCapacity: true)
        windowHead = 0
        failuresInWindow = 0
        failuresInRow = 0
        probesInFlight = 0
    }
}
