/// A fixed-size set of row indices, one bit per enterprise, 64 rows per word.
///
/// Bits past `count` in the last word are always zero, so `popcount` and iteration never
/// see phantom rows.
public struct Bitset: Sendable, Hashable {
    public private(set) var words: [UInt64]
    public let count: Int

    public init(count: Int, filled: Bool = false) {
        self.count = count
        words = [UInt64](repeating: filled ? .max : 0, count: (count + 63) >> 6)
        if filled { clearTail() }
    }

    /// Builds a bitset from words; bits past `count` are cleared.
    public init(words: [UInt64], count: Int) {
        precondition(words.count == (count + 63) >> 6, "word count does not match bit count")
        self.words = words
        self.count = count
        clearTail()
    }

    public subscript(index: Int) -> Bool {
        get { words[index >> 6] & (1 << UInt64(index & 63)) != 0 }
        set {
            if newValue {
                words[index >> 6] |= 1 << UInt64(index & 63)
            } else {
                words[index >> 6] &= ~(1 << UInt64(index & 63))
            }
        }
    }

    public var popcount: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

    public var isEmpty: Bool { words.allSatisfy { $0 == 0 } }

    public mutating func formIntersection(_ other: Bitset) {
        precondition(count == other.count)
        words.withUnsafeMutableBufferPointer { a in
            other.words.withUnsafeBufferPointer { b in
                for i in a.indices { a[i] &= b[i] }
            }
        }
    }

    public mutating func formUnion(_ other: Bitset) {
        precondition(count == other.count)
        words.withUnsafeMutableBufferPointer { a in
            other.words.withUnsafeBufferPointer { b in
                for i in a.indices { a[i] |= b[i] }
            }
        }
    }

    public mutating func formComplement() {
        words.withUnsafeMutableBufferPointer { a in
            for i in a.indices { a[i] = ~a[i] }
        }
        clearTail()
    }

    public func intersection(_ other: Bitset) -> Bitset {
        var copy = self
        copy.formIntersection(other)
        return copy
    }

    public func union(_ other: Bitset) -> Bitset {
        var copy = self
        copy.formUnion(other)
        return copy
    }

    public func complement() -> Bitset {
        var copy = self
        copy.formComplement()
        return copy
    }

    /// Calls `body` with each set index in increasing order.
    public func forEachSetIndex(_ body: (Int) throws -> Void) rethrows {
        for (w, word) in words.enumerated() where word != 0 {
            var bits = word
            while bits != 0 {
                let bit = bits.trailingZeroBitCount
                try body(w << 6 | bit)
                bits &= bits - 1
            }
        }
    }

    private mutating func clearTail() {
        let tail = count & 63
        if tail != 0, !words.isEmpty { words[words.count - 1] &= (1 << UInt64(tail)) - 1 }
    }
}
