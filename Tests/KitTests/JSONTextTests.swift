import Foundation
import Kit
import Testing

@Suite struct JSONTextTests {
    @Test func quotesAndBackslashes() {
        #expect(JSONText.escaped(#"say "hi" \ bye"#) == #"say \"hi\" \\ bye"#)
        #expect(JSONText.string(#"a"b"#) == #""a\"b""#)
    }

    @Test func controlCharactersByNameOrAsUnicodeEscapes() {
        #expect(JSONText.escaped("\n\r\t\u{8}\u{C}") == #"\n\r\t\b\f"#)
        #expect(JSONText.escaped("\u{0}\u{1}\u{1F}\u{7F}") == "\\u0000\\u0001\\u001f\u{7F}")
    }

    /// JSON allows U+2028 and U+2029 raw, JavaScript string literals do not.
    @Test func lineAndParagraphSeparatorsAreEscaped() {
        #expect(JSONText.escaped("a\u{2028}b\u{2029}c") == #"a\u2028b\u2029c"#)
        // Their UTF-8 neighbours are not.
        #expect(JSONText.escaped("\u{2027}\u{202A}\u{2020}") == "\u{2027}\u{202A}\u{2020}")
    }

    @Test func nonASCIIAndSlashStayRaw() {
        #expect(JSONText.escaped("税务局 é 😀 /p") == "税务局 é 😀 /p")
    }

    @Test func bytesAndStringsAgreeAndDecodeBack() throws {
        let text = "q\"b\\s/n\nt\tr\rc\u{1}\u{1F} é中😀 \u{2028}\u{2029}"
        var bytes: [UInt8] = []
        JSONText.append(escaped: text, to: &bytes)
        var string = "x"
        JSONText.append(escaped: text, to: &string)
        #expect("x" + String(decoding: bytes, as: UTF8.self) == string)
        let decoded = try JSONDecoder().decode(String.self, from: Data(JSONText.string(text).utf8))
        #expect(decoded == text)
    }

    @Test func orderedObjects() {
        let json = JSONText.object([("b", JSONText.string("1")), ("a", JSONText.array(["2", "true"]))])
        #expect(json == #"{"b":"1","a":[2,true]}"#)
        #expect(JSONText.stringObject([("z", "\u{2028}")]) == #"{"z":"\u2028"}"#)
    }

    @Test func readsBackTheEscapesItWrites() {
        let pairs: [(Character, UInt8)] = [
            ("\"", 0x22), ("\\", 0x5C), ("/", 0x2F), ("b", 0x08), ("f", 0x0C), ("n", 0x0A), ("r", 0x0D), ("t", 0x09),
        ]
        for (escape, byte) in pairs { #expect(JSONText.unescaped(escape.asciiValue!) == byte, "\\\(escape)") }
        for escape in ["u", "x", "0", "a", "N"] { #expect(JSONText.unescaped(Character(escape).asciiValue!) == nil) }
        let text = Array("x00e9D83dzz".utf8)
        text.withUnsafeBufferPointer { bytes in
            #expect(JSONText.hex4(bytes, at: 1) == 0x00E9)
            #expect(JSONText.hex4(bytes, at: 5) == 0xD83D)
            #expect(JSONText.hex4(bytes, at: 0) == nil)  // "x" is not a digit
            #expect(JSONText.hex4(bytes, at: 8) == nil)  // only three left
        }
    }
}
