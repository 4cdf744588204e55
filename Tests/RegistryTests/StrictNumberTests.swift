import Testing

@testable import Registry

struct StrictNumberTests {
    @Test(arguments: [
        "0", "0.1", "-0.5", "+12", "1234567.89", "0.000001", "12.", ".5", "9007199254740993", "123456789012345.67",
        "0.30000000000000004", "-3000",
    ])
    func matchesCorrectlyRoundedConversion(text: String) {
        #expect(StrictNumber.parse(text) == Double(text))
    }

    @Test(arguments: ["", "-", ".", "1e5", "1,000", "1.2.3", "--1", "1-", " 1", "nan", "inf"])
    func rejects(text: String) {
        #expect(StrictNumber.parse(text) == nil)
    }
}
