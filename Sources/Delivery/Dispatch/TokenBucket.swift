/// A token bucket that refills `rate` tokens per `period` and holds at most `burst`.
///
/// The bucket keeps the generic cell rate algorithm's theoretical arrival time in integer
/// units (attoseconds × rate), so the schedule never drifts however long it runs, whatever the
/// rate. On top of that it keeps the grant times of the last `burst` tokens and never grants a
/// token less than `burst × period / rate` after the one `burst` grants earlier: no window of
/// that length ever sees more than `burst` sends, even when the caller fell behind and the
/// bucket holds credit.
///
/// A caller that comes back late loses the time it was late by: the window holds for actual
/// grant times, so under a backlog the rate is `burst / (window + lateness)` per window.
///
/// Several nodes sending through one provider account each take a share of it
/// (``setShare(_:now:)``): with a share of 1/N the bucket refills `rate` tokens per `N × period`
/// — exactly `rate / N` per `period`, never rounded, since the scaled time stays in units of
/// `rate` — and holds at most ``sharedBurst`` = `max(1, burst / N)` (rounded down, so N nodes
/// together hold no more than `burst` while `burst >= N`, and one each when it is smaller).
///
/// Times are durations since an arbitrary fixed origin of a monotonic clock.
public struct TokenBucket: Sendable, Hashable {
    /// Tokens added per ``period``: the whole account's rate.
    public let rate: Int
    /// The refill period of ``rate``.
    public let period: Duration
    /// The whole account's bucket size.
    public let burst: Int
    /// The bucket takes `1 / share` of ``rate`` and ``burst``. Default 1: all of it.
    public private(set) var share = 1
    /// The most tokens this share holds, and the most sends in any window of
    /// `sharedBurst × share × period / rate`.
    public private(set) var sharedBurst: Int

    /// One token's worth of scaled time: `share × period` in attoseconds.
    private var interval: Int128
    /// The theoretical arrival time of the next token, scaled; nil before the first grant.
    private var arrival: Int128?
    /// Grant times of the last `burst` tokens, scaled, as a ring.
    private var recent: [Int128]
    private var head = 0

    /// Creates a full bucket.
    ///
    /// - Parameters:
    ///   - rate: tokens per `period`, at least 1.
    ///   - period: the refill period, positive. Default one second.
    ///   - burst: the bucket size, at least 1.
    public init(rate: Int, per period: Duration = .seconds(1), burst: Int) {
        precondition(rate > 0 && burst > 0 && period > .zero, "TokenBucket needs a positive rate, period and burst")
        self.rate = rate
        self.period = period
        self.burst = burst
        self.sharedBurst = burst
        self.interval = period.attoseconds
        self.recent = []
        self.recent.reserveCapacity(burst)
    }

    /// Takes a token if one is available at `now`.
    ///
    /// - Returns: `nil` when a token was taken; otherwise how long until one will be, having taken
    ///   nothing. Calling again after exactly that wait takes a token.
    public mutating func reserve(now: Duration) -> Duration? {
        let scaledNow = now.attoseconds * Int128(rate)
        let earliest = earliestGrant(scaledNow)
        guard earliest <= scaledNow else {
            let wait = earliest - scaledNow
            let rateUnits = Int128(rate)
            return Duration(attoseconds: (wait + rateUnits - 1) / rateUnits)
        }
        // A caller who slept for a rounded-up wait arrives less than an attosecond late: grant at the
        // scheduled instant so the rounding never accumulates.
        let grant = scaledNow - earliest < Int128(rate) ? earliest : scaledNow
        arrival = Swift.max(arrival ?? grant, grant) + interval
        if recent.count < sharedBurst {
            recent.append(grant)
        } else {
            recent[head] = grant
            head = (head + 1) % sharedBurst
        }
        return nil
    }

    /// Takes `1 / parts` of the account's rate and burst from `now` on (`parts` below 1 counts as 1).
    ///
    /// The bucket keeps its fill level, as a fraction of a token too: a bucket holding 3.4 tokens
    /// still holds 3.4 after the change, or the new ``sharedBurst`` if that is less; a bucket
    /// holding a quarter token still needs three quarters, at the new interval. The grant times it
    /// remembers stay (the newest `sharedBurst` of them), so no window of the new length sees more
    /// than the new burst, counting the grants just before the change: after a smaller share the
    /// next grant may come later than the fill level alone says.
    public mutating func setShare(_ parts: Int, now: Duration) {
        let parts = Swift.max(parts, 1)
        guard parts != share else { return }
        let scaledNow = now.attoseconds * Int128(rate)
        let newBurst = Swift.max(1, burst / parts)
        if let arrival {
            // The debt in scaled time: how far the bucket is from full. In tokens it is debt / interval;
            // the fill level (sharedBurst − debt / interval) is kept, clamped to the new burst, and
            // turned back into a debt in the new interval (rounded up: never a fraction of credit more).
            let debt = Swift.max(arrival, scaledNow) - scaledNow
            let keptDebtOld = Swift.max(Int128(newBurst - sharedBurst) * interval + debt, 0)
            let newDebt = (keptDebtOld * Int128(parts) + Int128(share) - 1) / Int128(share)
            self.arrival = scaledNow + newDebt
        }
        var chronological = recent.count == sharedBurst ? Array(recent[head...] + recent[..<head]) : recent
        if chronological.count > newBurst { chronological.removeFirst(chronological.count - newBurst) }
        recent = chronological
        recent.reserveCapacity(newBurst)
        head = 0
        share = parts
        sharedBurst = newBurst
        interval = period.attoseconds * Int128(parts)
    }

    /// The tokens that could be taken at `now` without waiting.
    public func available(now: Duration) -> Int {
        let scaledNow = now.attoseconds * Int128(rate)
        var tokens = Int128(sharedBurst)
        if let arrival {
            let credit = scaledNow + tolerance - Swift.max(arrival, scaledNow)
            tokens = Swift.min(tokens, credit < 0 ? 0 : credit / interval + 1)
        }
        if recent.count == sharedBurst {
            let windowStart = scaledNow - window
            tokens = Swift.min(tokens, Int128(recent.count { $0 <= windowStart }))
        }
        return Int(Swift.max(0, tokens))
    }

    /// How long until a token is available at `now`, without taking one; nil when one is.
    public func wait(now: Duration) -> Duration? {
        var copy = self
        return copy.reserve(now: now)
    }

    private var tolerance: Int128 { Int128(sharedBurst - 1) * interval }
    private var window: Int128 { Int128(sharedBurst) * interval }

    private func earliestGrant(_ scaledNow: Int128) -> Int128 {
        var earliest = (arrival ?? scaledNow) - tolerance
        if recent.count == sharedBurst {
            earliest = Swift.max(earliest, recent[head] + window)
        }
        return earliest
    }
}
