/// Where things are in JSON5 text: the line and column of every value by key path
/// (`fields[2].value`), the keys of every object in file order with their positions, the file
/// position of each character of a string member, and the first syntax error.
///
/// Foundation's JSON5 reader decodes values but reports no positions, forgets key order and
/// locates few syntax errors; this scanner walks the same text once so diagnostics can name the
/// line and column of the offending token, and ordered maps keep the order the operator wrote.
/// Lines and columns count from 1; a column counts unicode scalars, so a line of Chinese text is
/// counted by characters, not UTF-8 bytes.
public struct JSON5Locator: Sendable {
    public struct Position: Sendable, Hashable, CustomStringConvertible {
        public var line: Int
        public var column: Int

        public init(line: Int, column: Int) {
            self.line = line
            self.column = column
        }

        /// `line:column`.
        public var description: String { "\(line):\(column)" }
    }

    /// A member of an object.
    public struct Member: Sendable, Hashable {
        public var key: String
        public var keyPosition: Position
        public var valuePosition: Position
        /// For a string value: the file position of each decoded unicode scalar, plus one past the end.
        public var stringScalarPositions: [Position]?
    }

    public struct SyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
        public var position: Position
        public var message: String

        public init(position: Position, message: String) {
            self.position = position
            self.message = message
        }

        /// `line:column: message`.
        public var description: String { "\(position): \(message)" }
    }

    /// The deepest nesting of objects and arrays accepted. Documents here need three; each level
    /// is a recursion, and 200,000 `[` overflowed the stack.
    public static let maxDepth = 64

    /// The first syntax problem, if the text is not JSON5. Positions found before it are kept.
    public private(set) var syntaxError: SyntaxError?
    /// Where each value starts, by key path: `""` for the top level, `a.b` for a member, `a[2]` for an element.
    private var positions: [String: Position] = [:]
    /// The members of each object, by key path, in file order.
    private var objects: [String: [Member]] = [:]

    /// Scans `text`; a syntax error ends the scan and is kept in `syntaxError`.
    public init(text: String) {
        var scanner = Scanner(text: text)
        do throws(SyntaxError) {
            try scanner.skipTrivia()
            guard scanner.peek() != nil else { throw scanner.error("empty document") }
            try scanner.value(path: "")
            try scanner.skipTrivia()
            if scanner.peek() != nil { throw scanner.error("unexpected text after the end of the document") }
        } catch {
            syntaxError = error
        }
        positions = scanner.positions
        objects = scanner.objects
    }

    /// Where the value at `path` starts.
    public func position(of path: String) -> Position? { positions[path] }

    /// Where the value at `path`, or else its nearest enclosing value, starts.
    public func nearestPosition(of path: String) -> Position? {
        var path = path
        while true {
            if let position = positions[path] { return position }
            guard let cut = path.lastIndex(where: { $0 == "." || $0 == "[" }) else { return positions[""] }
            path = String(path[..<cut])
        }
    }

    /// The members of the object at `path` in file order; `nil` when no object is there.
    public func members(of path: String) -> [Member]? { objects[path] }

    /// The keys of the object at `path` in file order; `nil` when no object is there.
    public func keys(of path: String) -> [String]? { objects[path]?.map(\.key) }
}

extension JSON5Locator {
    /// The recursive descent over the text's unicode scalars.
    private struct Scanner {
        var positions: [String: Position] = [:]
        var objects: [String: [Member]] = [:]

        private let scalars: [Unicode.Scalar]
        private var index = 0
        private var line = 1
        private var column = 1
        /// Objects and arrays open around `index`.
        private var depth = 0

        init(text: String) { scalars = Array(text.unicodeScalars) }

        var position: Position { Position(line: line, column: column) }

        func peek(_ offset: Int = 0) -> Unicode.Scalar? {
            index + offset < scalars.count ? scalars[index + offset] : nil
        }

        mutating func advance() {
            switch scalars[index] {
            case "\n":
                line += 1
                column = 1
            case "\u{FEFF}": break  // a byte order mark takes no column
            default: column += 1
            }
            index += 1
        }

        func error(_ message: String) -> SyntaxError {
            let found = peek().map { "; found '\($0.escaped(asASCII: false))'" } ?? "; found the end of the file"
            return SyntaxError(position: position, message: message + found)
        }

        /// Whitespace as JSON5 defines it (Unicode white space and the byte order mark) and comments.
        mutating func skipTrivia() throws(SyntaxError) {
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
            guard depth < JSON5Locator.maxDepth else {
                throw error("objects and arrays nest deeper than \(JSON5Locator.maxDepth) levels")
            }
            depth += 1
        }

        /// Any value at `path`; returns the scalar positions when it is a string.
        @discardableResult
        mutating func value(path: String) throws(SyntaxError) -> [Position]? {
            positions[path] = position
            switch peek() {
            case "{": try object(path: path)
            case "[": try array(path: path)
            case "\"", "'": return try string().positions
            case nil: throw error("expected a value")
            default: try literal()
            }
            return nil
        }

        private mutating func object(path: String) throws(SyntaxError) {
            try enterLevel()
            defer { depth -= 1 }
            advance()  // {
            var members: [Member] = []
            try skipTrivia()
            while peek() != "}" {
                let keyPosition = position
                let key: String
                if peek() == "\"" || peek() == "'" {
                    key = try string().value
                } else {
                    var name = String.UnicodeScalarView()
                    while let c = peek(), Self.isIdentifierScalar(c) {
                        name.append(c)
                        advance()
                    }
                    guard !name.isEmpty else { throw error("expected a key") }
                    key = String(name)
                }
                try skipTrivia()
                guard peek() == ":" else { throw error("expected ':' after key '\(key)'") }
                advance()
                try skipTrivia()
                let valuePosition = position
                let scalarPositions = try value(path: path.isEmpty ? key : path + "." + key)
                members.append(
                    Member(
                        key: key, keyPosition: keyPosition, valuePosition: valuePosition,
                        stringScalarPositions: scalarPositions))
                try skipTrivia()
                if peek() == "," {
                    advance()
                    try skipTrivia()
                } else if peek() != "}" {
                    throw error("expected ',' or '}'")
                }
            }
            advance()  // }
            objects[path] = members
        }

        private mutating func array(path: String) throws(SyntaxError) {
            try enterLevel()
            defer { depth -= 1 }
            advance()  // [
            var count = 0
            try skipTrivia()
            while peek() != "]" {
                try value(path: "\(path)[\(count)]")
                count += 1
                try skipTrivia()
                if peek() == "," {
                    advance()
                    try skipTrivia()
                } else if peek() != "]" {
                    throw error("expected ',' or ']'")
                }
            }
            advance()  // ]
        }

        /// Unquoted keys: JSON5 identifiers, letters of any script included.
        private static func isIdentifierScalar(_ c: Unicode.Scalar) -> Bool {
            c == "_" || c == "$" || c.properties.isAlphabetic || ("0"..."9").contains(c)
                || (c.value >= 0x80 && !c.properties.isWhitespace && c != "\u{FEFF}")
        }

        /// A quoted string; `positions[i]` is where decoded scalar `i` came from in the file, and the
        /// last position is the closing quote's.
        private mutating func string() throws(SyntaxError) -> (value: String, positions: [Position]) {
            let quote = peek()!
            let start = position
            advance()
            var value = String.UnicodeScalarView()
            var positions: [Position] = []
            while true {
                guard let c = peek(), c != "\n" else {
                    throw SyntaxError(position: start, message: "unterminated string")
                }
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
                    // (the JSON5 spec drops it); mirror Foundation, whose string the caller decodes.
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
                    var code = try hex4()
                    // A surrogate pair written as two escapes is one scalar, as Foundation decodes it.
                    if (0xD800..<0xDC00).contains(code), peek() == "\\", peek(1) == "u" {
                        let saved = (index, line, column)
                        advance()
                        advance()
                        let low = try hex4()
                        if (0xDC00..<0xE000).contains(low) {
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            (index, line, column) = saved
                        }
                    }
                    value.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                default: value.append(e)
                }
                positions.append(here)
            }
        }

        /// The four hex digits of a `\u` escape.
        private mutating func hex4() throws(SyntaxError) -> UInt32 {
            var code: UInt32 = 0
            for _ in 0..<4 {
                guard let h = peek(), h.properties.isASCIIHexDigit, let digit = UInt32(String(h), radix: 16) else {
                    throw error("bad \\u escape")
                }
                code = code * 16 + digit
                advance()
            }
            return code
        }

        /// A number or keyword; checked here so a typo is located, not only refused by the decoder.
        private mutating func literal() throws(SyntaxError) {
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
}
