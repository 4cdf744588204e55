/// Percent-encoding as gateway signature schemes specify it.
public enum PercentEncoding {
    /// Encodes `text` per RFC 3986: its UTF-8 bytes, unreserved characters (`A-Z a-z 0-9 - _ . ~`)
    /// kept literally and every other byte written as `%XY` with uppercase hex digits.
    ///
    /// This is stricter than `application/x-www-form-urlencoded`: a space becomes `%20`, never
    /// `+`, and `*` is encoded while `~` is not, as Alibaba Cloud and WeChat signatures require.
    public static func rfc3986(_ text: String) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                out.append(byte)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(digits[Int(byte >> 4)])
                out.append(digits[Int(byte & 0x0f)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
