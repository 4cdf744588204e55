import Registry

/// Tight loops that test one predicate over a whole column, 64 rows per result word.
///
/// Each loop body is a closure literal passed to an always-inlined driver, so it compiles to a
/// branch-free loop over raw buffers: no enum switch, bounds check or reference counting per row.
/// String and boolean predicates are first resolved into a lookup table indexed by code, using
/// the same `RulePredicate.holds` as row-wise matching, so both paths agree by construction.
/// Comparisons on number and date columns read the columns' `OrderCodes` when they were built
/// (2 bytes a row instead of 8 or 4: these scans are bound by memory bandwidth) and the wide
/// values only for the few rows the codes leave undecided (`NarrowTest`).
enum ColumnScan {
    /// The rows of `column` where `predicate` holds; `codes` is the column's narrow copy, if any.
    static func scan(
        _ column: EnterpriseColumns.Column, codes: OrderCodes?, count: Int, predicate: RulePredicate
    ) -> Bitset {
        var words = [UInt64](repeating: 0, count: (count + 63) >> 6)
        words.withUnsafeMutableBufferPointer {
            run(column, codes: codes, count: count, predicate: predicate, into: $0, masked: false)
        }
        return Bitset(words: words, count: count)
    }

    /// Clears the rows of `words` where `predicate` does not hold, testing only the 64-row
    /// blocks that still have a row set: an `and` whose earlier clauses left few rows skips most
    /// of the column.
    static func intersect(
        _ words: inout [UInt64], _ column: EnterpriseColumns.Column, codes: OrderCodes?, count: Int,
        predicate: RulePredicate
    ) {
        words.withUnsafeMutableBufferPointer {
            run(column, codes: codes, count: count, predicate: predicate, into: $0, masked: true)
        }
    }

    private static func run(
        _ column: EnterpriseColumns.Column, codes: OrderCodes?, count: Int, predicate: RulePredicate,
        into out: UnsafeMutableBufferPointer<UInt64>, masked: Bool
    ) {
        let out = Output(words: out, masked: masked)
        switch column {
        case .number(let values):
            values.withUnsafeBufferPointer { values in
                if let codes, case .compare(let comparison, .number(let x)) = predicate.test,
                    let narrow = NarrowTest(comparison, x, codes)
                {
                    let v = values.baseAddress!
                    scanNarrow(codes, narrow, count: count, into: out) { comparison.holds(v[$0], x) }
                } else {
                    scanNumbers(values, count: count, test: predicate.test, into: out)
                }
            }
        case .date(let values):
            values.withUnsafeBufferPointer { values in
                if let codes, case .compare(let comparison, .date(let x)) = predicate.test,
                    let narrow = NarrowTest(comparison, Double(x), codes)
                {
                    // Undecided rows are never missing (code 0 is decided), so the plain
                    // comparison is the date scan's.
                    let v = values.baseAddress!
                    scanNarrow(codes, narrow, count: count, into: out) { comparison.holds(v[$0], x) }
                } else {
                    scanDates(values, count: count, test: predicate.test, into: out)
                }
            }
        case .bool(let values):
            let table = (0...2).map { byte -> UInt8 in
                byte == Int(EnterpriseColumns.missingBool) ? 0 : predicate.holds(for: .bool(byte == 1)) ? 1 : 0
            }
            values.withUnsafeBufferPointer { scanCodes($0, table: table, count: count, into: out) }
        case .category(let category):
            var table = category.dictionary.map { predicate.holds(for: .string($0)) ? UInt8(1) : 0 }
            table[0] = 0  // code 0 is missing
            category.codes.withUnsafeBufferPointer { scanCodes($0, table: table, count: count, into: out) }
        }
    }

    /// Rows whose code passes `narrow`, plus those of its undecided bucket for which `wide(row)` holds.
    private static func scanNarrow(
        _ codes: OrderCodes, _ narrow: NarrowTest, count: Int, into out: Output, wide: (Int) -> Bool
    ) {
        guard count > 0 else { return }
        let lower = narrow.lower
        let width = narrow.width
        let hole = narrow.hole
        codes.codes.withUnsafeBufferPointer { codes in
            let c = codes.baseAddress!
            guard let undecided = narrow.undecided else {
                fill(count, out) { c[$0] &- lower < width && c[$0] != hole }
                return
            }
            fillWords(count, out) { first, n in
                var word = bits(first, n) { c[$0] &- lower < width && c[$0] != hole }
                var open = bits(first, n) { c[$0] == undecided }
                while open != 0 {
                    let bit = open.trailingZeroBitCount
                    if wide(first &+ bit) { word |= 1 &<< UInt64(bit) }
                    open &= open &- 1
                }
                return word
            }
        }
    }

    /// Result words, either written fresh or (when `masked`) intersected with what they hold.
    private struct Output {
        var words: UnsafeMutableBufferPointer<UInt64>
        var masked: Bool
    }

    /// Sets bit `i` of `out` to `test(i)` for every `i < count`; when masked, only clears bits,
    /// and skips words that are already zero.
    @inline(__always)
    private static func fill(_ count: Int, _ out: Output, _ test: (Int) -> Bool) {
        fillWords(count, out) { first, n in bits(first, n, test) }
    }

    /// Sets each word of `out` to `word(first, n)`, the bits of rows `first ..< first + n`;
    /// when masked, only clears bits, and skips words that are already zero.
    @inline(__always)
    private static func fillWords(_ count: Int, _ out: Output, _ word: (_ first: Int, _ n: Int) -> UInt64) {
        let base = out.words.baseAddress!
        let masked = out.masked
        let fullWords = count >> 6
        for w in 0..<fullWords {
            if masked, base[w] == 0 { continue }
            let bits = word(w &<< 6, 64)
            base[w] = masked ? base[w] & bits : bits
        }
        let tail = count & 63
        if tail != 0, !(masked && base[fullWords] == 0) {
            let bits = word(fullWords &<< 6, tail)
            base[fullWords] = masked ? base[fullWords] & bits : bits
        }
    }

    /// Bit `b` is `test(first + b)`, for `b < n`.
    @inline(__always)
    private static func bits(_ first: Int, _ n: Int, _ test: (Int) -> Bool) -> UInt64 {
        var word: UInt64 = 0
        for b in 0..<n { word |= UInt64(test(first &+ b) ? 1 : 0) &<< UInt64(b) }
        return word
    }

    /// Missing numbers are NaN, which every ordered comparison and `==` already treat as false;
    /// `!=` and `not in` test `v == v` to keep missing false.
    private static func scanNumbers(
        _ values: UnsafeBufferPointer<Double>, count: Int, test: RulePredicate.Test,
        into out: Output
    ) {
        guard count > 0, let v = values.baseAddress else { return }
        switch test {
        case .compare(let comparison, .number(let x)):
            switch comparison {
            case .equal: fill(count, out) { v[$0] == x }
            case .notEqual: fill(count, out) { v[$0] < x || v[$0] > x }
            case .less: fill(count, out) { v[$0] < x }
            case .lessOrEqual: fill(count, out) { v[$0] <= x }
            case .greater: fill(count, out) { v[$0] > x }
            case .greaterOrEqual: fill(count, out) { v[$0] >= x }
            }
        case .member(let list, let negated):
            let numbers = list.compactMap { if case .number(let n) = $0 { n } else { nil } }
            numbers.withUnsafeBufferPointer { list in
                guard let l = list.baseAddress else { return }
                let n = list.count
                if negated {
                    fill(count, out) { i in
                        let value = v[i]
                        var hit = value != value
                        for j in 0..<n { hit = hit || value == l[j] }
                        return !hit
                    }
                } else {
                    fill(count, out) { i in
                        let value = v[i]
                        var hit = false
                        for j in 0..<n { hit = hit || value == l[j] }
                        return hit
                    }
                }
            }
        default:
            // Type-checked at compile time: nothing else applies to a number column.
            return
        }
    }

    /// Missing dates are `Int32.min`, below every literal, so `<`, `<=`, `!=` and `not in` exclude it.
    private static func scanDates(
        _ values: UnsafeBufferPointer<Int32>, count: Int, test: RulePredicate.Test,
        into out: Output
    ) {
        guard count > 0, let v = values.baseAddress else { return }
        let missing = EnterpriseColumns.missingDate
        switch test {
        case .compare(let comparison, .date(let x)):
            switch comparison {
            case .equal: fill(count, out) { v[$0] == x }
            case .notEqual: fill(count, out) { v[$0] != x && v[$0] != missing }
            case .less: fill(count, out) { v[$0] < x && v[$0] != missing }
            case .lessOrEqual: fill(count, out) { v[$0] <= x && v[$0] != missing }
            case .greater: fill(count, out) { v[$0] > x }
            case .greaterOrEqual: fill(count, out) { v[$0] >= x }
            }
        case .member(let list, let negated):
            let dates = list.compactMap { if case .date(let d) = $0 { d } else { nil } }
            dates.withUnsafeBufferPointer { list in
                guard let l = list.baseAddress else { return }
                let n = list.count
                fill(count, out) { i in
                    let value = v[i]
                    var hit = false
                    for j in 0..<n { hit = hit || value == l[j] }
                    return value != missing && hit != negated
                }
            }
        default:
            return
        }
    }

    /// Rows hold small codes (category codes or boolean bytes); `table[code]` is 1 where the predicate holds.
    private static func scanCodes<Code: FixedWidthInteger>(
        _ codes: UnsafeBufferPointer<Code>, table: [UInt8], count: Int, into out: Output
    ) {
        guard count > 0, let c = codes.baseAddress else { return }
        table.withUnsafeBufferPointer { table in
            let t = table.baseAddress!
            fill(count, out) { t[Int(c[$0])] != 0 }
        }
    }
}
