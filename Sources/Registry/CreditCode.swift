/// The unified social credit code (统一社会信用代码) of GB 32100-2015.
///
/// Eighteen characters from a 31-character alphabet (no I, O, S, V, Z): registration
/// authority, organisation type, six-digit administrative division, the nine-character
/// organisation code of GB 11714 (with its own check character) and a final check character.
public enum CreditCode {
    /// The code alphabet; a character's value is its index.
    public static let alphabet: [UInt8] = Array("0123456789ABCDEFGHJKLMNPQRTUWXY".utf8)

    static let weights: [Int] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    static let organisationWeights: [Int] = [3, 7, 9, 10, 5, 8, 4, 2]

    /// Index of each byte in `alphabet`, or -1.
    static let values: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (i, byte) in alphabet.enumerated() { table[Int(byte)] = Int8(i) }
        return table
    }()

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
            bytes.count == 18 && bytes.allSatisfy { values[Int($0)] >= 0 }
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
        for (i, byte) in bytes.enumerated() where values[Int(byte)] < 0 {
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
    public static func checkCharacter(_ first17: some Collection<UInt8>) -> UInt8 {
        var sum = 0
        for (byte, weight) in zip(first17, weights) { sum += Int(values[Int(byte)]) * weight }
        let c = 31 - sum % 31
        return alphabet[c == 31 ? 0 : c]
    }

    /// The GB 11714 check character (`0`-`9` or `X`) for an 8-character organisation code body.
    public static func organisationCheckCharacter(_ body: some Collection<UInt8>) -> UInt8 {
        var sum = 0
        for (byte, weight) in zip(body, organisationWeights) {
            let value: Int
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = Int(byte) - 48
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = Int(byte) - 55
            default: value = 0
            }
            sum += value * weight
        }
        switch 11 - sum % 11 {
        case 10: return UInt8(ascii: "X")
        case 11: return UInt8(ascii: "0")
        case let c: return UInt8(48 + c)
        }
    }
}
