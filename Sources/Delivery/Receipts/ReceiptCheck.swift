import Foundation

/// The checks every pushed number and field passes before any arithmetic or storage.
///
/// A push is hostile until proven otherwise: a `CreateTime` of 9.3e15 seconds once trapped the
/// store's millisecond conversion, and a 1 MB id cost 4 MB of store. So times must be plausible
/// (from 2000-01-01 to one day past now), numbers are plain decimal digits within range, and
/// every field is capped at its provider's documented size, counted in UTF-8 bytes. A value
/// out of bounds makes the push `.malformed`: it is refused whole, never truncated or clamped.
enum ReceiptCheck {
    /// 2000-01-01T00:00:00Z: no receipt of this system is older.
    static let earliest = Date(timeIntervalSince1970: 946_684_800)
    /// How far past now a provider may date an event: clock skew, generously.
    static let futureSkew: TimeInterval = 86_400

    /// Whether `date` lies between ``earliest`` and `now` + ``futureSkew``.
    static func isPlausible(_ date: Date, now: Date) -> Bool {
        date >= earliest && date.timeIntervalSince(now) <= futureSkew
    }

    /// `date` when plausible, else `.malformed`.
    static func plausible(_ date: Date, now: Date, _ what: String) throws(ReceiptError) -> Date {
        guard isPlausible(date, now: now) else { throw ReceiptError(.malformed, "\(what) is not a plausible time") }
        return date
    }

    /// Plain decimal digits (no sign, space or exponent) with at most `maxDigits` of them, as a
    /// `UInt64`; nil for anything else.
    static func unsigned(_ text: String, maxDigits: Int = 20) -> UInt64? {
        let bytes = text.utf8
        guard !bytes.isEmpty, bytes.count <= maxDigits,
            bytes.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { return nil }
        return UInt64(text)
    }

    /// A unix time in seconds written as digits, when plausible; else `.malformed`.
    static func unixSeconds(_ text: String, now: Date, _ what: String) throws(ReceiptError) -> Date {
        // Eleven digits reach year 5138: enough for any plausible time, and a Double holds them exactly.
        guard let seconds = unsigned(text, maxDigits: 11) else {
            throw ReceiptError(.malformed, "\(what) is not a unix time")
        }
        return try plausible(Date(timeIntervalSince1970: TimeInterval(seconds)), now: now, what)
    }

    /// A unix time in seconds from a polled answer: the date when plausible, else nil (a polled
    /// state is kept without a time rather than lost with its whole page).
    static func polledUnixSeconds(_ seconds: Int, now: Date) -> Date? {
        guard (0...99_999_999_999).contains(seconds) else { return nil }
        let date = Date(timeIntervalSince1970: TimeInterval(seconds))
        return isPlausible(date, now: now) ? date : nil
    }

    /// Refuses a field longer than `maxBytes` UTF-8 bytes.
    static func length(_ value: String?, _ maxBytes: Int, _ what: String) throws(ReceiptError) {
        if let value, value.utf8.count > maxBytes {
            throw ReceiptError(.malformed, "\(what) longer than \(maxBytes) bytes")
        }
    }
}
