import Foundation

/// Parses `Retry-After` (RFC 9110 §10.2.3) in both forms: delay seconds (`120`) and an
/// IMF-fixdate (`Wed, 21 Oct 2015 07:28:00 GMT`).
public enum RetryAfter {
    /// The longest wait honoured; a later time is cut to `now + cap`.
    public static let cap: TimeInterval = 3600

    /// The time to retry at, or `nil` when `value` is neither form. A past date means now; a
    /// wait longer than ``cap`` is capped.
    public static func parse(_ value: String, now: Date) -> Date? {
        let text = trimmed(value)
        let target: Date
        if !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
            guard let seconds = Int64(text) else { return now.addingTimeInterval(cap) }
            target = now.addingTimeInterval(TimeInterval(min(seconds, Int64(cap))))
        } else if let date = imfFixdate(text) {
            target = max(date, now)
        } else {
            return nil
        }
        return min(target, now.addingTimeInterval(cap))
    }

    /// The parsed `Retry-After` of `response`, if any.
    public static func from(_ response: HTTPResponse, now: Date) -> Date? {
        response.headers.first(name: "retry-after").flatMap { parse($0, now: now) }
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    private static let weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

    /// `Sun, 06 Nov 1994 08:49:37 GMT`, exactly.
    static func imfFixdate(_ text: String) -> Date? {
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0].count == 4, parts[0].hasSuffix(","),
            weekdays.contains(String(parts[0].dropLast())), parts[5] == "GMT",
            parts[1].count == 2, let day = Int64(parts[1]),
            let monthIndex = months.firstIndex(of: String(parts[2])),
            parts[3].count == 4, let year = Int64(parts[3])
        else { return nil }
        let clock = parts[4].split(separator: ":", omittingEmptySubsequences: false)
        guard clock.count == 3, clock.allSatisfy({ $0.count == 2 }),
            let hour = Int64(clock[0]), let minute = Int64(clock[1]), let second = Int64(clock[2]),
            (1...31).contains(day), (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second)
        else { return nil }
        let days = CivilTime.days(year: year, month: Int64(monthIndex + 1), day: day)
        return Date(timeIntervalSince1970: TimeInterval(days * 86_400 + hour * 3600 + minute * 60 + second))
    }
}
