import Testing

@testable import Registry

struct MobileNumberTests {
    @Test(arguments: [
        ("13812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("0086-138-1234-5678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("(138) 1234.5678", "13812345678"),
        ("199-0000-1111", "19900001111"),
    ])
    func normalizes(input: String, expected: String) {
        #expect(MobileNumber.normalize(input) == expected)
    }

    @Test(arguments: [
        "", "1381234567", "138123456789", "12812345678", "23812345678", "010-12345678", "+1 138 1234 5678",
        "138x2345678", "86138123456", "+86", "8612812345678",
    ])
    func rejects(input: String) {
        #expect(MobileNumber.normalize(input) == nil)
    }

    @Test func eightySixIsAPrefixOnlyWhenThirteenDigitsRemain() {
        // 11 digits starting with 86 are not a mobile number (second digit 6 is fine, first is not 1).
        #expect(MobileNumber.normalize("86123456789") == nil)
    }
}
