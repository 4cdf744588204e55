import Foundation
import Planning
import Registry
import Storage
import Testing

@Suite struct ControlGroupTests {
    /// The draw is HMAC-SHA256(seed, credit code), first 8 bytes big-endian, top 53 bits / 2^53;
    /// the expected values come from Python's hmac module, not from this code.
    @Test func drawIsExactForAFixedSeed() {
        let seed = "00112233445566778899aabbccddeeff"
        #expect(ControlGroup.draw(seed: seed, creditCode: "91350100M000100Y43") == 0.02945432875497367)
        #expect(ControlGroup.draw(seed: seed, creditCode: "91110108MA01A2B3X9") == 0.8676164026133236)
        #expect(ControlGroup.draw(seed: seed, creditCode: "91440300MA5DXXXX1K") == 0.9656413984214245)
        let group = ControlGroup(percent: 10, seed: seed)
        #expect(group.contains("91350100M000100Y43"))
        #expect(!group.contains("91110108MA01A2B3X9"))
        #expect(ControlGroup(percent: 0, seed: seed as String?) == nil)
        #expect(ControlGroup(percent: 10, seed: nil as String?) == nil)
    }

    /// Over 100,000 enterprises the share held out is within 4 standard errors of PCT for each
    /// percentage, a larger percentage holds out a superset, and another seed another sample.
    @Test func shareIsCloseToThePercentage() {
        var generator = EnterpriseGenerator(seed: 7)
        let codes = (0..<100_000).map { _ in generator.next().creditCode }
        let draws = codes.map { ControlGroup.draw(seed: "a1", creditCode: $0) }
        var previous = 0
        for percent in [5.0, 10.0, 12.5, 50.0] {
            let held = draws.filter { $0 < percent / 100 }.count
            let p = percent / 100
            let sigma = (p * (1 - p) / Double(codes.count)).squareRoot()
            #expect(abs(Double(held) / Double(codes.count) - p) < 4 * sigma, "\(held) held out for \(percent) %")
            #expect(held >= previous)
            previous = held
        }
        let group = ControlGroup(percent: 10, seed: "a1")
        #expect(codes.prefix(1000).map(group.contains) == draws.prefix(1000).map { $0 < 0.1 })
        let other = ControlGroup(percent: 10, seed: "b2")
        #expect(codes.prefix(1000).map(other.contains) != codes.prefix(1000).map(group.contains))
    }
}
