/// The unified social credit code (统一社会信用代码) of GB 32100-2015.
///
/// Eighteen characters from a 31-character alphabet (no I, O, S, V, Z): registration
/// authority, organisation type, six-digit administrative division, the nine-character
/// organisation code of GB 11714 (with its own check character) and a final check character.
public enum CreditCode {
    /// The code alphabet; a character's value is its index.
    public static let alphabet: [UInt8] = Array("0123456789ABCDEFGHJKLMNPQRTUWXY".utf8)

    /// Index of `byte` in `alphabet`, or -1; a switch rather than a table so hot loops touch
    /// no lazily initialised global.
    @inline(__always)
    static func value(of byte: UInt8) -> Int {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte) - 48
        case UInt8(ascii: "A")...UInt8(ascii: "H"): Int(byte) - 55
        case UInt8(ascii: "J")...UInt8(ascii: "N"): Int(byte) - 56
        case UInt8(ascii: "P")...UInt8(ascii: "R"): Int(byte) - 57
        case UInt8(ascii: "T")...UInt8(ascii: "U"): Int(byte) - 58
        case UInt8(ascii: "W")...UInt8(ascii: "Y"): Int(byte) - 59
        default: -1
        }
    }

    /// Why a code was refused, in words an operator can act on.
    public struct Invalid: Error, Sendable, Hashable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Trims and uppercases `text` and checks it fully; returns the normalised code.
    public static func normalize(_ text: some StringProtocol) -> Result<String, Invalid> {
        var string = String(text)
        // Codes in import files are nearly always already 18 uppercase characters: check them
        // in place and hand back the same string instead of building a new one.
        let alreadyNormal = string.withUTF8 { bytes in
            bytes.count == 18 && bytes.allSatisfy { value(of: $0) >= 0 }
        }
        if alreadyNormal {
            if let invalid = string.withUTF8({ check($0) }) { return .failure(invalid) }
            return .success(string)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(18)
        for byte in string.utf8 where byte != UInt8(ascii: " ") && byte != UInt8(ascii: "\t") {
            bytes.append(byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") ? byte - 32 : byte)
        }
        guard bytes.count == 18 else {
            let count = string.trimmingWhitespace().count
            return .failure(Invalid(message: "must be 18 characters, got \(count)"))
        }
        if let invalid = bytes.withUnsafeBufferPointer(check) { return .failure(invalid) }
        return .success(String(decoding: bytes, as: UTF8.self))
    }

    /// Checks 18 uppercased bytes; `nil` when they form a valid code.
    private static func check(_ bytes: UnsafeBufferPointer<UInt8>) -> Invalid? {
        for (i, byte) in bytes.enumerated() where value(of: byte) < 0 {
            let shown = byte < 0x80 ? String(UnicodeScalar(byte)) : "non-ASCII"
            return Invalid(message: "invalid character '\(shown)' at position \(i + 1)")
        }
        for i in 2..<8 where !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) {
            return Invalid(message: "position \(i + 1) must be a digit (positions 3-8 are the administrative division)")
        }
        let organisation = organisationCheckCharacter(bytes[8..<16])
        guard organisation == bytes[16] else {
            return Invalid(message: "organisation code check digit should be \(Character(UnicodeScalar(organisation)))")
        }
        let check = checkCharacter(bytes[0..<17])
        guard check == bytes[17] else {
            return Invalid(message: "check digit should be \(Character(UnicodeScalar(check)))")
        }
        return nil
    }

    /// Whether `text` is a valid code (after trimming and uppercasing).
    public static func isValid(_ text: some StringProtocol) -> Bool {
        if case .success = normalize(text) { return true }
        return false
    }

    /// The 18th character for the first 17 (which must all be in `alphabet`).
    ///
    /// The standard's weights 1, 3, 9, 27, 19, … are the powers of 3 modulo 31.
    public static func checkCharacter(_ first17: some Collection<UInt8>) -> UInt8 {
        var sum = 0
        var weight = 1
        for byte in first17.prefix(17) {
            sum += value(of: byte) * weight
            weight = weight * 3 % 31
        }
        let c = 31 - sum % 31
        return alphabet[c == 31 ? 0 : c]
    }

    /// The GB 11714 check character (`0`-`9` or `X`) for an 8-character organisation code body.
    ///
    /// The standard's weights 3, 7, 9, 10, 5, 8, 4, 2 are 2⁸, 2⁷, … 2¹ modulo 11; each is the
    /// one before times 6 (the inverse of 2) modulo 11.
    public static func organisationCheckCharacter(_ body: some Collection<UInt8>) -> UInt8 {
        var sum = 0
        var weight = 3
        for byte in body.prefix(8) {
            let value: Int
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = Int(byte) - 48
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = Int(byte) - 55
            default: value = 0
            }
            sum += value * weight
            weight = weight * 6 % 11
        }
        switch 11 - sum % 11 {
        case 10: return UInt8(ascii: "X")
        case 11: return UInt8(ascii: "0")
        case let c: return UInt8(48 + c)
        }
    }
}
