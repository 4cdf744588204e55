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
/// Times are durations since an arbitrary fixed origin of a monotonic clock.
public struct TokenBucket: Sendable, Hashable {
    /// Tokens added per ``period``.
    public let rate: Int
    /// The refill period of ``rate``.
    public let period: Duration
    /// The most tokens the bucket holds, and the most sends in any window of `burst × period / rate`.
    public let burst: Int

    /// One token's worth of scaled time: `period` in attoseconds.
    private let interval: Int128
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
        if recent.count < burst {
            recent.append(grant)
        } else {
            recent[head] = grant
            head = (head + 1) % burst
        }
        return nil
    }

    /// The tokens that could be taken at `now` without waiting.
    public func available(now: Duration) -> Int {
        let scaledNow = now.attoseconds * Int128(rate)
        var tokens = Int128(burst)
        if let arrival {
            let credit = scaledNow + tolerance - Swift.max(arrival, scaledNow)
            tokens = Swift.min(tokens, credit < 0 ? 0 : credit / interval + 1)
        }
        if recent.count == burst {
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

    private var tolerance: Int128 { Int128(burst - 1) * interval }
    private var window: Int128 { Int128(burst) * interval }

    private func earliestGrant(_ scaledNow: Int128) -> Int128 {
        var earliest = (arrival ?? scaledNow) - tolerance
        if recent.count == burst {
            earliest = Swift.max(earliest, recent[head] + window)
        }
        return earliest
    }
}
