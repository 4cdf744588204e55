import Foundation

/// A UTC calendar breakdown of Unix seconds, without `DateFormatter` or locale state.
struct CivilTime: Sendable, Hashable {
    var year: Int64
    var month: Int64
    var day: Int64
    var hour: Int64
    var minute: Int64
    var second: Int64

    init(unixSeconds: Int64) {
        let days = unixSeconds >= 0 ? unixSeconds / 86_400 : (unixSeconds - 86_399) / 86_400
        let secondsOfDay = unixSeconds - days * 86_400
        (year, month, day) = Self.civil(fromDays: days)
        hour = secondsOfDay / 3600
        minute = secondsOfDay % 3600 / 60
        second = secondsOfDay % 60
    }

    init(date: Date) {
        self.init(unixSeconds: Int64(date.timeIntervalSince1970.rounded(.down)))
    }

    /// `yyyy-MM-dd`.
    var dateString: String { "\(Self.pad(year, 4))-\(Self.pad(month, 2))-\(Self.pad(day, 2))" }

    /// `yyyy-MM-dd'T'HH:mm:ss'Z'`.
    var timestampString: String {
        "\(dateString)T\(Self.pad(hour, 2)):\(Self.pad(minute, 2)):\(Self.pad(second, 2))Z"
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// Days in a month of the proleptic Gregorian calendar.
    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func days(year: Int, month: Int, day: Int) -> Int {
        Int(days(year: Int64(year), month: Int64(month), day: Int64(day)))
    }

    static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let (y, m, d) = civil(fromDays: Int64(days))
        return (Int(y), Int(m), Int(d))
    }

    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}

/// Window boundaries in China Standard Time (UTC+8, no daylight saving), where providers count
/// their minute, hour and day limits.
enum ChinaTime {
    static let offset: Int64 = 8 * 3600

    private static func local(_ date: Date) -> Int64 {
        Int64(date.timeIntervalSince1970.rounded(.down)) + offset
    }

    private static func date(local: Int64) -> Date {
        Date(timeIntervalSince1970: TimeInterval(local - offset))
    }

    private static func floor(_ value: Int64, _ unit: Int64) -> Int64 {
        value >= 0 ? value / unit * unit : (value - unit + 1) / unit * unit
    }

    /// The start of the UTC+8 minute after the one holding `date`.
    static func startOfNextMinute(after date: Date) -> Date { Self.date(local: floor(local(date), 60) + 60) }

    /// The start of the UTC+8 hour after the one holding `date`.
    static func startOfNextHour(after date: Date) -> Date { Self.date(local: floor(local(date), 3600) + 3600) }

    /// The UTC+8 midnight after `date`.
    static func startOfNextDay(after date: Date) -> Date { Self.date(local: floor(local(date), 86_400) + 86_400) }

    /// The first UTC+8 midnight of the month after the one holding `date`.
    static func startOfNextMonth(after date: Date) -> Date {
        let civil = CivilTime(unixSeconds: local(date))
        let (year, month) = civil.month == 12 ? (civil.year + 1, Int64(1)) : (civil.year, civil.month + 1)
        return Self.date(local: CivilTime.days(year: year, month: month, day: 1) * 86_400)
    }

    /// The next UTC+8 time of day `hour`:00 strictly after `date`.
    static func next(hour: Int64, after date: Date) -> Date {
        let now = local(date)
        var candidate = floor(now, 86_400) + hour * 3600
        if candidate <= now { candidate += 86_400 }
        return Self.date(local: candidate)
    }
}
