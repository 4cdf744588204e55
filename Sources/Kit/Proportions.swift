/// Confidence intervals for a proportion and for the difference of two independent proportions.
///
/// `campaign effect` compares the share of enterprises that claimed a relief in the pushed group
/// with the share in the control group. Cells of 0 % and 100 % are common there (a small region,
/// a policy few claim), where the textbook Wald interval collapses to a point; the Wilson score
/// interval and Newcombe's hybrid score interval built from it do not.
public enum Proportions {
    /// The normal quantile of a two-sided 95 % interval (Φ⁻¹(0.975)).
    public static let z95 = 1.959_963_984_540_054

    /// A closed interval `[lower, upper]`.
    public struct Interval: Sendable, Hashable, Codable {
        public var lower: Double
        public var upper: Double

        public init(lower: Double, upper: Double) {
            self.lower = lower
            self.upper = upper
        }
    }

    /// The Wilson score interval (without continuity correction) of `successes` out of `trials`;
    /// `nil` for no trials.
    ///
    /// Centre `(p + z²/2n) / (1 + z²/n)`, half-width `z·√(p(1−p)/n + z²/4n²) / (1 + z²/n)`. For 0/n
    /// the lower bound is exactly 0, for n/n the upper bound exactly 1.
    public static func wilson(successes: Int, trials: Int, z: Double = z95) -> Interval? {
        guard trials > 0, (0...trials).contains(successes) else { return nil }
        let n = Double(trials)
        let p = Double(successes) / n
        let z2 = z * z
        let denominator = 1 + z2 / n
        let centre = (p + z2 / (2 * n)) / denominator
        let half = z * (p * (1 - p) / n + z2 / (4 * n * n)).squareRoot() / denominator
        return Interval(
            lower: successes == 0 ? 0 : max(0, centre - half),
            upper: successes == trials ? 1 : min(1, centre + half))
    }

    /// The difference `p1 − p2` of two independent proportions with Newcombe's hybrid score
    /// interval (Newcombe 1998, Statistics in Medicine 17:873–890, method 10); `nil` when either
    /// group is empty.
    ///
    /// With Wilson intervals `(l1, u1)` and `(l2, u2)`: lower `D − z·√(l1(1−l1)/n1 + u2(1−u2)/n2)`,
    /// upper `D + z·√(u1(1−u1)/n1 + l2(1−l2)/n2)`.
    public static func newcombeDifference(
        successes1: Int, trials1: Int, successes2: Int, trials2: Int, z: Double = z95
    ) -> (difference: Double, interval: Interval)? {
        guard let w1 = wilson(successes: successes1, trials: trials1, z: z),
            let w2 = wilson(successes: successes2, trials: trials2, z: z)
        else { return nil }
        let n1 = Double(trials1)
        let n2 = Double(trials2)
        let d = Double(successes1) / n1 - Double(successes2) / n2
        let below = z * (w1.lower * (1 - w1.lower) / n1 + w2.upper * (1 - w2.upper) / n2).squareRoot()
        let above = z * (w1.upper * (1 - w1.upper) / n1 + w2.lower * (1 - w2.lower) / n2).squareRoot()
        return (d, Interval(lower: max(-1, d - below), upper: min(1, d + above)))
    }
}
