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
}
