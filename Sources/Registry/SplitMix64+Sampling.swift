import Glibc
import Kit

/// The draws the sample registry is made of. Each consumes a fixed number of `next()` values,
/// so a seed always yields the same enterprises.
extension SplitMix64 {
    /// Uniform in 0..<n, by multiply-shift (bias below 2⁻³² for the small n used here).
    mutating func below(_ n: Int) -> Int { Int(((next() >> 32) &* UInt64(n)) >> 32) }

    mutating func chance(_ p: Double) -> Bool { unit() < p }

    mutating func element<T>(_ array: [T]) -> T { array[below(array.count)] }

    mutating func weighted<T>(_ choices: [(T, Int)]) -> T {
        var pick = below(choices.reduce(0) { $0 + $1.1 })
        for (choice, weight) in choices {
            if pick < weight { return choice }
            pick -= weight
        }
        return choices[choices.count - 1].0
    }

    /// Standard normal, by Box-Muller.
    mutating func normal() -> Double {
        let u = 1 - unit()  // (0, 1]
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * unit())
    }

    mutating func logNormal(median: Double, sigma: Double) -> Double {
        median * exp(sigma * normal())
    }
}
