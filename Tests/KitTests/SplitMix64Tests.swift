import Kit
import Testing

@Suite struct SplitMix64Tests {
    /// The sample registry and the stub gateways replay from seeds: these must never change.
    @Test func firstOutputsForFixedSeeds() {
        var zero = SplitMix64(seed: 0)
        #expect(
            (0..<3).map { _ in zero.next() } == [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F])
        var seeded = SplitMix64(seed: 42)
        #expect(
            (0..<3).map { _ in seeded.next() } == [0xBDD7_3226_2FEB_6E95, 0x28EF_E333_B266_F103, 0x4752_6757_130F_9F52])
    }

    @Test func unitIsTheTop53Bits() {
        var a = SplitMix64(seed: 7)
        var b = SplitMix64(seed: 7)
        let unit = a.unit()
        #expect(unit == Double(b.next() >> 11) / Double(1 << 53))
        #expect((0..<1000).allSatisfy { _ in (0..<1).contains(a.unit()) })
    }
}
