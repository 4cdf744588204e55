import Foundation

/// A limit on sends per natural day in one time zone, reset at local midnight.
public struct DailyCap: Sendable, Hashable {
    /// The most sends per day.
    public let limit: Int
    /// The zone whose midnight starts a new day. Default Asia/Shanghai.
    public let timeZone: TimeZone

    private var dayStart: Date?
    private var dayEnd: Date?
    private var count = 0

    /// The zone of the providers' day boundaries: Asia/Shanghai (UTC+8, no daylight saving).
    public static let shanghai: TimeZone =
        TimeZone(identifier: "Asia/Shanghai") ?? TimeZone(secondsFromGMT: 8 * 3600) ?? .gmt

    /// Creates a cap of `limit` sends per day (at least 0).
    public init(limit: Int, timeZone: TimeZone = DailyCap.shanghai) {
        precondition(limit >= 0, "DailyCap needs a non-negative limit")
        self.limit = limit
        self.timeZone = timeZone
    }

    /// Counts one send at `now` if the day has room.
    ///
    /// - Returns: `nil` when the send was counted; otherwise the next midnight, when the cap resets.
    public mutating func reserve(now: Date) -> Date? {
        roll(to: now)
        guard count < limit else { return dayEnd }
        count += 1
        return nil
    }

    /// Gives back a send counted at `now` that did not happen.
    public mutating func release(now: Date) {
        guard used(now: now) > 0 else { return }
        count -= 1
    }

    /// Sends counted on the day that contains `now`.
    public func used(now: Date) -> Int {
        guard let dayStart, let dayEnd, now >= dayStart, now < dayEnd else { return 0 }
        return count
    }

    /// Whether a send at `now` would be refused, and until when.
    public func exhausted(now: Date) -> Date? {
        guard used(now: now) >= limit else { return nil }
        return dayEnd ?? nextMidnight(after: now)
    }

    /// The first midnight in ``timeZone`` strictly after `date`.
    public func nextMidnight(after date: Date) -> Date {
        bounds(of: date).end
    }

    private mutating func roll(to now: Date) {
        if let dayStart, let dayEnd, now >= dayStart, now < dayEnd { return }
        let (start, end) = bounds(of: now)
        dayStart = start
        dayEnd = end
        count = 0
    }

    /// The first instant of the local day that contains `date`, and of the next one.
    public func bounds(of date: Date) -> (start: Date, end: Date) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let start = calendar.startOfDay(for: date)
        let end = calendar.date(byAdding: .day, value: 1, to: start) ?? start.addingTimeInterval(86_400)
        return (start, end)
    }
}
