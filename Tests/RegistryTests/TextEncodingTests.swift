import Testing

@testable import Registry

struct TextEncodingTests {
    /// "北京华盛科技有限公司" in GB18030, from Python's `str.encode('gb18030')`.
    static let companyGB18030: [UInt8] = [
        0xB1, 0xB1, 0xBE, 0xA9, 0xBB, 0xAA, 0xCA, 0xA2, 0xBF, 0xC6, 0xBC, 0xBC, 0xD3, 0xD0, 0xCF, 0xDE, 0xB9, 0xAB,
        0xCB, 0xBE,
    ]
    /// "望京街道".
    static let subdistrictGB18030: [UInt8] = [0xCD, 0xFB, 0xBE, 0xA9, 0xBD, 0xD6, 0xB5, 0xC0]
    /// "𠀀" (U+20000), a four-byte GB18030 sequence.
    static let fourByteGB18030: [UInt8] = [0x95, 0x32, 0x82, 0x36]

    @Test func parsesOptionAliases() {
        #expect(TextEncoding(option: "GBK") == .gb18030)
        #expect(TextEncoding(option: "gb2312") == .gb18030)
        #expect(TextEncoding(option: "utf-8") == .utf8)
        #expect(TextEncoding(option: "auto") == .auto)
        #expect(TextEncoding(option: "latin1") == nil)
    }

    @Test func autoDetectsGB18030AndConverts() throws {
        let bytes = Self.companyGB18030 + [0x2C] + Self.subdistrictGB18030 + Self.fourByteGB18030
        let decoded = try TextEncoding.decode(bytes, as: .auto, file: "f.csv")
        #expect(String(decoding: decoded, as: UTF8.self) == "北京华盛科技有限公司,望京街道𠀀")
    }

    @Test func autoKeepsValidUTF8AndStripsBOM() throws {
        let text = Array("北京,望京".utf8)
        #expect(try TextEncoding.decode(text, as: .auto, file: "f") == text)
        #expect(try TextEncoding.decode([0xEF, 0xBB, 0xBF] + text, as: .auto, file: "f") == text)
    }

    @Test func reportsInvalidGB18030WithLineNumber() {
        let bytes = Array("a,b\n1,2\n".utf8) + [0x81, 0x20] + Array("\n".utf8)
        #expect(throws: Diagnostic(file: "f.csv", line: 3, message: "invalid GB18030 byte sequence")) {
            try TextEncoding.decode(bytes, as: .gb18030, file: "f.csv")
        }
    }

    @Test func reportsInvalidUTF8WhenUTF8IsForced() {
        let bytes = Array("a\nb\n".utf8) + Self.companyGB18030
        #expect(throws: Diagnostic(file: "f.csv", line: 3, message: "invalid UTF-8 byte sequence")) {
            try TextEncoding.decode(bytes, as: .utf8, file: "f.csv")
        }
    }

    @Test func rejectsOverlongAndSurrogateUTF8() {
        #expect(TextEncoding.firstInvalidUTF8Offset([0x41, 0xC0, 0x80]) == 1)
        #expect(TextEncoding.firstInvalidUTF8Offset([0xED, 0xA0, 0x80]) == 0)
        #expect(TextEncoding.firstInvalidUTF8Offset([0xE5, 0x8C]) == 0)
        #expect(TextEncoding.firstInvalidUTF8Offset(Array("𠀀北".utf8)) == nil)
    }
}
