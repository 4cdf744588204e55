import Foundation

/// The local window in which messages may be sent (default 08:00–20:00 Asia/Shanghai).
///
/// Outside it, messages wait for the next opening; they are never dropped.
public struct QuietHours: Sendable, Hashable {
    /// Minutes after local midnight when sending may start.
    public var opensAt: Int
    /// Minutes after local midnight when sending must stop.
    public var closesAt: Int
    public var timeZone: TimeZone

    public init(
        opensAt: Int = 8 * 60, closesAt: Int = 20 * 60, timeZone: TimeZone = TimeZone(identifier: "Asia/Shanghai")!
    ) {
        self.opensAt = opensAt
        self.closesAt = closesAt
        self.timeZone = timeZone
    }

    /// Parses `HH:MM`.
    public static func minutes(_ text: String) -> Int? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let h = Int(parts[0]), let m = Int(parts[1]), (0...24).contains(h),
            (0...59).contains(m),
            h * 60 + m <= 24 * 60
        else { return nil }
        return h * 60 + m
    }

    /// Whether `date` falls inside the sending window.
    public func allows(_ date: Date) -> Bool {
        let minute = minuteOfDay(date)
        if opensAt == closesAt { return true }
        if opensAt < closesAt { return minute >= opensAt && minute < closesAt }
        return minute >= opensAt || minute < closesAt  // a window across midnight
    }

    /// `date` itself when the window is open, else the next opening.
    public func nextAllowed(from date: Date) -> Date {
        if allows(date) { return date }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let startOfDay = calendar.startOfDay(for: date)
        let opening = startOfDay.addingTimeInterval(TimeInterval(opensAt * 60))
        if opening > date { return opening }
        return calendar.date(byAdding: .day, value: 1, to: startOfDay)!.addingTimeInterval(TimeInterval(opensAt * 60))
    }

    private func minuteOfDay(_ date: Date) -> Int {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.hour, .minute], from: date)
        return c.hour! * 60 + c.minute!
    }
}
