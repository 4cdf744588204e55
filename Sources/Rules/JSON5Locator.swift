/// Finds where things are in JSON5 text: the keys of each profile object and the exact file
/// position of every character of a string value, plus the position of the first syntax error.
///
/// Foundation's JSON5 reader decodes values but reports neither positions of keys nor of syntax
/// errors; this scanner walks the same text only to locate them.
struct JSON5Locator {
    struct Position: Sendable, Hashable {
        var line: Int
        var column: Int
    }

    /// A member of a profile object.
    struct Member: Sendable {
        var key: String
        var keyPosition: Position
        var valuePosition: Position
        /// For a string value: the file position of each decoded unicode scalar, plus one past the end.
        var stringScalarPositions: [Position]?
    }

    struct SyntaxError: Error, Sendable {
        var position: Position
        var message: String
    }

    /// Members of each top-level object (one for an object file, one per element for an array file).
    private(set) var objects: [[Member]] = []

    /// The deepest nesting of objects and arrays accepted. A profile needs three; each level is a
    /// recursion here, and 200,000 `[` overflowed the stack.
    static let maxDepth = 64

    private let scalars: [Unicode.Scalar]
    private var index = 0
    private var line = 1
    private var column = 1
    /// Objects and arrays open around `index`.
    private var depth = 0

    init(text: String) throws(SyntaxError) {
        scalars = Array(text.unicodeScalars)
        try skipTrivia()
        switch peek() {
        case "{": objects.append(try parseObject())
        case "[":
            advance()
            try skipTrivia()
            while peek() != "]" {
                guard peek() == "{" else { throw error("expected a profile object") }
                objects.append(try parseObject())
                try skipTrivia()
                if peek() == "," {
                    advance()
                    try skipTrivia()
                } else if peek() != "]" {
                    throw error("expected ',' or ']'")
                }
            }
            advance()
        case nil: throw error("empty file")
        default: throw error("expected '{' or '['")
        }
        try skipTrivia()
        if peek() != nil { throw error("unexpected text after the end of the document") }
    }

    private var position: Position { Position(line: line, column: column) }

    private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        index + offset < scalars.count ? scalars[index + offset] : nil
    }

    private mutating func advance() {
        if scalars[index] == "\n" {
            line += 1
            column = 1
        } else {
            column += 1
        }
        index += 1
    }

    private func error(_ message: String) -> SyntaxError {
        let found = peek().map { "; found '\($0.escaped(asASCII: false))'" } ?? "; found the end of the file"
        return SyntaxError(position: position, message: message + found)
    }

    private mutating func skipTrivia() throws(SyntaxError) {
        while let c = peek() {
            if c.properties.isWhitespace || c == "\u{FEFF}" {
                advance()
            } else if c == "/", peek(1) == "/" {
                while let c = peek(), c != "\n" { advance() }
            } else if c == "/", peek(1) == "*" {
                let start = position
                advance()
                advance()
                while !(peek() == "*" && peek(1) == "/") {
                    guard peek() != nil else { throw SyntaxError(position: start, message: "unterminated comment") }
                    advance()
                }
                advance()
                advance()
            } else {
                return
            }
        }
    }

    /// Counts one more open object or array, refusing one too many.
    private mutating func enterLevel() throws(SyntaxError) {
        guard depth < Self.maxDepth else {
            throw error("objects and arrays nest deeper than \(Self.maxDepth) levels")
        }
        depth += 1
    }

    private mutating func parseObject() throws(SyntaxError) -> [Member] {
        try enterLevel()
        defer { depth -= 1 }
        advance()  // {
        var members: [Member] = []
        try skipTrivia()
        while peek() != "}" {
            let keyPosition = position
            let key: String
            if peek() == "\"" || peek() == "'" {
                key = try parseString().value
            } else {
                var name = ""
                while let c = peek(), c == "_" || c == "$" || c.properties.isAlphabetic || ("0"..."9").contains(c) {
                    name.unicodeScalars.append(c)
                    advance()
                }
                guard !name.isEmpty else { throw error("expected a key") }
                key = name
            }
            try skipTrivia()
            guard peek() == ":" else { throw error("expected ':' after key '\(key)'") }
            advance()
            try skipTrivia()
            let valuePosition = position
            var positions: [Position]?
            if peek() == "\"" || peek() == "'" {
                positions = try parseString().positions
            } else {
                try skipValue()
            }
            members.append(
                Member(
                    key: key, keyPosition: keyPosition, valuePosition: valuePosition, stringScalarPositions: positions))
            try skipTrivia()
            if peek() == "," {
                advance()
                try skipTrivia()
            } else if peek() != "}" {
                throw error("expected ',' or '}'")
            }
        }
        advance()  // }
        return members
    }

    /// A quoted string; `positions[i]` is where decoded scalar `i` came from in the file.
    private mutating func parseString() throws(SyntaxError) -> (value: String, positions: [Position]) {
        let quote = peek()!
        let start = position
        advance()
        var value = String.UnicodeScalarView()
        var positions: [Position] = []
        while true {
            guard let c = peek(), c != "\n" else { throw SyntaxError(position: start, message: "unterminated string") }
            if c == quote {
                positions.append(position)
                advance()
                return (String(value), positions)
            }
            let here = position
            advance()
            guard c == "\\" else {
                value.append(c)
                positions.append(here)
                continue
            }
            guard let e = peek() else { throw SyntaxError(position: start, message: "unterminated string") }
            advance()
            switch e {
            case "\n", "\r":
                // A line continuation. Foundation's JSON5 reader keeps the line break in the value
                // (the JSON5 spec drops it); mirror Foundation, whose string the rule compiles from.
                value.append(e)
                positions.append(here)
                if e == "\r", peek() == "\n" {
                    advance()
                    value.append("\n")
                    positions.append(here)
                }
                continue
            case "n": value.append("\n")
            case "t": value.append("\t")
            case "r": value.append("\r")
            case "b": value.append("\u{8}")
            case "f": value.append("\u{C}")
            case "v": value.append("\u{B}")
            case "0": value.append("\0")
            case "u":
                var hex = ""
                for _ in 0..<4 {
                    guard let h = peek(), h.properties.isASCIIHexDigit else { throw error("bad \\u escape") }
                    hex.unicodeScalars.append(h)
                    advance()
                }
                value.append(Unicode.Scalar(UInt32(hex, radix: 16)!) ?? "\u{FFFD}")
            default: value.append(e)
            }
            positions.append(here)
        }
    }

    /// Skips a number, literal, object or array; only its syntax matters here.
    private mutating func skipValue() throws(SyntaxError) {
        switch peek() {
        case "{":
            _ = try parseObject()
        case "[":
            try enterLevel()
            defer { depth -= 1 }
            advance()
            try skipTrivia()
            while peek() != "]" {
                if peek() == "\"" || peek() == "'" { _ = try parseString() } else { try skipValue() }
                try skipTrivia()
                if peek() == "," {
                    advance()
                    try skipTrivia()
                } else if peek() != "]" {
                    throw error("expected ',' or ']'")
                }
            }
            advance()
        case "\"", "'":
            _ = try parseString()
        default:
            let start = position
            var word = ""
            while let c = peek(),
                c.properties.isAlphabetic || ("0"..."9").contains(c) || "+-._".unicodeScalars.contains(c)
            {
                word.unicodeScalars.append(c)
                advance()
            }
            guard !word.isEmpty else { throw error("expected a value") }
            guard Self.isLiteral(word) else { throw SyntaxError(position: start, message: "invalid value '\(word)'") }
        }
    }

    /// JSON5 keywords and numbers (decimal, hexadecimal, `Infinity`, `NaN`, with an optional sign).
    private static func isLiteral(_ word: String) -> Bool {
        if ["true", "false", "null"].contains(word) { return true }
        var body = Substring(word)
        if body.first == "+" || body.first == "-" { body = body.dropFirst() }
        if body == "Infinity" || body == "NaN" { return true }
        if body.hasPrefix("0x") || body.hasPrefix("0X") { return UInt64(body.dropFirst(2), radix: 16) != nil }
        guard body.first.map({ $0.isNumber || $0 == "." }) == true, !body.contains("_") else { return false }
        return Double(body) != nil || (body.hasSuffix(".") && Double(body.dropLast()) != nil)
    }
}
