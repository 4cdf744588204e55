/// Writes JSON text by hand: string escaping, and objects whose keys keep the order given
/// (`JSONSerialization` and `JSONEncoder` do not keep it; providers and the outbox want it).
public enum JSONText {
    /// `text` as a JSON string literal, quotes included.
    public static func string(_ text: String) -> String {
        var out = "\""
        append(escaped: text, to: &out)
        out += "\""
        return out
    }

    /// `text` escaped for the inside of a JSON string literal.
    public static func escaped(_ text: String) -> String {
        var out = ""
        append(escaped: text, to: &out)
        return out
    }

    /// Appends `text` escaped for the inside of a JSON string literal.
    ///
    /// Escapes `"`, `\`, the controls below U+0020 (`\b \f \n \r \t` by name, the rest as `\u00XX`
    /// as `JSONEncoder` writes them) and U+2028 and U+2029: JSON allows those two raw but
    /// JavaScript string literals do not, and gateways and their consoles are JavaScript.
    /// Everything else, `/` and non-ASCII included, is written as it is.
    public static func append(escaped text: String, to out: inout String) {
        var bytes: [UInt8] = []
        append(escaped: text, to: &bytes)
        out += String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `text` escaped for the inside of a JSON string literal, as UTF-8.
    public static func append(escaped text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { utf8 in
            out.reserveCapacity(out.count + utf8.count)
            var i = 0
            while i < utf8.count {
                // Runs of bytes written as they are go in one copy: byte by byte, escaping was
                // the largest single cost of encoding a planned message's payload.
                var end = i
                while end < utf8.count, Self.isVerbatim(utf8[end]) { end += 1 }
                if end > i {
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[i..<end]))
                    i = end
                    continue
                }
                let byte = utf8[i]
                i += 1
                switch byte {
                case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
                case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
                case 0x08: out += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
                case 0x0C: out += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
                case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
                case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
                case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
                case 0x00..<0x20:
                    out += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")]
                    out.append(hexDigits[Int(byte >> 4)])
                    out.append(hexDigits[Int(byte & 0x0F)])
                // U+2028 and U+2029 are E2 80 A8 and E2 80 A9 in UTF-8.
                case 0xE2 where i + 1 < utf8.count && utf8[i] == 0x80 && (utf8[i + 1] == 0xA8 || utf8[i + 1] == 0xA9):
                    out += Array("\\u202".utf8)
                    out.append(utf8[i + 1] == 0xA8 ? UInt8(ascii: "8") : UInt8(ascii: "9"))
                    i += 2
                default: out.append(byte)
                }
            }
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Whether `byte` is always copied unescaped: not a quote, backslash or control character,
    /// nor 0xE2, which may begin U+2028 or U+2029.
    @inline(__always)
    private static func isVerbatim(_ byte: UInt8) -> Bool {
        byte >= 0x20 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") && byte != 0xE2
    }

    /// An object of already-encoded values, in order.
    public static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { string($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }

    /// An object of string values, in order.
    public static func stringObject(_ members: [(String, String)]) -> String {
        object(members.map { ($0.0, string($0.1)) })
    }

    /// An array of already-encoded values.
    public static func array(_ elements: [String]) -> String { "[" + elements.joined(separator: ",") + "]" }
}
