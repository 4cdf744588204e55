import Delivery
import Foundation
import Kit
import Testing

@Suite struct RetryAfterTests {
    private let now = Date(timeIntervalSince1970: 1_445_410_000)  // 2015-10-21T06:46:40Z

    @Test func parsesDelaySeconds() {
        #expect(RetryAfter.parse("120", now: now) == now.addingTimeInterval(120))
        #expect(RetryAfter.parse(" 0 ", now: now) == now)
    }

    @Test func parsesIMFFixdate() {
        #expect(
            RetryAfter.parse("Wed, 21 Oct 2015 07:28:00 GMT", now: now) == Date(timeIntervalSince1970: 1_445_412_480))
        #expect(
            RetryAfter.parse("Thu, 29 Feb 2024 00:00:00 GMT", now: Date(timeIntervalSince1970: 1_709_164_000))
                == Date(timeIntervalSince1970: 1_709_164_800))
    }

    @Test func aPastDateMeansNow() {
        #expect(RetryAfter.parse("Sun, 06 Nov 1994 08:49:37 GMT", now: now) == now)
    }

    @Test func capsLongWaits() {
        #expect(RetryAfter.parse("999999999999999999999", now: now) == now.addingTimeInterval(86_400))
        #expect(RetryAfter.parse("7200", now: now, maximum: 3600) == now.addingTimeInterval(3600))
        #expect(RetryAfter.parse("Fri, 31 Dec 9999 23:59:59 GMT", now: now) == now.addingTimeInterval(86_400))
    }

    @Test(arguments: [
        "", "  ", "-5", "1.5", "12s", "+3", "soon", "Wed, 21 Oct 2015 07:28:00 UTC", "Wed, 21 Oct 2015 07:28:00",
        "Wednesday, 21-Oct-15 07:28:00 GMT", "Wed, 30 Feb 2015 07:28:00 GMT", "Wed, 21 Oct 2015 24:00:00 GMT",
        "Wed, 21 Okt 2015 07:28:00 GMT", "Xyz, 21 Oct 2015 07:28:00 GMT", "Wed,21 Oct 2015 07:28:00 GMT",
    ])
    func ignoresInvalidValues(value: String) {
        #expect(RetryAfter.parse(value, now: now) == nil)
    }
}

@Suite struct RetryPolicyTests {
    private let start = Date(timeIntervalSince1970: 1_767_225_600)
    private let policy = RetryPolicy(
        maxAttempts: 12, baseDelay: .milliseconds(500), maxDelay: .seconds(60), maxAge: .seconds(86_400))

    @Test func jitteredDelaysStayWithinTheCappedExponentialCeiling() {
        var random = SplitMix64(seed: 42)
        for attempt in 1..<12 {
            let ceiling = min(60.0, 0.5 * pow(2, Double(attempt - 1)))
            #expect(policy.ceiling(attempt: attempt) == .milliseconds(Int64(ceiling * 1000)))
            var lowest = Double.infinity
            var highest = 0.0
            for _ in 0..<1000 {
                guard
                    case .retry(let at) = policy.next(
                        attempt: attempt, firstAttemptAt: start, now: start, providerEarliest: nil, using: &random)
                else {
                    Issue.record("gave up at attempt \(attempt)")
                    return
                }
                let delay = at.timeIntervalSince(start)
                #expect(delay >= 0 && delay <= ceiling + 1e-6)
                lowest = min(lowest, delay)
                highest = max(highest, delay)
            }
            // Full jitter: the draws cover the whole range, not just its upper part.
            #expect(lowest < ceiling * 0.05 && highest > ceiling * 0.95)
        }
    }

    @Test func neverRetriesBeforeTheProviderSays() {
        var random = SplitMix64(seed: 1)
        let providerEarliest = start.addingTimeInterval(120)
        for attempt in 1..<5 {
            let decision = policy.next(
                attempt: attempt, firstAttemptAt: start, now: start, providerEarliest: providerEarliest, using: &random)
            guard case .retry(let at) = decision else {
                Issue.record("expected a retry, got \(decision)")
                return
            }
            #expect(at >= providerEarliest)
        }
        // A Retry-After earlier than the drawn backoff does not shorten it.
        let fixed = RetryPolicy(baseDelay: .zero, maxDelay: .zero)
        let decision = fixed.next(
            attempt: 1, firstAttemptAt: start, now: start.addingTimeInterval(10),
            providerEarliest: start.addingTimeInterval(5), using: &random)
        #expect(decision == .retry(at: start.addingTimeInterval(10)))
    }

    @Test func givesUpWhenAttemptsAreExhausted() {
        let short = RetryPolicy(maxAttempts: 3)
        #expect(
            short.next(attempt: 2, firstAttemptAt: start, now: start, providerEarliest: nil)
                != .giveUp(RetryPolicy.attemptsExhausted))
        #expect(
            short.next(attempt: 3, firstAttemptAt: start, now: start, providerEarliest: nil)
                == .giveUp(RetryPolicy.attemptsExhausted))
        #expect(
            short.next(attempt: 9, firstAttemptAt: start, now: start, providerEarliest: nil)
                == .giveUp(RetryPolicy.attemptsExhausted))
    }

    @Test func givesUpWhenTheMessageIsTooOld() {
        let young = RetryPolicy(maxAttempts: 100, baseDelay: .seconds(1), maxDelay: .seconds(1), maxAge: .seconds(3600))
        let now = start.addingTimeInterval(3601)
        #expect(
            young.next(attempt: 1, firstAttemptAt: start, now: now, providerEarliest: nil)
                == .giveUp(RetryPolicy.maxAgeExceeded))
        // A Retry-After beyond the age limit ends the message too.
        let earlier = start.addingTimeInterval(60)
        #expect(
            young.next(
                attempt: 1, firstAttemptAt: start, now: earlier, providerEarliest: start.addingTimeInterval(7200))
                == .giveUp(RetryPolicy.maxAgeExceeded))
        let immediate = RetryPolicy(maxAttempts: 100, baseDelay: .zero, maxDelay: .zero, maxAge: .seconds(3600))
        #expect(
            immediate.next(attempt: 1, firstAttemptAt: start, now: earlier, providerEarliest: nil)
                == .retry(at: earlier))
    }

    @Test func hugeAttemptCountsUseTheCap() {
        #expect(policy.ceiling(attempt: 200) == .seconds(60))
        #expect(policy.ceiling(attempt: 0) == .milliseconds(500))
        #expect(RetryPolicy(baseDelay: .zero, maxDelay: .zero).ceiling(attempt: 70) == .zero)
    }
}
