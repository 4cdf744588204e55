import Registry

/// A comparison with a threshold restated on a column's `OrderCodes`.
///
/// A row holds when its code lies in `lower ..< lower + width` and is not `hole`; a row whose
/// code is `undecided` needs its wide value. Missing rows (code 0) are never in the range and
/// never undecided, so they never hold, as in the wide scans.
///
/// Why it is exact: with `c = codes.bucket(of: threshold)`, the number of buckets whose smallest
/// value is at most the threshold, a code `k > c` holds values `>= lowers[k - 1] >= lowers[c] >
/// threshold`, and a code `1 <= k < c` holds values `< lowers[k] <= lowers[c - 1] <= threshold`.
/// Only bucket `c` straddles the threshold: when the column is exact its one value
/// `lowers[c - 1]` is compared once, otherwise its rows are undecided.
struct NarrowTest {
    var lower: UInt16
    var width: UInt16
    var hole: UInt16
    var undecided: UInt16?

    /// Nil when the threshold is NaN (the wide scan handles it).
    init?(_ comparison: Comparison, _ threshold: Double, _ codes: OrderCodes) {
        guard !threshold.isNaN else { return nil }
        let c = codes.bucket(of: threshold)
        let top = codes.lowers.count
        // Whether rows below bucket c (values < threshold) and above it (values > threshold) hold.
        let (below, above): (Bool, Bool) =
            switch comparison {
            case .less, .lessOrEqual: (true, false)
            case .greater, .greaterOrEqual: (false, true)
            case .equal: (false, false)
            case .notEqual: (true, true)
            }
        let straddled = c > 0 && !codes.isExact
        let includesC = c > 0 && codes.isExact && comparison.holds(codes.lowers[c - 1], threshold)
        let low = below ? 1 : includesC ? c : c + 1
        let high = above ? top : includesC ? c : c - 1
        if low <= high {
            lower = UInt16(low)
            width = UInt16(high - low + 1)
        } else {
            lower = 1
            width = 0
        }
        // `!=` on both sides of bucket c: the range spans c, which holds only if included.
        hole = below && above && !includesC && c > 0 ? UInt16(c) : 0
        undecided = straddled ? UInt16(c) : nil
    }
}

extension Comparison {
    /// `a <op> b` as the column scans test it: NaN satisfies nothing, not even `!=`.
    @inline(__always)
    func holds<Value: Comparable>(_ a: Value, _ b: Value) -> Bool {
        switch self {
        case .equal: a == b
        case .notEqual: a < b || a > b
        case .less: a < b
        case .lessOrEqual: a <= b
        case .greater: a > b
        case .greaterOrEqual: a >= b
        }
    }
}
