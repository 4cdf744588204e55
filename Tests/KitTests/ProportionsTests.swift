import Kit
import Testing

@Suite struct ProportionsTests {
    private func rounded(_ x: Double, _ places: Double = 4) -> Double {
        let scale = pow10(places)
        return (x * scale).rounded() / scale
    }

    private func pow10(_ n: Double) -> Double { n == 0 ? 1 : 10 * pow10(n - 1) }

    /// Newcombe 1998, Table II, example (a): 56/70 − 48/80 = 0.2000, method 10: 0.0524 to 0.3339.
    @Test func newcombeTableTwoExampleA() throws {
        let result = try #require(
            Proportions.newcombeDifference(successes1: 56, trials1: 70, successes2: 48, trials2: 80))
        #expect(rounded(result.difference) == 0.2)
        #expect(rounded(result.interval.lower) == 0.0524)
        #expect(rounded(result.interval.upper) == 0.3339)
    }

    /// Table II, example (b): 9/10 − 3/10 = 0.6000, method 10: 0.1705 to 0.8090.
    @Test func newcombeTableTwoExampleB() throws {
        let result = try #require(
            Proportions.newcombeDifference(successes1: 9, trials1: 10, successes2: 3, trials2: 10))
        #expect(rounded(result.interval.lower) == 0.1705)
        #expect(rounded(result.interval.upper) == 0.8090)
    }

    /// Newcombe 1998 (Statistics in Medicine 17:857–872), Table I: 0/10 → 0 to 0.2775 (Wilson);
    /// and by symmetry 10/10 → 0.7225 to 1.
    @Test func wilsonAtTheEdges() throws {
        let none = try #require(Proportions.wilson(successes: 0, trials: 10))
        #expect(none.lower == 0 && rounded(none.upper) == 0.2775)
        let all = try #require(Proportions.wilson(successes: 10, trials: 10))
        #expect(all.upper == 1 && rounded(all.lower) == 0.7225)
        #expect(Proportions.wilson(successes: 0, trials: 0) == nil)
        #expect(Proportions.newcombeDifference(successes1: 1, trials1: 2, successes2: 0, trials2: 0) == nil)
    }

    /// Table II, example (g) of the 1998 difference paper: 0/10 − 0/20 = 0, −0.1611 to 0.2775.
    @Test func bothCellsEmpty() throws {
        let result = try #require(
            Proportions.newcombeDifference(successes1: 0, trials1: 10, successes2: 0, trials2: 20))
        #expect(result.difference == 0)
        #expect(rounded(result.interval.lower) == -0.1611)
        #expect(rounded(result.interval.upper) == 0.2775)
    }
}
