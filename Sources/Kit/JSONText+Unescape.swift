/// Reading JSON string escapes: the table the hand-written readers share (the JSON Lines
/// importer, stored custom attributes, outbox payloads), each keeping its own errors.
extension JSONText {
    /// The byte a one-character escape `\c` stands for (`\"`, `\\`, `\/`, `\b`, `\f`, `\n`,
    /// `\r`, `\t`); nil for `\u` (see ``hex4(_:at:)``) and for anything JSON does not allow.
    @inlinable
    public static func unescaped(_ escape: UInt8) -> UInt8? {
        switch escape {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): escape
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "f"): 0x0C
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "r"): 0x0D
        case UInt8(ascii: "t"): 0x09
        default: nil
        }
    }

    /// The value of the four hexadecimal digits of a `\u` escape at `index` (either case), or
    /// nil when fewer than four remain or one is not a digit.
    @inlinable
    public static func hex4(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> UInt32? {
        guard index >= 0, index + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for byte in bytes[index..<index + 4] {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }
}
