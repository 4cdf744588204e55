import Kit
import Registry
import Testing

@testable import Rules

/// Scans over `OrderCodes` give, bit for bit, what scans over the wide columns give.
///
/// Small bucket counts make buckets that hold several values, so the rows the codes leave
/// undecided (read from the wide column) are exercised as well as the exact columns.
@Suite struct NarrowScanTests {
    static let comparisons: [Comparison] = [.equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual]
    static let bucketCounts = [1, 2, 7, 64, OrderCodes.maxBuckets]
    /// Not a multiple of 64, so the tail word is exercised.
    static let rows = 1_003

    /// Number columns of several shapes: few values with many ties, many distinct values, and extremes.
    static func numberColumns() -> [[Double]] {
        var g = SplitMix64(seed: 14)
        let extremes: [Double] = [
            .nan, -0.0, 0.0, .infinity, -.infinity, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
            .leastNonzeroMagnitude, -.leastNonzeroMagnitude, 1e300, -1e300, 0x1p53, 0x1p53 + 2, -3.5, 3_000_000,
            3_000_000.01,
        ]
        let ties = (0..<rows).map { _ in
            g.next() % 9 == 0 ? Double.nan : Double(Int(g.next() % 11) - 5) * 1_000_000
        }
        let continuous = (0..<rows).map { _ in
            g.next() % 13 == 0 ? Double.nan : (g.unit() - 0.3) * 1e7
        }
        let odd = (0..<rows).map { _ in extremes[Int(g.next() % UInt64(extremes.count))] }
        let missing = [Double](repeating: .nan, count: rows)
        return [ties, continuous, odd, missing]
    }

    /// Thresholds at every kind of place: on values (ties), just beside them, between, beyond, NaN.
    static func thresholds(for values: [Double], _ g: inout SplitMix64) -> [Double] {
        var result: [Double] = [.nan, .infinity, -.infinity, .greatestFiniteMagnitude, -1e300, 0, -0.0, 42.5]
        for _ in 0..<24 {
            let v = values[Int(g.next() % UInt64(values.count))]
            guard !v.isNaN else { continue }
            result += [v, v.nextUp, v.nextDown, v + 0.5, v - 0.5]
        }
        return result
    }

    /// Bits before the masked scan: about half the rows, whole zero words included.
    static func startingWords(_ g: inout SplitMix64) -> [UInt64] {
        (0..<(rows + 63) / 64).map { _ in g.next() % 4 == 0 ? 0 : g.next() }
    }

    @Test func numberScansAgree() {
        var g = SplitMix64(seed: 1)
        for values in Self.numberColumns() {
            let thresholds = Self.thresholds(for: values, &g)
            for maxBuckets in Self.bucketCounts {
                let codes = OrderCodes(values: values, maxBuckets: maxBuckets)
                for threshold in thresholds {
                    for comparison in Self.comparisons {
                        let predicate = RulePredicate(attributeIndex: 0, test: .compare(comparison, .number(threshold)))
                        let start = Self.startingWords(&g)
                        expectSame(
                            .number(values), codes, predicate, start, "\(comparison) \(threshold), \(maxBuckets)")
                    }
                }
            }
        }
    }

    @Test func dateScansAgree() {
        var g = SplitMix64(seed: 2)
        let missing = EnterpriseColumns.missingDate
        let values = (0..<Self.rows).map { _ in
            g.next() % 7 == 0 ? missing : Int32(Int(g.next() % 400)) + 19_000 - (g.next() % 50 == 0 ? 40_000 : 0)
        }
        let doubles = values.map { $0 == missing ? Double.nan : Double($0) }
        var thresholds: [Int32] = [Int32.max, -2_000_000, 0, 18_999, 19_000, 19_399, 19_400, -21_000]
        for _ in 0..<24 {
            let v = values[Int(g.next() % UInt64(values.count))]
            if v != missing { thresholds += [v, v - 1, v + 1] }
        }
        for maxBuckets in Self.bucketCounts {
            let codes = OrderCodes(values: doubles, maxBuckets: maxBuckets)
            for threshold in thresholds {
                for comparison in Self.comparisons {
                    let predicate = RulePredicate(attributeIndex: 0, test: .compare(comparison, .date(threshold)))
                    let start = Self.startingWords(&g)
                    expectSame(.date(values), codes, predicate, start, "\(comparison) \(threshold), \(maxBuckets)")
                }
            }
        }
    }

    /// Every rule of `RuleEvaluatorTests` (every operator and column kind) over columns with and
    /// without their codes, and against row-wise matching.
    @Test func evaluatorAgreesWithAndWithoutCodes() throws {
        var g = SplitMix64(seed: 42)
        let enterprises = (0..<Self.rows).map { _ in randomEnterprise(&g) }
        let rules = try RuleEvaluatorTests.sources.map { try rule($0) }
        let wide = EnterpriseColumns(schema: schema, enterprises: enterprises)
        let expected = RuleEvaluator(rules: rules).evaluate(wide)
        for maxBuckets in [1, 3, OrderCodes.maxBuckets] {
            var narrow = wide
            narrow.buildOrderCodes(maxBuckets: maxBuckets)
            #expect(narrow.orderCodes.contains { $0 != nil })
            let results = RuleEvaluator(rules: rules).evaluate(narrow)
            for (r, compiled) in rules.enumerated() {
                #expect(results[r] == expected[r], "\(compiled.source), \(maxBuckets) buckets")
                #expect(results[r].popcount == enterprises.filter(compiled.matches).count, "\(compiled.source)")
            }
        }
    }

    @Test func appendingDropsTheCodes() {
        var columns = EnterpriseColumns(schema: schema, enterprises: [enterprise()])
        columns.buildOrderCodes()
        #expect(columns.orderCodes(ofColumn: schema.definitions.firstIndex { $0.name == "employees" }!) != nil)
        columns.append(enterprise(employees: 7))
        #expect(columns.orderCodes.isEmpty)
    }

    @Test func fewDistinctValuesMakeExactCodes() {
        let codes = OrderCodes(values: [3, .nan, 1, 3, -0.0, 0.0, 2])
        #expect(codes.isExact)
        #expect(codes.lowers == [-0.0, 1, 2, 3])
        #expect(codes.codes == [4, 0, 2, 4, 1, 1, 3])
        #expect(codes.bucket(of: 2.5) == 3 && codes.bucket(of: -1) == 0 && codes.bucket(of: .infinity) == 4)
        let split = OrderCodes(values: [5, 1, 4, 2, 3, 6], maxBuckets: 2)
        #expect(!split.isExact && split.lowers == [1, 4])
        #expect(split.codes == [2, 1, 2, 1, 1, 2])
    }

    private func expectSame(
        _ column: EnterpriseColumns.Column, _ codes: OrderCodes, _ predicate: RulePredicate, _ start: [UInt64],
        _ what: String
    ) {
        let wide = ColumnScan.scan(column, codes: nil, count: Self.rows, predicate: predicate)
        let narrow = ColumnScan.scan(column, codes: codes, count: Self.rows, predicate: predicate)
        #expect(narrow == wide, "scan \(what)")
        var wideMasked = start
        var narrowMasked = start
        ColumnScan.intersect(&wideMasked, column, codes: nil, count: Self.rows, predicate: predicate)
        ColumnScan.intersect(&narrowMasked, column, codes: codes, count: Self.rows, predicate: predicate)
        #expect(narrowMasked == wideMasked, "intersect \(what)")
    }
}
