import Kit

/// Parses one line of a JSON Lines import: a flat object whose values are strings, numbers,
/// booleans or null.
///
/// Values come back as the text the validator reads from a CSV cell: strings unescaped,
/// numbers as written (an exponent is expanded to a plain decimal, digit for digit), booleans
/// as `true`/`false`, and null as `nil` (missing). Keys keep their order of appearance.
///
/// A number a `Double` cannot hold (`1e309`, 400 digits, `1e-400`) fails the line, naming its
/// key and the column where it starts.
struct JSONLineParser {
    struct Failure: Error {
        var message: String
        /// The key whose value failed, when the failure is about one value.
        var field: String? = nil
        /// 1-based character column of that value.
        var column: Int? = nil
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private var i = 0

    /// Calls `body` with each line of `text` that is not blank (JSON whitespace only) and its
    /// 1-based line number: how the importers walk a JSON Lines file.
    static func forEachLine(
        in text: [UInt8], _ body: (_ line: UnsafeBufferPointer<UInt8>, _ number: Int) throws -> Void
    ) rethrows {
        try text.withUnsafeBufferPointer { buffer in
            var start = 0
            var number = 0
            while start < buffer.count {
                number += 1
                var end = start
                while end < buffer.count, buffer[end] != UInt8(ascii: "\n") { end += 1 }
                let line = UnsafeBufferPointer(rebasing: buffer[start..<end])
                start = end + 1
                let blank = !line.contains {
                    $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") && $0 != UInt8(ascii: "\r")
                }
                if !blank { try body(line, number) }
            }
        }
    }

    static func parse(_ line: UnsafeBufferPointer<UInt8>) throws(Failure) -> [(key: String, value: String?)] {
        var parser = JSONLineParser(bytes: line)
        return try parser.object()
    }

    private init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    private mutating func object() throws(Failure) -> [(key: String, value: String?)] {
        skipSpace()
        guard peek() == UInt8(ascii: "{") else { throw Failure(message: "line is not a JSON object") }
        i += 1
        var members: [(key: String, value: String?)] = []
        skipSpace()
        if peek() == UInt8(ascii: "}") {
            i += 1
        } else {
            while true {
                skipSpace()
                guard peek() == UInt8(ascii: "\"") else {
                    throw Failure(message: "expected a quoted key at byte \(i + 1)")
                }
                let key = try string()
                skipSpace()
                guard peek() == UInt8(ascii: ":") else { throw Failure(message: "expected ':' after key \"\(key)\"") }
                i += 1
                skipSpace()
                members.append((key, try value(for: key)))
                skipSpace()
                if peek() == UInt8(ascii: ",") {
                    i += 1
                } else if peek() == UInt8(ascii: "}") {
                    i += 1
                    break
                } else {
                    throw Failure(message: "expected ',' or '}' at byte \(i + 1)")
                }
            }
        }
        skipSpace()
        guard i == bytes.count else { throw Failure(message: "unexpected text after the JSON object") }
        return members
    }

    private mutating func value(for key: String) throws(Failure) -> String? {
        switch peek() {
        case UInt8(ascii: "\""): return try string()
        case UInt8(ascii: "t"):
            try literal("true")
            return "true"
        case UInt8(ascii: "f"):
            try literal("false")
            return "false"
        case UInt8(ascii: "n"):
            try literal("null")
            return nil
        case let byte? where byte == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte):
            return try number(for: key)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            throw Failure(message: "value of \"\(key)\" must be a string, number, boolean or null")
        default: throw Failure(message: "invalid value for \"\(key)\"")
        }
    }

    private mutating func literal(_ word: String) throws(Failure) {
        let expected = Array(word.utf8)
        let count = expected.count
        guard i + count <= bytes.count else { throw Failure(message: "invalid literal at byte \(i + 1)") }
        for k in 0..<count where bytes[i + k] != expected[k] {
            throw Failure(message: "invalid literal at byte \(i + 1)")
        }
        i += count
    }

    private mutating func number(for key: String) throws(Failure) -> String {
        let start = i
        var hasExponent = false
        while i < bytes.count, Self.isNumberByte(bytes[i]) {
            if bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") { hasExponent = true }
            i += 1
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        let shown = text.utf8.count <= 40 ? text : String(text.prefix(37)) + "..."
        guard let value = Double(text) else {
            throw Failure(message: "invalid number \(shown)", field: key, column: column(of: start))
        }
        let plain = hasExponent ? Self.plainDecimal(text) : text
        guard value.isFinite, let plain else {
            throw Failure(message: "\(shown) is out of range", field: key, column: column(of: start))
        }
        return plain
    }

    /// The 1-based character column of a byte offset.
    private func column(of offset: Int) -> Int {
        var column = 1
        for k in 0..<offset where bytes[k] & 0xC0 != 0x80 { column += 1 }
        return column
    }

    /// A number with an exponent written as a plain decimal, by moving the decimal point over
    /// the digits as written (`1.25e-5` → `0.0000125`, `-2.5E3` → `-2500`), so no binary rounding
    /// creeps in; `nil` when the result would run past 400 characters.
    static func plainDecimal(_ text: String) -> String? {
        var bytes = Array(text.utf8)
        var sign = ""
        if bytes.first == UInt8(ascii: "-") {
            sign = "-"
            bytes.removeFirst()
        } else if bytes.first == UInt8(ascii: "+") {
            bytes.removeFirst()
        }
        guard let e = bytes.firstIndex(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) else {
            return text
        }
        let mantissa = bytes[..<e]
        let dot = mantissa.firstIndex(of: UInt8(ascii: "."))
        let whole = dot.map { mantissa[..<$0] } ?? mantissa
        let fraction = dot.map { mantissa[($0 + 1)...] } ?? []
        let all = Array(whole) + Array(fraction)
        guard let first = all.firstIndex(where: { $0 != UInt8(ascii: "0") }) else { return "0" }
        let last = all.lastIndex(where: { $0 != UInt8(ascii: "0") }) ?? first
        let digits = all[first...last]
        let limit = 400
        guard let exponent = Int(String(decoding: bytes[(e + 1)...], as: UTF8.self)),
            (-limit...limit).contains(exponent)
        else {
            return nil
        }
        // Where the decimal point falls among `digits`.
        let point = whole.count - first + exponent
        let zeros = { (n: Int) in String(repeating: "0", count: n) }
        let text = String(decoding: digits, as: UTF8.self)
        let plain: String
        if point <= 0 {
            plain = "0." + zeros(-point) + text
        } else if point >= digits.count {
            plain = text + zeros(point - digits.count)
        } else {
            plain = String(text.prefix(point)) + "." + String(text.dropFirst(point))
        }
        return plain.utf8.count <= limit ? sign + plain : nil
    }

    private static func isNumberByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."),
            UInt8(ascii: "e"), UInt8(ascii: "E"):
            true
        default: false
        }
    }

    private mutating func string() throws(Failure) -> String {
        i += 1  // opening quote
        let start = i
        // Fast path: no escapes.
        while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\") { i += 1 }
        guard i < bytes.count else { throw Failure(message: "unterminated string") }
        if bytes[i] == UInt8(ascii: "\"") {
            defer { i += 1 }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        }
        var out = Array(bytes[start..<i])
        while i < bytes.count {
            let byte = bytes[i]
            if byte == UInt8(ascii: "\"") {
                i += 1
                return String(decoding: out, as: UTF8.self)
            }
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                i += 1
                continue
            }
            i += 1
            guard i < bytes.count else { break }
            let escaped = bytes[i]
            i += 1
            if let byte = JSONText.unescaped(escaped) {
                out.append(byte)
                continue
            }
            switch escaped {
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                        throw Failure(message: "unpaired surrogate in string")
                    }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else {
                        throw Failure(message: "unpaired surrogate in string")
                    }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw Failure(message: "invalid \\u escape") }
                out.append(contentsOf: Array(String(Character(unicode)).utf8))
            default:
                throw Failure(message: "invalid escape in string")
            }
        }
        throw Failure(message: "unterminated string")
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard let value = JSONText.hex4(bytes, at: i) else { throw Failure(message: "invalid \\u escape") }
        i += 4
        return value
    }

    private func peek() -> UInt8? { i < bytes.count ? bytes[i] : nil }

    private mutating func skipSpace() {
        while i < bytes.count,
            bytes[i] == UInt8(ascii: " ") || bytes[i] == UInt8(ascii: "\t") || bytes[i] == UInt8(ascii: "\r")
        {
            i += 1
        }
    }
}
