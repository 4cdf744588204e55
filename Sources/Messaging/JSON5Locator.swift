/// Where each value of a JSON5 document starts, by key path (`fields[2].value`), and the
/// keys of each object in file order.
///
/// `JSONDecoder` decodes the values but reports no positions and forgets key order; this
/// scanner walks the same text once so diagnostics can name the line of the offending string
/// and ordered maps (Aliyun params) keep the order the operator wrote.
struct JSON5Locator {
    struct Location: Sendable, Hashable {
        var line: Int
        var column: Int
    }

    struct SyntaxError: Error, Sendable, Hashable {
        var message: String
        var location: Location
    }

    private(set) var locations: [String: Location] = [:]
    private(set) var keyOrder: [String: [String]] = [:]
    /// The first syntax problem, if the text is not JSON5.
    private(set) var syntaxError: SyntaxError?

    /// The deepest nesting of objects and arrays accepted. Templates need three; each level is a
    /// recursion here, and 200,000 `[` overflowed the stack.
    static let maxDepth = 64

    private let bytes: [UInt8]
    private var position = 0
    private var line = 1
    private var column = 1
    /// Objects and arrays open around `position`.
    private var depth = 0

    init(text: String) {
        bytes = Array(text.utf8)
        do throws(SyntaxError) {
            skipTrivia()
            try value(path: "")
            skipTrivia()
            if position < bytes.count { throw error("unexpected text after the top-level value") }
        } catch {
            syntaxError = error
        }
    }

    func location(of path: String) -> Location? { locations[path] }

    /// The location of `path` or of its nearest enclosing value.
    func nearestLocation(of path: String) -> Location? {
        var path = path
        while true {
            if let location = locations[path] { return location }
            guard let cut = path.lastIndex(where: { $0 == "." || $0 == "[" }) else { return locations[""] }
            path = String(path[..<cut])
        }
    }

    // MARK: Scanning

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func advance() {
        let byte = bytes[position]
        position += 1
        if byte == UInt8(ascii: "\n") {
            line += 1
            column = 1
        } else if byte & 0xC0 != 0x80 {
            column += 1
        }
    }

    private func error(_ message: String) -> SyntaxError {
        SyntaxError(message: message, location: Location(line: line, column: column))
    }

    private mutating func skipTrivia() {
        while let byte = current {
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), 0x0B, 0x0C:
                advance()
            case UInt8(ascii: "/") where position + 1 < bytes.count && bytes[position + 1] == UInt8(ascii: "/"):
                while let b = current, b != UInt8(ascii: "\n") { advance() }
            case UInt8(ascii: "/") where position + 1 < bytes.count && bytes[position + 1] == UInt8(ascii: "*"):
                advance()
                advance()
                while position < bytes.count,
                    !(bytes[position] == UInt8(ascii: "*") && position + 1 < bytes.count
                        && bytes[position + 1] == UInt8(ascii: "/"))
                {
                    advance()
                }
                if position < bytes.count {
                    advance()
                    advance()
                }
            case 0xEF where position + 2 < bytes.count && bytes[position + 1] == 0xBB && bytes[position + 2] == 0xBF:
                position += 3  // byte order mark
            case 0xC2 where position + 1 < bytes.count && bytes[position + 1] == 0xA0:
                advance()
                advance()
            default:
                return
            }
        }
    }

    private mutating func value(path: String) throws(SyntaxError) {
        guard let byte = current else { throw error("unexpected end of file") }
        locations[path] = Location(line: line, column: column)
        switch byte {
        case UInt8(ascii: "{"): try object(path: path)
        case UInt8(ascii: "["): try array(path: path)
        case UInt8(ascii: "\""), UInt8(ascii: "'"): _ = try string()
        default: try bareToken()
        }
    }

    /// Counts one more open object or array, refusing one too many.
    private mutating func enterLevel() throws(SyntaxError) {
        guard depth < Self.maxDepth else {
            throw error("objects and arrays nest deeper than \(Self.maxDepth) levels")
        }
        depth += 1
    }

    private mutating func object(path: String) throws(SyntaxError) {
        try enterLevel()
        defer { depth -= 1 }
        advance()
        var keys: [String] = []
        while true {
            skipTrivia()
            guard let byte = current else { throw error("unclosed `{`") }
            if byte == UInt8(ascii: "}") {
                advance()
                break
            }
            let key: String
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                key = try string()
            } else {
                key = identifier()
                if key.isEmpty { throw error("expected a key") }
            }
            skipTrivia()
            guard current == UInt8(ascii: ":") else { throw error("expected `:` after key `\(key)`") }
            advance()
            skipTrivia()
            keys.append(key)
            try value(path: path.isEmpty ? key : path + "." + key)
            skipTrivia()
            if current == UInt8(ascii: ",") {
                advance()
            } else if current != UInt8(ascii: "}") {
                throw error("expected `,` or `}`")
            }
        }
        keyOrder[path] = keys
    }

    private mutating func array(path: String) throws(SyntaxError) {
        try enterLevel()
        defer { depth -= 1 }
        advance()
        var index = 0
        while true {
            skipTrivia()
            guard let byte = current else { throw error("unclosed `[`") }
            if byte == UInt8(ascii: "]") {
                advance()
                return
            }
            try value(path: "\(path)[\(index)]")
            index += 1
            skipTrivia()
            if current == UInt8(ascii: ",") {
                advance()
            } else if current != UInt8(ascii: "]") {
                throw error("expected `,` or `]`")
            }
        }
    }

    /// A quoted string, decoded enough for keys (common escapes; `\u` with four hex digits).
    private mutating func string() throws(SyntaxError) -> String {
        let quote = bytes[position]
        let start = error("unclosed string")
        advance()
        var decoded: [UInt8] = []
        while true {
            guard let byte = current else { throw start }
            advance()
            if byte == quote { break }
            if byte == UInt8(ascii: "\n") { throw start }
            guard byte == UInt8(ascii: "\\") else {
                decoded.append(byte)
                continue
            }
            guard let escaped = current else { throw start }
            advance()
            switch escaped {
            case UInt8(ascii: "n"): decoded.append(UInt8(ascii: "\n"))
            case UInt8(ascii: "t"): decoded.append(UInt8(ascii: "\t"))
            case UInt8(ascii: "r"): decoded.append(UInt8(ascii: "\r"))
            case UInt8(ascii: "u"):
                var scalar: UInt32 = 0
                for _ in 0..<4 {
                    guard let hex = current, let digit = Self.hexValue(hex) else { throw error("bad `\\u` escape") }
                    scalar = scalar * 16 + digit
                    advance()
                }
                if let unicode = Unicode.Scalar(scalar) { decoded.append(contentsOf: Array(String(unicode).utf8)) }
            case UInt8(ascii: "\n"): break  // line continuation
            default: decoded.append(escaped)
            }
        }
        return String(decoding: decoded, as: UTF8.self)
    }

    private mutating func identifier() -> String {
        let start = position
        while let byte = current,
            byte == UInt8(ascii: "_") || byte == UInt8(ascii: "$") || byte >= 0x80
                || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        {
            advance()
        }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    /// Numbers, `true`, `false`, `null`, `Infinity`, `NaN`: checked by `JSONDecoder`, only skipped here.
    private mutating func bareToken() throws(SyntaxError) {
        let start = position
        while let byte = current,
            !(byte == UInt8(ascii: ",") || byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}")
                || byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\t")
                || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "/"))
        {
            advance()
        }
        if position == start { throw error("expected a value") }
    }

    private static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}
