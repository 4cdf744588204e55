import Delivery
import Foundation
import Kit
import Synchronization
import Testing

@Suite struct TokenBucketTests {
    private static let second: Int128 = 1_000_000_000_000_000_000

    @Test func grantsOnAnExactScheduleWithoutDrift() {
        // 3 per second: one token every 333,333,333,333,333,333⅓ attoseconds.
        var bucket = TokenBucket(rate: 3, burst: 1)
        var now = Duration.zero
        for grant in 0..<300_000 {
            while let wait = bucket.reserve(now: now) { now += wait }
            // The k-th grant comes at the first attosecond at or after k/3 s, however many came before.
            #expect(now.attoseconds == (Int128(grant) * Self.second + 2) / 3)
            if now.attoseconds != (Int128(grant) * Self.second + 2) / 3 { break }
        }
        #expect(now.attoseconds == (299_999 * Self.second + 2) / 3)
    }

    @Test func neverGrantsMoreThanTheBurstInAWindow() {
        var bucket = TokenBucket(rate: 200, burst: 2)
        var grants: [Duration] = []
        var now = Duration.zero
        while now < .seconds(1) {
            if let wait = bucket.reserve(now: now) { now += wait } else { grants.append(now) }
        }
        #expect(grants.prefix(4) == [.zero, .zero, .milliseconds(10), .milliseconds(10)])
        #expect(grants.filter { $0 < .seconds(1) }.count == 200)
        for index in grants.indices.dropLast(2) { #expect(grants[index + 2] - grants[index] >= .milliseconds(10)) }
    }

    @Test func aLateCallerCatchesUpWithoutBurstingOrExceedingTheRate() {
        var bucket = TokenBucket(rate: 100, burst: 4)
        var random = SplitMix64(seed: 7)
        var grants: [Duration] = []
        var now = Duration.zero
        while now < .seconds(30) {
            if let wait = bucket.reserve(now: now) {
                // Wake up to 3 ms late, as a loaded machine does.
                now += wait + .microseconds(Int64(random.next() % 3000))
            } else {
                grants.append(now)
            }
        }
        for index in grants.indices.dropLast(4) { #expect(grants[index + 4] - grants[index] >= .milliseconds(40)) }
        let inThirtySeconds = grants.filter { $0 < .seconds(30) }.count
        // Never above the rate; the window holds for actual times, so each group of 4 loses the
        // lateness of its wake-up (1.5 ms on average per 40 ms window: about 3.6 %).
        #expect(inThirtySeconds <= 3004 && inThirtySeconds >= 3000 * 40 / 43, "granted \(inThirtySeconds)")
    }

    @Test func refillsAfterIdleUpToTheBurstOnly() {
        var bucket = TokenBucket(rate: 10, burst: 3)
        #expect(bucket.available(now: .zero) == 3)
        for _ in 0..<3 { #expect(bucket.reserve(now: .zero) == nil) }
        #expect(bucket.available(now: .zero) == 0)
        #expect(bucket.reserve(now: .zero) == .milliseconds(300))
        #expect(bucket.available(now: .seconds(60)) == 3)
        for _ in 0..<3 { #expect(bucket.reserve(now: .seconds(60)) == nil) }
        #expect(bucket.wait(now: .seconds(60)) == .milliseconds(300))
    }

    @Test func supportsRatesPerLongerPeriods() {
        var bucket = TokenBucket(rate: 1, per: .seconds(30), burst: 1)
        #expect(bucket.reserve(now: .seconds(5)) == nil)
        #expect(bucket.reserve(now: .seconds(6)) == .seconds(29))
        #expect(bucket.reserve(now: .seconds(35)) == nil)
    }
}

@Suite struct DailyCapTests {
    /// 2026-03-01T15:59:59Z is 23:59:59 in Shanghai.
    private let beforeMidnight = Date(timeIntervalSince1970: 1_772_380_799)

    @Test func resetsAtShanghaiMidnight() {
        var cap = DailyCap(limit: 2)
        #expect(cap.reserve(now: beforeMidnight.addingTimeInterval(-3600)) == nil)
        #expect(cap.reserve(now: beforeMidnight) == nil)
        let midnight = beforeMidnight.addingTimeInterval(1)
        #expect(cap.reserve(now: beforeMidnight) == midnight)
        #expect(cap.exhausted(now: beforeMidnight) == midnight)
        #expect(cap.used(now: beforeMidnight) == 2)
        #expect(cap.used(now: midnight) == 0)
        #expect(cap.exhausted(now: midnight) == nil)
        #expect(cap.reserve(now: midnight) == nil)
        #expect(cap.used(now: midnight) == 1)
    }

    @Test func usesTheConfiguredZone() {
        var cap = DailyCap(limit: 1, timeZone: .gmt)
        #expect(cap.reserve(now: beforeMidnight) == nil)
        // Shanghai's midnight is only 16:00 in UTC: still the same UTC day.
        #expect(cap.reserve(now: beforeMidnight.addingTimeInterval(1)) == Date(timeIntervalSince1970: 1_772_409_600))
    }

    @Test func aZeroCapRefusesEverything() {
        var cap = DailyCap(limit: 0)
        #expect(cap.reserve(now: beforeMidnight) == beforeMidnight.addingTimeInterval(1))
    }
}

@Suite struct InFlightLimiterTests {
    @Test func waitersGetSlotsInArrivalOrder() async throws {
        let limiter = InFlightLimiter(limit: 1)
        try await limiter.acquire()
        let order = OrderRecorder()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<5 {
                group.addTask {
                    try await limiter.acquire()
                    order.append(index)
                    limiter.release()
                }
                // Each waiter is queued before the next is started, so arrival order is known.
                while limiter.waiting < index + 1 { await Task.yield() }
            }
            limiter.release()
            try await group.waitForAll()
        }
        #expect(order.values == [0, 1, 2, 3, 4])
        #expect(limiter.inUse == 0 && limiter.waiting == 0)
    }

    @Test func aNewcomerDoesNotOvertakeAWaiter() async throws {
        let limiter = InFlightLimiter(limit: 1)
        try await limiter.acquire()
        let waiter = Task { try await limiter.acquire() }
        while limiter.waiting < 1 { await Task.yield() }
        limiter.release()
        #expect(!limiter.tryAcquire())
        try await waiter.value
        #expect(limiter.inUse == 1)
        limiter.release()
        #expect(limiter.tryAcquire())
    }

    @Test func cancelledWaiterLeavesWithoutTakingASlot() async throws {
        let limiter = InFlightLimiter(limit: 2)
        try await limiter.acquire()
        try await limiter.acquire()
        let first = Task { try await limiter.acquire() }
        while limiter.waiting < 1 { await Task.yield() }
        let second = Task { try await limiter.acquire() }
        while limiter.waiting < 2 { await Task.yield() }
        first.cancel()
        await #expect(throws: CancellationError.self) { try await first.value }
        #expect(limiter.waiting == 1)
        limiter.release()
        try await second.value
        #expect(limiter.inUse == 2 && limiter.waiting == 0)
    }

    @Test func alreadyCancelledTaskThrowsAtOnce() async throws {
        let limiter = InFlightLimiter(limit: 1)
        try await limiter.acquire()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await limiter.acquire()
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(limiter.inUse == 1 && limiter.waiting == 0)
    }
}

@Suite struct RecipientLimitsTests {
    private let start = Date(timeIntervalSince1970: 1_767_225_600)

    @Test func tencentAllowsOnePerThirtySeconds() {
        var limits = RecipientLimits(windows: RecipientLimits.tencentSameContent)
        let key = RecipientLimits.key(scope: "tencent", "13800000000", "digest")
        #expect(limits.check(key: key, now: start) == nil)
        limits.record(key: key, now: start)
        #expect(limits.check(key: key, now: start.addingTimeInterval(10)) == start.addingTimeInterval(30))
        #expect(limits.check(key: key, now: start.addingTimeInterval(30)) == nil)
        #expect(limits.check(key: RecipientLimits.key(scope: "tencent", "13800000001", "digest"), now: start) == nil)
    }

    @Test func aliyunAllowsFiftyPerRollingDay() {
        var limits = RecipientLimits(windows: RecipientLimits.aliyunNotification)
        let key = RecipientLimits.key(scope: "aliyun", "sign", "SMS_1", "13800000000")
        for minute in 0..<50 { limits.record(key: key, now: start.addingTimeInterval(Double(minute) * 60)) }
        let later = start.addingTimeInterval(3600)
        #expect(limits.check(key: key, now: later) == start.addingTimeInterval(86_400))
        #expect(limits.check(key: key, now: start.addingTimeInterval(86_400)) == nil)
        limits.record(key: key, now: start.addingTimeInterval(86_400))
        #expect(limits.check(key: key, now: start.addingTimeInterval(86_400)) == start.addingTimeInterval(86_460))
    }

    @Test func severalWindowsAndScopes() {
        var limits = RecipientLimits(windows: [
            .init(limit: 1, per: .seconds(60), scope: "verify"), .init(limit: 5, per: .seconds(3600), scope: "verify"),
            .init(limit: 2, per: .seconds(86_400), scope: "number"),
        ])
        let verify = RecipientLimits.key(scope: "verify", "sign", "13800000000")
        for minute in 0..<5 { limits.record(key: verify, now: start.addingTimeInterval(Double(minute) * 60)) }
        // The minute window has room again, the hour window does not.
        #expect(limits.check(key: verify, now: start.addingTimeInterval(300)) == start.addingTimeInterval(3600))
        let number = RecipientLimits.key(scope: "number", "13800000000")
        limits.record(key: number, now: start)
        #expect(limits.check(key: number, now: start) == nil)
        limits.record(key: number, now: start)
        #expect(limits.check(key: number, now: start) == start.addingTimeInterval(86_400))
        var unscoped = limits
        unscoped.record(key: "nobody-counts-this", now: start)
        #expect(unscoped.check(key: "nobody-counts-this", now: start) == nil)
    }

    @Test func forgetTakesBackARecord() {
        var limits = RecipientLimits(windows: RecipientLimits.tencentSameContent)
        limits.record(key: "k", now: start)
        limits.forget(key: "k", at: start)
        #expect(limits.check(key: "k", now: start) == nil)
        #expect(limits.trackedKeys == 0)
    }

    @Test func expiredKeysAreDropped() {
        var limits = RecipientLimits(windows: RecipientLimits.tencentSameContent)
        for index in 0..<10_000 { limits.record(key: "n\(index)", now: start) }
        #expect(limits.trackedKeys == 10_000)
        limits.record(key: "late", now: start.addingTimeInterval(61))
        #expect(limits.trackedKeys == 1)
        // A key keeps no more entries than its largest window needs.
        for second in 0..<1000 { limits.record(key: "busy", now: start.addingTimeInterval(100 + Double(second) / 100)) }
        #expect(limits.check(key: "busy", now: start.addingTimeInterval(110)) == start.addingTimeInterval(139.99))
    }
}

final class OrderRecorder: Sendable {
    private let storage = Mutex<[Int]>([])
    var values: [Int] { storage.withLock { $0 } }
    func append(_ value: Int) { storage.withLock { $0.append(value) } }
}
