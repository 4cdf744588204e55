/// Mainland China mobile numbers.
public enum MobileNumber {
    /// The bare 11 digits of a mainland mobile number, or `nil` when `text` is not one.
    ///
    /// Spaces, dashes, dots and parentheses are ignored; a `+86` or `0086` prefix is dropped,
    /// and so is a bare `86` when 13 digits remain. The result matches `1[3-9]\d{9}`.
    public static func normalize(_ text: some StringProtocol) -> String? {
        var string = String(text)
        // The usual case, 11 bare digits, is checked in place and returned as is.
        let isBare = string.withUTF8 { bytes in
            bytes.count == 11 && bytes[0] == UInt8(ascii: "1")
                && (UInt8(ascii: "3")...UInt8(ascii: "9")).contains(bytes[1])
                && bytes.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        }
        if isBare { return string }
        var digits: [UInt8] = []
        digits.reserveCapacity(16)
        var sawPlus = false
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digits.append(byte)
            case UInt8(ascii: " "), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "("), UInt8(ascii: ")"),
                UInt8(ascii: "\t"):
                continue
            case UInt8(ascii: "+") where digits.isEmpty && !sawPlus: sawPlus = true
            default: return nil
            }
        }
        let eightySix: [UInt8] = [UInt8(ascii: "8"), UInt8(ascii: "6")]
        if sawPlus {
            guard digits.starts(with: eightySix) else { return nil }
            digits.removeFirst(2)
        } else if digits.starts(with: [UInt8(ascii: "0"), UInt8(ascii: "0")] + eightySix) {
            digits.removeFirst(4)
        } else if digits.count == 13, digits.starts(with: eightySix) {
            digits.removeFirst(2)
        }
        guard digits.count == 11, digits[0] == UInt8(ascii: "1"),
            (UInt8(ascii: "3")...UInt8(ascii: "9")).contains(digits[1])
        else { return nil }
        return String(decoding: digits, as: UTF8.self)
    }
}
