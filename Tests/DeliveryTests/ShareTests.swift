import Delivery
import Foundation
import Kit
import Testing

/// One node's share of a provider account's rate and burst (``TokenBucket/setShare(_:now:)``).
@Suite struct TokenBucketShareTests {
    /// Takes every token as soon as it comes, from `start` until `end`; returns the grant times.
    private func drain(_ bucket: inout TokenBucket, from start: Duration, until end: Duration) -> [Duration] {
        var grants: [Duration] = []
        var now = start
        while now < end {
            if let wait = bucket.reserve(now: now) { now += wait } else { grants.append(now) }
        }
        return grants.filter { $0 < end }
    }

    @Test func aHalfShareHalvesSustainedThroughputAndOneNodeRestoresIt() {
        var bucket = TokenBucket(rate: 100, burst: 10)
        let alone = drain(&bucket, from: .zero, until: .seconds(10))
        bucket.setShare(2, now: .seconds(10))
        #expect(bucket.share == 2 && bucket.sharedBurst == 5)
        let halved = drain(&bucket, from: .seconds(10), until: .seconds(20))
        bucket.setShare(1, now: .seconds(20))
        #expect(bucket.share == 1 && bucket.sharedBurst == 10)
        let restored = drain(&bucket, from: .seconds(20), until: .seconds(30))
        // 100/s (bursts of 10 every 100 ms); a share of 1/2 is 50/s; the whole rate again.
        #expect(alone.count == 1000)
        #expect(halved.count == 500)
        #expect(restored.count == 1000)
        // The half share's burst is 5: no 100 ms (5 of its 20 ms intervals) sees more than 5 grants.
        for index in halved.indices.dropLast(5) { #expect(halved[index + 5] - halved[index] >= .milliseconds(100)) }
    }

    @Test func aShareOfAnOddRateIsExactWithoutDrift() {
        // 3/s shared by 2: 1.5/s, a token every 666,666,666,666,666,666⅔ attoseconds.
        var bucket = TokenBucket(rate: 3, burst: 1)
        bucket.setShare(2, now: .zero)
        let second: Int128 = 1_000_000_000_000_000_000
        let grants = drain(&bucket, from: .zero, until: .seconds(20_000))
        #expect(grants.count == 30_000)
        for (index, grant) in grants.enumerated() where grant.attoseconds != (Int128(index) * 2 * second + 2) / 3 {
            Issue.record("grant \(index) at \(grant)")
            break
        }
    }

    @Test func keepsTheFillLevelClampedToTheNewBurst() {
        var bucket = TokenBucket(rate: 10, burst: 10)
        bucket.setShare(2, now: .zero)
        #expect(bucket.available(now: .zero) == 5)
        for _ in 0..<2 { #expect(bucket.reserve(now: .zero) == nil) }
        #expect(bucket.available(now: .zero) == 3)
        // Back to the whole rate: what is left stays, it does not refill to the larger burst.
        bucket.setShare(1, now: .zero)
        #expect(bucket.available(now: .zero) == 3)
        // Then it refills at the whole rate, up to the whole burst.
        #expect(bucket.available(now: .milliseconds(500)) == 8)
        #expect(bucket.available(now: .seconds(5)) == 10)
    }

    @Test func aPartTokenIsKeptAtTheNewRate() {
        // Half of 10/s with a burst of 2: 5/s, a burst of 1.
        var bucket = TokenBucket(rate: 10, burst: 2)
        bucket.setShare(2, now: .zero)
        #expect(bucket.reserve(now: .zero) == nil)
        // A quarter of the way to the next token (50 of 200 ms), the node is alone again: three
        // quarters of a token remain, at 100 ms a token.
        bucket.setShare(1, now: .milliseconds(50))
        #expect(bucket.wait(now: .milliseconds(50)) == .milliseconds(75))
    }

    @Test func aSmallerShareSpacesTheNextGrantByTheNewInterval() {
        var bucket = TokenBucket(rate: 10, burst: 1)
        #expect(bucket.reserve(now: .zero) == nil)
        // Half-way to the next token the share halves: the next grant comes a whole new interval
        // (200 ms) after the last, since no window of that length may see more than the burst.
        bucket.setShare(2, now: .milliseconds(50))
        #expect(bucket.wait(now: .milliseconds(50)) == .milliseconds(150))
        #expect(bucket.reserve(now: .milliseconds(200)) == nil)
        #expect(bucket.wait(now: .milliseconds(200)) == .milliseconds(200))
    }

    @Test func theBurstIsAtLeastOneToken() {
        var bucket = TokenBucket(rate: 100, burst: 3)
        bucket.setShare(5, now: .zero)
        #expect(bucket.sharedBurst == 1)
        #expect(bucket.reserve(now: .zero) == nil)
        // 20/s: the next token 50 ms on.
        #expect(bucket.reserve(now: .zero) == .milliseconds(50))
        bucket.setShare(0, now: .zero)
        #expect(bucket.share == 1 && bucket.sharedBurst == 3)
    }
}

@Suite struct GatewayDispatcherShareTests {
    /// Sends back to back until cancelled while the clock is moved to `end` in 10 ms steps, calling
    /// `at` on the way; returns the send times.
    private func sendBackToBack(
        _ gateway: GatewayDispatcher, clock: ManualClock, sender: ScriptedSender, until end: Duration,
        at changes: [Duration: @Sendable () async -> Void]
    ) async -> [Duration] {
        let sending = Task {
            var index = 0
            while !Task.isCancelled {
                _ = await gateway.send(message("m\(index)"))
                index += 1
            }
        }
        while clock.elapsed < end {
            await clock.waitForSleepers()
            if let change = changes[clock.elapsed] { await change() }
            clock.advance(by: .milliseconds(10))
        }
        sending.cancel()
        _ = await sending.value
        return sender.sentTimes.filter { $0 < end }
    }

    @Test func aHalfShareHalvesTheSendRateAndRebalancingRestoresIt() async throws {
        let clock = ManualClock()
        let sender = ScriptedSender(clock: clock)
        let gateway = try dispatcher(rate: 20, burst: 2, clock: clock, sender: sender)
        let times = await sendBackToBack(
            gateway, clock: clock, sender: sender, until: .seconds(6),
            at: [
                .seconds(2): { await gateway.setShare(nodes: 2) },
                .seconds(4): { await gateway.setShare(nodes: 1) },
            ])
        let first = times.filter { $0 < .seconds(2) }.count
        let shared = times.filter { $0 >= .seconds(2) && $0 < .seconds(4) }.count
        let restored = times.filter { $0 >= .seconds(4) }.count
        // 20/s (two every 100 ms). Then 10/s: the two granted at 2 s under the whole share, one
        // every 100 ms after. Then 20/s again, from the wake-up the half share had scheduled (4.1 s):
        // a sleeper sees the new share when it wakes, so a larger one starts up to an old interval late.
        #expect(first == 40)
        #expect(shared == 2 + 19)
        #expect(restored == 1 + 38)
        #expect(await gateway.share == 1)
    }
}
