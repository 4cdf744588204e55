import Registry

/// Puts enterprises in the order of their credit codes as SQLite stores them (memcmp of the
/// UTF-8 bytes, the `BINARY` collation of the `enterprises` primary key), keeping the file's
/// order among rows with the same code.
///
/// An import upserts in this order because `enterprises` is one B-tree keyed by credit code:
/// keys in random order land on a random page each, with a descent through cold pages and a
/// page split every few rows; keys in order land one after another on the same few pages.
/// The file's order among equal codes is what makes the last occurrence's attributes the ones
/// stored, as in file order.
enum CreditCodeOrder {
    /// `enterprises` sorted by credit code, equal codes in their order in `enterprises`.
    static func sorted(_ enterprises: [Enterprise]) -> [Enterprise] {
        var keys = enterprises.indices.map { Key(enterprises[$0].creditCode, index: $0) }
        keys.sort { lhs, rhs in lhs.precedes(rhs, in: enterprises) }
        return keys.map { enterprises[$0.index] }
    }

    /// A credit code's first 16 bytes as two big-endian words, so that most comparisons are two
    /// integer comparisons (codes are 18 characters; the rest is compared only on a tie).
    private struct Key {
        let high: UInt64
        let low: UInt64
        let index: Int

        init(_ code: String, index: Int) {
            var high: UInt64 = 0
            var low: UInt64 = 0
            var position = 0
            for byte in code.utf8.prefix(16) {
                if position < 8 {
                    high |= UInt64(byte) << (56 - 8 * position)
                } else {
                    low |= UInt64(byte) << (56 - 8 * (position - 8))
                }
                position += 1
            }
            self.high = high
            self.low = low
            self.index = index
        }

        /// A strict total order: words, then the codes' whole bytes, then the position in the
        /// import, so any sort algorithm keeps equal codes in file order.
        func precedes(_ other: Key, in enterprises: [Enterprise]) -> Bool {
            if high != other.high { return high < other.high }
            if low != other.low { return low < other.low }
            let code = enterprises[index].creditCode.utf8
            let otherCode = enterprises[other.index].creditCode.utf8
            if !code.elementsEqual(otherCode) { return code.lexicographicallyPrecedes(otherCode) }
            return index < other.index
        }
    }
}
