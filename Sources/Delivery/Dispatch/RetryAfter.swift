import Foundation

/// The HTTP `Retry-After` field (RFC 9110 §10.2.3).
public enum RetryAfter {
    /// The longest wait honoured by default: one day.
    public static let defaultMaximum: TimeInterval = 86_400
    /// The longest wait one gateway answer may impose on a message: one hour.
    public static let gatewayMaximum: TimeInterval = 3600

    /// The parsed `Retry-After` of a gateway's answer, capped at ``gatewayMaximum``.
    public static func from(_ response: HTTPResponse, now: Date) -> Date? {
        response.headers.first(name: "retry-after").flatMap { parse($0, now: now, maximum: gatewayMaximum) }
    }

    /// The earliest retry time `value` asks for, or nil when it is neither form.
    ///
    /// Accepts delay-seconds (`120`) and IMF-fixdate (`Wed, 21 Oct 2015 07:28:00 GMT`). A date in
    /// the past yields `now`; anything later than `now + maximum` yields `now + maximum`.
    public static func parse(_ value: String, now: Date, maximum: TimeInterval = defaultMaximum) -> Date? {
        let bytes = Array(
            value.utf8.drop { $0 == 0x20 || $0 == 0x09 }.reversed().drop { $0 == 0x20 || $0 == 0x09 }.reversed())
        guard !bytes.isEmpty else { return nil }
        let target: Date
        if bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            // More digits than a day has seconds many times over: only the cap matters.
            guard bytes.count <= 12 else { return now.addingTimeInterval(maximum) }
            let seconds = bytes.reduce(0) { $0 * 10 + Int($1 - 0x30) }
            target = now.addingTimeInterval(TimeInterval(seconds))
        } else if let date = imfFixdate(bytes) {
            target = date
        } else {
            return nil
        }
        return Swift.min(Swift.max(target, now), now.addingTimeInterval(maximum))
    }

    private static let dayNames = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    private static let monthNames = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]

    /// `Sun, 06 Nov 1994 08:49:37 GMT`, exactly 29 bytes.
    private static func imfFixdate(_ b: [UInt8]) -> Date? {
        guard b.count == 29, b[3] == 0x2C, b[4] == 0x20, b[7] == 0x20, b[11] == 0x20, b[16] == 0x20,
            b[19] == 0x3A, b[22] == 0x3A, b[25] == 0x20, String(decoding: b[26...], as: UTF8.self) == "GMT",
            dayNames.contains(String(decoding: b[0..<3], as: UTF8.self)),
            let month = monthNames.firstIndex(of: String(decoding: b[8..<11], as: UTF8.self)),
            let day = digits(b[5..<7]), let year = digits(b[12..<16]), let hour = digits(b[17..<19]),
            let minute = digits(b[20..<22]), let second = digits(b[23..<25]),
            day >= 1, day <= CivilTime.daysIn(month: month + 1, year: year), hour < 24, minute < 60, second <= 60
        else { return nil }
        let days = CivilTime.days(year: year, month: month + 1, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    private static func digits(_ slice: ArraySlice<UInt8>) -> Int? {
        var value = 0
        for byte in slice {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }
}
