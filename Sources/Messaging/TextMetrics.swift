/// Character counting and truncation as the gateways see text.
///
/// A character is a Swift `Character` (an extended grapheme cluster), so an emoji with
/// modifiers or a letter with a combining mark counts once and is never split.
enum TextMetrics {
    /// The number of characters of `text`.
    ///
    /// Hot path: package text is almost entirely CJK, ASCII and full-width punctuation, where
    /// every scalar is its own grapheme. Those are counted by scalar; anything else falls back
    /// to the grapheme-breaking `String.count`.
    @inline(__always)
    static func length(_ text: String) -> Int {
        var n = 0
        for scalar in text.unicodeScalars {
            if isStandalone(scalar.value) {
                n += 1
            } else {
                return text.count
            }
        }
        return n
    }

    /// Scalars that never join a neighbour into one grapheme: no CR (CR LF is one grapheme),
    /// no combining marks, joiners, variation selectors, emoji modifiers or Hangul jamo.
    @inline(__always)
    static func isStandalone(_ v: UInt32) -> Bool {
        switch v {
        case 0x20...0x7E, 0xA0...0x2FF: true
        case 0x2010...0x2027, 0x2030...0x205E: true  // dashes, quotes, ellipsis, per mille
        case 0x3000...0x3029, 0x3030...0x3098, 0x309B...0x30FF: true  // CJK punctuation, kana
        case 0x3400...0x4DBF, 0x4E00...0x9FFF: true  // CJK ideographs
        case 0xFF01...0xFF5E: true  // full-width forms (，：；（）)
        default: false
        }
    }

    /// Number of decimal digits of a non-negative integer (a minus sign counts for negatives).
    static func digitCount(_ value: Int) -> Int {
        if value < 0 { return 1 + digitCount(-value) }
        var n = 1
        var v = value
        while v >= 10 {
            v /= 10
            n += 1
        }
        return n
    }

    /// `text` held to `limit` characters, ending in `…` (counted inside the limit) when cut.
    static func truncated(_ text: String, to limit: Int) -> String {
        guard limit > 0 else { return "" }
        guard length(text) > limit else { return text }
        if limit == 1 { return ellipsis }
        return String(text.prefix(limit - 1)) + ellipsis
    }

    static let ellipsis = "…"
}
