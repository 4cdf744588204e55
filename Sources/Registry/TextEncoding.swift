import Glibc

/// The character encoding of an import file.
public enum TextEncoding: String, Sendable, Hashable, CaseIterable {
    /// A UTF-8 BOM or valid UTF-8 means UTF-8; anything else is taken as GB18030, which is
    /// what Excel on Chinese Windows writes for "CSV".
    case auto
    case utf8
    /// GB18030, a superset of GBK and GB2312.
    case gb18030

    /// Parses a command-line or config value; `gbk`, `gb2312` and `utf-8` are accepted as aliases.
    public init?(option: String) {
        switch option.lowercased() {
        case "auto": self = .auto
        case "utf8", "utf-8": self = .utf8
        case "gb18030", "gbk", "gb2312", "cp936": self = .gb18030
        default: return nil
        }
    }

    static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// Converts raw file bytes to UTF-8 without a BOM.
    ///
    /// - Throws: `Diagnostic` naming the line of the first byte sequence that is invalid in
    ///   the chosen encoding.
    public static func decode(_ bytes: [UInt8], as encoding: TextEncoding, file: String) throws(Diagnostic) -> [UInt8] {
        let hasBOM = bytes.starts(with: byteOrderMark)
        switch encoding {
        case .utf8:
            let body = hasBOM ? Array(bytes.dropFirst(3)) : bytes
            if let offset = firstInvalidUTF8Offset(body) {
                throw Diagnostic(
                    file: file, line: lineNumber(in: body, at: offset), message: "invalid UTF-8 byte sequence")
            }
            return body
        case .gb18030:
            return try convertGB18030(bytes, file: file)
        case .auto:
            if hasBOM { return try decode(bytes, as: .utf8, file: file) }
            if firstInvalidUTF8Offset(bytes) == nil { return bytes }
            return try convertGB18030(bytes, file: file)
        }
    }

    /// 1-based line of byte `offset`.
    static func lineNumber(in bytes: [UInt8], at offset: Int) -> Int {
        var line = 1
        for byte in bytes[..<min(offset, bytes.count)] where byte == UInt8(ascii: "\n") { line += 1 }
        return line
    }

    /// The offset of the first byte that does not belong to a well-formed UTF-8 sequence.
    static func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int? {
        bytes.withUnsafeBufferPointer { buffer -> Int? in
            let count = buffer.count
            var i = 0
            while i < count {
                let lead = buffer[i]
                if lead < 0x80 {
                    i += 1
                    continue
                }
                let length: Int
                var lower: UInt8 = 0x80
                var upper: UInt8 = 0xBF
                switch lead {
                case 0xC2...0xDF: length = 2
                case 0xE0:
                    length = 3
                    lower = 0xA0
                case 0xE1...0xEC, 0xEE...0xEF: length = 3
                case 0xED:
                    length = 3
                    upper = 0x9F
                case 0xF0:
                    length = 4
                    lower = 0x90
                case 0xF1...0xF3: length = 4
                case 0xF4:
                    length = 4
                    upper = 0x8F
                default: return i
                }
                guard i + length <= count else { return i }
                let second = buffer[i + 1]
                guard second >= lower, second <= upper else { return i }
                for j in 2..<length where buffer[i + j] & 0xC0 != 0x80 { return i }
                i += length
            }
            return nil
        }
    }

    private static func convertGB18030(_ input: [UInt8], file: String) throws(Diagnostic) -> [UInt8] {
        guard let descriptor = iconv_open("UTF-8", "GB18030"), descriptor != iconv_t(bitPattern: -1) else {
            throw Diagnostic(file: file, line: 0, message: "GB18030 conversion is not available (iconv_open failed)")
        }
        defer { iconv_close(descriptor) }
        // GB18030 never takes more than 1.5 UTF-8 bytes per input byte; grow anyway on E2BIG.
        var output = [UInt8](repeating: 0, count: input.count + input.count / 2 + 16)
        var failedAt: Int?
        var written = 0
        var mutableInput = input
        mutableInput.withUnsafeMutableBufferPointer { inBuffer in
            var inPointer = UnsafeMutableRawPointer(inBuffer.baseAddress)?.assumingMemoryBound(to: CChar.self)
            var inLeft = inBuffer.count
            while inLeft > 0 {
                let result: Int = output.withUnsafeMutableBufferPointer { outBuffer in
                    var outPointer: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(
                        outBuffer.baseAddress! + written
                    )
                    .assumingMemoryBound(to: CChar.self)
                    var outLeft = outBuffer.count - written
                    let result = iconv(descriptor, &inPointer, &inLeft, &outPointer, &outLeft)
                    written = outBuffer.count - outLeft
                    return result
                }
                if result != -1 { break }
                if errno == E2BIG {
                    output.append(contentsOf: repeatElement(0, count: max(inLeft * 2, 64)))
                } else {
                    // EILSEQ (invalid sequence) or EINVAL (truncated sequence at the end).
                    failedAt = inBuffer.count - inLeft
                    return
                }
            }
        }
        if let failedAt {
            throw Diagnostic(
                file: file, line: lineNumber(in: input, at: failedAt), message: "invalid GB18030 byte sequence")
        }
        output.removeSubrange(written...)
        if output.starts(with: byteOrderMark) { output.removeFirst(3) }
        return output
    }
}
