import Registry

/// Tight loops that test one predicate over a whole column, 64 rows per result word.
///
/// Each loop body is a closure literal passed to an always-inlined driver, so it compiles to a
/// branch-free loop over raw buffers: no enum switch, bounds check or reference counting per row.
/// String and boolean predicates are first resolved into a lookup table indexed by code, using
/// the same `RulePredicate.holds` as row-wise matching, so both paths agree by construction.
enum ColumnScan {
    /// The rows of `column` where `predicate` holds.
    static func scan(_ column: EnterpriseColumns.Column, count: Int, predicate: RulePredicate) -> Bitset {
        var words = [UInt64](repeating: 0, count: (count + 63) >> 6)
        words.withUnsafeMutableBufferPointer {
            run(column, count: count, predicate: predicate, into: $0, masked: false)
        }
        return Bitset(words: words, count: count)
    }

    /// Clears the rows of `words` where `predicate` does not hold, testing only the 64-row
    /// blocks that still have a row set: an `and` whose earlier clauses left few rows skips most
    /// of the column.
    static func intersect(
        _ words: inout [UInt64], _ column: EnterpriseColumns.Column, count: Int, predicate: RulePredicate
    ) {
        words.withUnsafeMutableBufferPointer { run(column, count: count, predicate: predicate, into: $0, masked: true) }
    }

    private static func run(
        _ column: EnterpriseColumns.Column, count: Int, predicate: RulePredicate,
        into out: UnsafeMutableBufferPointer<UInt64>, masked: Bool
    ) {
        let out = Output(words: out, masked: masked)
        switch column {
        case .number(let values):
            values.withUnsafeBufferPointer { scanNumbers($0, count: count, test: predicate.test, into: out) }
        case .date(let values):
            values.withUnsafeBufferPointer { scanDates($0, count: count, test: predicate.test, into: out) }
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

    /// Result words, either written fresh or (when `masked`) intersected with what they hold.
    private struct Output {
        var words: UnsafeMutableBufferPointer<UInt64>
        var masked: Bool
    }

    /// Sets bit `i` of `out` to `test(i)` for every `i < count`; when masked, only clears bits,
    /// and skips words that are already zero.
    @inline(__always)
    private static func fill(_ count: Int, _ out: Output, _ test: (Int) -> Bool) {
        let base = out.words.baseAddress!
        let masked = out.masked
        let fullWords = count >> 6
        for w in 0..<fullWords {
            if masked, base[w] == 0 { continue }
            let first = w &<< 6
            var word: UInt64 = 0
            for b in 0..<64 {
                word |= UInt64(test(first &+ b) ? 1 : 0) &<< UInt64(b)
            }
            base[w] = masked ? base[w] & word : word
        }
        let tail = count & 63
        if tail != 0, !(masked && base[fullWords] == 0) {
            let first = fullWords &<< 6
            var word: UInt64 = 0
            for b in 0..<tail {
                word |= UInt64(test(first &+ b) ? 1 : 0) &<< UInt64(b)
            }
            base[fullWords] = masked ? base[fullWords] & word : word
        }
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
