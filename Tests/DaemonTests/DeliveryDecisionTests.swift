import Config
import Daemon
import Delivery
import Foundation
import Planning
import Testing

/// ``DeliveryDecision`` as a table: every outcome × every situation a message can be in.
@Suite("Delivery decision")
struct DeliveryDecisionTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let later = now.addingTimeInterval(60)
    /// No jitter: a retry is due at once (or at the provider's time).
    static let retry = RetryPolicy(maxAttempts: 3, baseDelay: .zero, maxDelay: .zero, maxAge: .seconds(3600))
    static let dedup = DeliveryDecision.Gateway(name: "gen", deduplicates: true, retry: retry)
    static let plain = DeliveryDecision.Gateway(name: "ali", deduplicates: false, retry: retry)
    static let wechat = DeliveryDecision.Gateway(name: "wx", deduplicates: true, deduplicationWindow: 540, retry: retry)

    enum Situation: String, CaseIterable {
        case freshDedup, freshPlain, exhaustedPlain, pinnedDedup, pinnedPlain

        var gateway: DeliveryDecision.Gateway {
            switch self {
            case .freshDedup, .pinnedDedup: DeliveryDecisionTests.dedup
            case .freshPlain, .exhaustedPlain, .pinnedPlain: DeliveryDecisionTests.plain
            }
        }

        var value: DeliveryDecision.Situation {
            switch self {
            case .freshDedup, .freshPlain: .init(attempts: 0, firstAttemptAt: now)
            case .exhaustedPlain: .init(attempts: 2, firstAttemptAt: now)
            case .pinnedDedup: .init(pinnedTo: "gen", attempts: 1, firstAttemptAt: now)
            case .pinnedPlain: .init(pinnedTo: "ali", attempts: 1, firstAttemptAt: now)
            }
        }

        var pinned: Bool { self == .pinnedDedup || self == .pinnedPlain }
    }

    static let outcomes: [(name: String, result: DispatchResult)] = {
        func sent(_ outcome: DeliveryOutcome) -> DispatchResult {
            DispatchResult(outcome: outcome, attempted: true, throttled: false, waited: .zero)
        }
        func refused(_ outcome: DeliveryOutcome) -> DispatchResult {
            DispatchResult(outcome: outcome, attempted: false, throttled: false, waited: .zero)
        }
        return [
            ("accepted", sent(.accepted(providerID: "p1"))),
            ("failed+fallback", sent(.failed(reason: ReasonCode("wechat", "43004"), fallback: true))),
            ("failed", sent(.failed(reason: ReasonCode("aliyun", "isv.MOBILE_NUMBER_ILLEGAL"), fallback: false))),
            ("retry", sent(.retry(after: nil, reason: ReasonCode("http", "503")))),
            ("retry-after", sent(.retry(after: later, reason: ReasonCode("http", "429")))),
            ("409", sent(.retry(after: nil, reason: ReasonCode("http", "409")))),
            (
                "provider-window",
                sent(.deferred(until: later, reason: ReasonCode("aliyun", "isv.BUSINESS_LIMIT_CONTROL")))
            ),
            (
                "paused-by-answer",
                sent(.pauseGateway(reason: ReasonCode("aliyun", "isv.AMOUNT_NOT_ENOUGH"), kind: .billing, until: nil))
            ),
            (
                "paused",
                refused(.pauseGateway(reason: ReasonCode("dispatch", "operator"), kind: .configuration, until: later))
            ),
            ("circuit-open", refused(.deferred(until: later, reason: GatewayDispatcher.circuitOpen))),
            ("recipient-limit", refused(.deferred(until: later, reason: GatewayDispatcher.recipientLimit))),
            ("cancelled", refused(.deferred(until: now, reason: GatewayDispatcher.cancelled))),
            ("quiet-hours", refused(.deferred(until: later, reason: OutboxDispatcher.quietHoursReason))),
            ("not-sendable", refused(.deferred(until: now, reason: OutboxDispatcher.notSendable))),
            ("ambiguous", sent(.ambiguous(reason: ReasonCode("transport", "timeout_after_send")))),
        ]
    }()

    func decide(_ outcome: String, _ situation: Situation) -> DeliveryDecision.Step {
        let result = Self.outcomes.first { $0.name == outcome }!.result
        return DeliveryDecision.next(
            after: result, from: situation.gateway, situation: situation.value, now: Self.now, unavailableDelay: 30,
            inFlightRecheck: 0.5)
    }

    /// The rules that must hold in every cell.
    @Test(arguments: Situation.allCases)
    func invariantsHoldForEveryOutcome(_ situation: Situation) {
        for (name, result) in Self.outcomes {
            let step = decide(name, situation)
            let cell = "\(name) × \(situation.rawValue): \(step)"
            if situation.pinned {
                // Never routed elsewhere once it may have reached a gateway.
                if case .retry = step { Issue.record("a pinned message was freed: \(cell)") }
            }
            if case .pinned(let gateway, let resendAt, _, _) = step {
                #expect(gateway == (situation.value.pinnedTo ?? situation.gateway.name), "\(cell)")
                // Only a deduplicating gateway ever gets the same message again.
                if !situation.gateway.deduplicates { #expect(resendAt == nil, "resend without dedup: \(cell)") }
            }
            if case .ambiguous = result.outcome {
                guard case .pinned = step else {
                    Issue.record("ambiguous not pinned: \(cell)")
                    continue
                }
            }
            // Refusals and deferrals never spend an attempt.
            if !result.attempted || { if case .deferred = result.outcome { true } else { false } }() {
                switch step {
                case .retry(_, _, let counts, _), .pinned(_, _, _, let counts): #expect(!counts, "\(cell)")
                default: break
                }
            }
        }
    }

    @Test func theTable() {
        typealias S = DeliveryDecision.Step
        let now = Self.now
        let later = Self.later
        let ambiguousReason = ReasonCode("transport", "timeout_after_send")
        let circuit = GatewayDispatcher.circuitOpen
        let cells: [(String, Situation, S)] = [
            ("accepted", .freshPlain, .accepted(gateway: "ali", providerID: "p1")),
            ("accepted", .pinnedDedup, .accepted(gateway: "gen", providerID: "p1")),
            (
                "failed+fallback", .freshDedup,
                .failed(gateway: "gen", reason: ReasonCode("wechat", "43004"), fallback: true, lastError: nil)
            ),
            (
                "retry", .freshPlain,
                .retry(at: now, reason: ReasonCode("http", "503"), countsAsAttempt: true, gateway: "ali")
            ),
            (
                "retry-after", .freshDedup,
                .retry(at: later, reason: ReasonCode("http", "429"), countsAsAttempt: true, gateway: "gen")
            ),
            (
                "retry", .exhaustedPlain,
                .failed(
                    gateway: "ali", reason: RetryPolicy.attemptsExhausted, fallback: false,
                    lastError: ReasonCode("http", "503"))
            ),
            // The resend got a 503: the first send may still have gone through. Same gateway only.
            (
                "retry", .pinnedDedup,
                .pinned(gateway: "gen", resendAt: now, reason: ReasonCode("http", "503"), countsAsAttempt: true)
            ),
            (
                "retry", .pinnedPlain,
                .pinned(gateway: "ali", resendAt: nil, reason: ReasonCode("http", "503"), countsAsAttempt: true)
            ),
            (
                "409", .freshDedup,
                .pinned(
                    gateway: "gen", resendAt: now.addingTimeInterval(0.5), reason: ReasonCode("http", "409"),
                    countsAsAttempt: false)
            ),
            (
                "409", .freshPlain,
                .retry(at: now, reason: ReasonCode("http", "409"), countsAsAttempt: true, gateway: "ali")
            ),
            ("circuit-open", .freshPlain, .retry(at: later, reason: circuit, countsAsAttempt: false, gateway: "ali")),
            // The bug this table exists for: breaker open after an ambiguous send.
            (
                "circuit-open", .pinnedDedup,
                .pinned(gateway: "gen", resendAt: later, reason: circuit, countsAsAttempt: false)
            ),
            (
                "circuit-open", .pinnedPlain,
                .pinned(gateway: "ali", resendAt: nil, reason: circuit, countsAsAttempt: false)
            ),
            (
                "paused-by-answer", .freshPlain,
                .retry(
                    at: now.addingTimeInterval(30), reason: ReasonCode("aliyun", "isv.AMOUNT_NOT_ENOUGH"),
                    countsAsAttempt: false, gateway: "ali")
            ),
            (
                "paused", .pinnedDedup,
                .pinned(
                    gateway: "gen", resendAt: later, reason: ReasonCode("dispatch", "operator"), countsAsAttempt: false)
            ),
            (
                "quiet-hours", .freshDedup,
                .retry(at: later, reason: OutboxDispatcher.quietHoursReason, countsAsAttempt: false, gateway: "gen")
            ),
            (
                "quiet-hours", .pinnedDedup,
                .pinned(
                    gateway: "gen", resendAt: later, reason: OutboxDispatcher.quietHoursReason, countsAsAttempt: false)
            ),
            (
                "cancelled", .pinnedDedup,
                .pinned(gateway: "gen", resendAt: now, reason: GatewayDispatcher.cancelled, countsAsAttempt: false)
            ),
            (
                "ambiguous", .freshDedup,
                .pinned(gateway: "gen", resendAt: now, reason: ambiguousReason, countsAsAttempt: true)
            ),
            (
                "ambiguous", .freshPlain,
                .pinned(gateway: "ali", resendAt: nil, reason: ambiguousReason, countsAsAttempt: true)
            ),
            (
                "ambiguous", .pinnedPlain,
                .pinned(gateway: "ali", resendAt: nil, reason: ambiguousReason, countsAsAttempt: true)
            ),
        ]
        for (outcome, situation, expected) in cells {
            #expect(decide(outcome, situation) == expected, "\(outcome) × \(situation.rawValue)")
        }
    }

    /// WeChat forgets a `client_msg_id` after 10 minutes: no resend may land after that.
    @Test func aResendStaysInsideTheProvidersDeduplicationWindow() {
        let ambiguous = DispatchResult(
            outcome: .ambiguous(reason: ReasonCode("transport", "timeout_after_send")), attempted: true,
            throttled: false,
            waited: .zero)
        let circuit = DispatchResult(
            outcome: .deferred(until: Self.now.addingTimeInterval(30), reason: GatewayDispatcher.circuitOpen),
            attempted: false, throttled: false, waited: .zero)
        func step(_ result: DispatchResult, firstAttempt: TimeInterval) -> DeliveryDecision.Step {
            DeliveryDecision.next(
                after: result, from: Self.wechat,
                situation: .init(
                    pinnedTo: "wx", attempts: 1, firstAttemptAt: Self.now.addingTimeInterval(-firstAttempt)),
                now: Self.now)
        }
        #expect(
            step(ambiguous, firstAttempt: 60)
                == .pinned(
                    gateway: "wx", resendAt: Self.now, reason: ReasonCode("transport", "timeout_after_send"),
                    countsAsAttempt: true))
        #expect(
            step(ambiguous, firstAttempt: 600)
                == .pinned(
                    gateway: "wx", resendAt: nil, reason: ReasonCode("transport", "timeout_after_send"),
                    countsAsAttempt: true))
        #expect(
            step(circuit, firstAttempt: 60)
                == .pinned(
                    gateway: "wx", resendAt: Self.now.addingTimeInterval(30), reason: GatewayDispatcher.circuitOpen,
                    countsAsAttempt: false))
        #expect(
            step(circuit, firstAttempt: 520)
                == .pinned(gateway: "wx", resendAt: nil, reason: GatewayDispatcher.circuitOpen, countsAsAttempt: false))
    }
}
