import Delivery
import Testing

@Suite struct CircuitBreakerTests {
    private func call(_ breaker: inout CircuitBreaker, _ verdict: CircuitBreaker.Verdict, at now: Duration = .zero) {
        guard let permit = breaker.acquire(now: now) else {
            Issue.record("breaker refused a call at \(now)")
            return
        }
        breaker.record(verdict, for: permit, now: now)
    }

    @Test func opensOnTheFailureRateOnceTheWindowHasEnoughCalls() {
        var breaker = CircuitBreaker(
            configuration: .init(windowSize: 10, minimumCalls: 6, failureRate: 0.5, consecutiveFailures: 100))
        for _ in 0..<2 {
            call(&breaker, .failure)
            call(&breaker, .success)
        }
        call(&breaker, .failure)
        #expect(breaker.phase == .closed)  // 3 of 5: too few calls to judge
        call(&breaker, .success)
        #expect(breaker.phase == .open)  // 3 of 6
    }

    @Test func theWindowSlides() {
        var breaker = CircuitBreaker(
            configuration: .init(windowSize: 4, minimumCalls: 4, failureRate: 0.75, consecutiveFailures: 100))
        for verdict: CircuitBreaker.Verdict in [.failure, .failure, .success, .success, .failure, .success] {
            call(&breaker, verdict)
        }
        #expect(breaker.phase == .closed)  // window holds s, s, f, s
        call(&breaker, .failure)
        call(&breaker, .failure)
        #expect(breaker.phase == .open)  // window f, s, f, f
    }

    @Test func opensOnConsecutiveFailures() {
        var breaker = CircuitBreaker(configuration: .init(windowSize: 100, minimumCalls: 100, consecutiveFailures: 3))
        call(&breaker, .failure)
        call(&breaker, .failure)
        call(&breaker, .success)
        call(&breaker, .failure)
        call(&breaker, .failure)
        #expect(breaker.phase == .closed)
        call(&breaker, .failure)
        #expect(breaker.phase == .open)
    }

    @Test func coolsDownToHalfOpenThenClosesOnSuccess() {
        var breaker = CircuitBreaker(configuration: .init(consecutiveFailures: 1, coolDown: .seconds(30)))
        call(&breaker, .failure, at: .seconds(10))
        #expect(breaker.phase(now: .seconds(39)) == .open)
        #expect(breaker.acquire(now: .seconds(39)) == nil)
        #expect(!breaker.admits(now: .seconds(39)))
        #expect(breaker.phase(now: .seconds(40)) == .halfOpen)
        let probe = breaker.acquire(now: .seconds(40))
        #expect(probe != nil && breaker.phase == .halfOpen)
        #expect(breaker.acquire(now: .seconds(40)) == nil)  // one probe at a time
        if let probe { breaker.record(.success, for: probe, now: .seconds(41)) }
        #expect(breaker.phase == .closed)
    }

    @Test func aFailedProbeReopensForAnotherCoolDown() {
        var breaker = CircuitBreaker(
            configuration: .init(consecutiveFailures: 1, coolDown: .seconds(30), halfOpenProbes: 2))
        call(&breaker, .failure)
        let first = breaker.acquire(now: .seconds(30))
        let second = breaker.acquire(now: .seconds(30))
        #expect(first != nil && second != nil && breaker.acquire(now: .seconds(30)) == nil)
        if let first { breaker.record(.failure, for: first, now: .seconds(31)) }
        #expect(breaker.phase == .open && breaker.openUntil == .seconds(61))
        // The other probe's late answer belongs to the previous phase and changes nothing.
        if let second { breaker.record(.success, for: second, now: .seconds(32)) }
        #expect(breaker.phase(now: .seconds(60)) == .open)
        #expect(breaker.phase(now: .seconds(61)) == .halfOpen)
    }

    @Test func neutralProbeFreesItsSlot() {
        var breaker = CircuitBreaker(configuration: .init(consecutiveFailures: 1, coolDown: .seconds(1)))
        call(&breaker, .failure)
        guard let probe = breaker.acquire(now: .seconds(1)) else {
            Issue.record("no probe")
            return
        }
        breaker.record(.neutral, for: probe, now: .seconds(1))
        #expect(breaker.phase == .halfOpen && breaker.admits(now: .seconds(1)))
    }

    @Test func permanentFailuresAndDeferralsDoNotCount() {
        var breaker = CircuitBreaker(configuration: .init(windowSize: 4, minimumCalls: 1, consecutiveFailures: 1))
        let outcomes: [DeliveryOutcome] = [
            .failed(reason: ReasonCode("aliyun", "isv.MOBILE_NUMBER_ILLEGAL"), fallback: false),
            .deferred(until: .now, reason: ReasonCode("tencent", "LimitExceeded.PhoneNumberThirtySecondLimit")),
        ]
        for _ in 0..<50 {
            for outcome in outcomes { call(&breaker, CircuitBreaker.verdict(for: outcome)) }
        }
        #expect(breaker.phase == .closed)
    }

    @Test func classifiesOutcomes() {
        let reason = ReasonCode("http", "503")
        #expect(CircuitBreaker.verdict(for: .accepted(providerID: "1")) == .success)
        #expect(CircuitBreaker.verdict(for: .retry(after: nil, reason: reason)) == .failure)
        #expect(CircuitBreaker.verdict(for: .ambiguous(reason: reason)) == .failure)
        #expect(CircuitBreaker.verdict(for: .pauseGateway(reason: reason, kind: .billing, until: nil)) == .failure)
        #expect(CircuitBreaker.verdict(for: .failed(reason: reason, fallback: true)) == .neutral)
        #expect(CircuitBreaker.verdict(for: .deferred(until: .now, reason: reason)) == .neutral)
    }

    @Test func reportsConfigurationProblems() {
        #expect(CircuitBreaker.Configuration().problems().isEmpty)
        #expect(CircuitBreaker.Configuration(windowSize: 5, minimumCalls: 6, coolDown: .zero).problems().count == 2)
    }
}
