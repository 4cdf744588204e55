import Testing

@testable import Registry

struct JSONLineParserTests {
    @Test(arguments: [
        ("1.5e6", "1500000"), ("1.25e-5", "0.0000125"), ("-2.5E3", "-2500"), ("+1e2", "100"), ("00012e-1", "1.2"),
        ("1.50e1", "15"), ("0.0e5", "0"), ("0e-9223372036854775808", "0"), ("12", "12"),
    ])
    func exponentsBecomePlainDecimals(text: String, plain: String) {
        #expect(JSONLineParser.plainDecimal(text) == plain)
    }

    @Test(arguments: ["1e-400", "1e9223372036854775807", "1e-9223372036854775808", "5e401"])
    func exponentsBeyondFourHundredCharactersAreOutOfRange(text: String) {
        #expect(JSONLineParser.plainDecimal(text) == nil)
    }

    @Test(arguments: ["1e309", "-1e309", "1e-400", String(repeating: "9", count: 400)])
    func numbersADoubleCannotHoldFailWithKeyAndColumn(number: String) throws {
        let line = Array(#"{"名称": "甲", "annual_sales": \#(number)}"#.utf8)
        let failure = #expect(throws: JSONLineParser.Failure.self) {
            _ = try line.withUnsafeBufferPointer { try JSONLineParser.parse($0) }
        }
        #expect(failure?.field == "annual_sales")
        #expect(failure?.column == 29)
        #expect(failure?.message.hasSuffix("is out of range") == true)
        #expect((failure?.message.count ?? 0) < 60)
    }
}
