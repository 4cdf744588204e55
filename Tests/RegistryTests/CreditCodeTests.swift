import Testing

@testable import Registry

// Expected check characters were computed independently with a Python implementation of
// GB 32100-2015 and GB 11714.
struct CreditCodeTests {
    @Test(arguments: [
        "91350100M000100Y43", "91110108769361569N", "91110108MA01A2B32G", "92110105L12345674T",
        "93110108MA01A2B32A", "91110105L12345674X",
    ])
    func acceptsValidCodes(code: String) {
        #expect(CreditCode.normalize(code) == .success(code))
    }

    @Test func acceptsLowercaseAndSurroundingSpace() {
        #expect(CreditCode.normalize(" 91110108ma01a2b32g ") == .success("91110108MA01A2B32G"))
    }

    @Test func rejectsWrongCheckCharacter() {
        #expect(CreditCode.normalize("91350100M000100Y44") == .failure(.init(message: "check digit should be 3")))
        #expect(CreditCode.normalize("91110108769361569A") == .failure(.init(message: "check digit should be N")))
    }

    @Test func rejectsWrongOrganisationCheckCharacter() {
        #expect(
            CreditCode.normalize("911101087693615689")
                == .failure(.init(message: "organisation code check digit should be 9")))
    }

    @Test func rejectsCharactersOutsideTheAlphabet() {
        #expect(
            CreditCode.normalize("9111I108769361569N")
                == .failure(.init(message: "invalid character 'I' at position 5")))
        #expect(
            CreditCode.normalize("91110108769361569O")
                == .failure(.init(message: "invalid character 'O' at position 18")))
    }

    @Test func rejectsLettersInTheDivisionCode() {
        guard case .failure(let invalid) = CreditCode.normalize("9111A108769361569N") else {
            Issue.record("accepted a letter in the division code")
            return
        }
        #expect(invalid.message.contains("position 5 must be a digit"))
    }

    @Test(arguments: ["", "9135010", "91350100M000100Y4", "91350100M000100Y433"])
    func rejectsWrongLength(code: String) {
        guard case .failure(let invalid) = CreditCode.normalize(code) else {
            Issue.record("accepted \(code)")
            return
        }
        #expect(invalid.message == "must be 18 characters, got \(code.count)")
    }

    @Test func organisationCheckMapsTenToXAndElevenToZero() {
        #expect(CreditCode.organisationCheckCharacter(Array("L1234567".utf8)) == UInt8(ascii: "4"))
        #expect(CreditCode.organisationCheckCharacter(Array("M000100Y".utf8)) == UInt8(ascii: "4"))
        // Weighted sum 0: 11 - 0 = 11 → '0'. Weighted sum 4 * 3 = 12: 11 - 1 = 10 → 'X'.
        #expect(CreditCode.organisationCheckCharacter(Array("00000000".utf8)) == UInt8(ascii: "0"))
        #expect(CreditCode.organisationCheckCharacter(Array("40000000".utf8)) == UInt8(ascii: "X"))
    }
}
