import Registry

/// A token of the rule language with its place in the rule text.
struct RuleToken: Sendable {
    enum Kind: Sendable, Equatable {
        case identifier(String)
        case keyword(Keyword)
        case number(Double)
        case string(String)
        case date(LocalDateLiteral)
        case comparison(Comparison)
        case leftParen, rightParen, leftBracket, rightBracket, comma
        case end
    }

    enum Keyword: String, Sendable, CaseIterable {
        case and, or, not, `in`, startswith, `true`, `false`
    }

    var kind: Kind
    /// Offsets in unicode scalars of the token's first scalar and one past its last.
    var start: Int
    var end: Int
    var line: Int
    var column: Int
}

/// A date literal, kept as days since the epoch.
struct LocalDateLiteral: Sendable, Hashable {
    var days: Int32
}

/// `== != < <= > >=`.
enum Comparison: String, Sendable, Hashable {
    case equal = "=="
    case notEqual = "!="
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="

    /// The comparison with its operands swapped (`5 < x` is `x > 5`).
    var flipped: Comparison {
        switch self {
        case .equal, .notEqual: self
        case .less: .greater
        case .lessOrEqual: .greaterOrEqual
        case .greater: .less
        case .greaterOrEqual: .lessOrEqual
        }
    }

    var isOrdering: Bool { self != .equal && self != .notEqual }
}

/// Splits rule text into tokens, tracking 1-based lines and columns (in unicode scalars).
struct RuleLexer {
    private let scalars: [Unicode.Scalar]
    private var position = 0
    private var line = 1
    private var column = 1

    init(_ source: String) {
        scalars = Array(source.unicodeScalars)
    }

    static func tokenize(_ source: String) throws(RuleError) -> [RuleToken] {
        var lexer = RuleLexer(source)
        var tokens: [RuleToken] = []
        while true {
            let token = try lexer.next()
            tokens.append(token)
            if token.kind == .end { return tokens }
        }
    }

    private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        position + offset < scalars.count ? scalars[position + offset] : nil
    }

    private mutating func advance() {
        if scalars[position] == "\n" {
            line += 1
            column = 1
        } else {
            column += 1
        }
        position += 1
    }

    private func error(_ message: String, line: Int, column: Int) -> RuleError {
        RuleError(line: line, column: column, message: message)
    }

    private mutating func next() throws(RuleError) -> RuleToken {
        while let c = peek(), c.properties.isWhitespace { advance() }
        let start = position
        let startLine = line
        let startColumn = column
        func token(_ kind: RuleToken.Kind) -> RuleToken {
            RuleToken(kind: kind, start: start, end: position, line: startLine, column: startColumn)
        }
        guard let c = peek() else { return token(.end) }
        switch c {
        case "(":
            advance()
            return token(.leftParen)
        case ")":
            advance()
            return token(.rightParen)
        case "[":
            advance()
            return token(.leftBracket)
        case "]":
            advance()
            return token(.rightBracket)
        case ",":
            advance()
            return token(.comma)
        case "=", "!", "<", ">":
            advance()
            if peek() == "=" {
                advance()
                return token(.comparison(Comparison(rawValue: "\(c)=")!))
            }
            switch c {
            case "<": return token(.comparison(.less))
            case ">": return token(.comparison(.greater))
            case "=": throw error("'=' is not an operator; use '=='", line: startLine, column: startColumn)
            default: throw error("'!' is not an operator; use 'not' or '!='", line: startLine, column: startColumn)
            }
        case "\"":
            return token(.string(try lexString(line: startLine, column: startColumn)))
        case "-", "0"..."9":
            if c == "-", !(peek(1).map(Self.isDigit) ?? false) {
                throw error("'-' must be followed by a digit", line: startLine, column: startColumn)
            }
            if let days = try lexDate(line: startLine, column: startColumn) {
                return token(.date(LocalDateLiteral(days: days)))
            }
            return token(.number(try lexNumber(line: startLine, column: startColumn)))
        default:
            guard Self.isIdentifierStart(c) else {
                throw error("unexpected character '\(c)'", line: startLine, column: startColumn)
            }
            var word = ""
            while let c = peek(), Self.isIdentifierStart(c) || Self.isDigit(c) {
                word.unicodeScalars.append(c)
                advance()
            }
            if let keyword = RuleToken.Keyword(rawValue: word) { return token(.keyword(keyword)) }
            if RuleToken.Keyword(rawValue: word.lowercased()) != nil {
                throw error(
                    "keywords are lowercase: write '\(word.lowercased())'", line: startLine, column: startColumn)
            }
            return token(.identifier(word))
        }
    }

    private mutating func lexString(line: Int, column: Int) throws(RuleError) -> String {
        advance()  // opening quote
        var value = ""
        while let c = peek() {
            switch c {
            case "\"":
                advance()
                return value
            case "\\":
                let escapeLine = self.line
                let escapeColumn = self.column
                advance()
                guard let escaped = peek(), escaped == "\"" || escaped == "\\" else {
                    throw error(
                        "unknown escape in string; only \\\" and \\\\ are allowed", line: escapeLine,
                        column: escapeColumn)
                }
                value.unicodeScalars.append(escaped)
                advance()
            case "\n":
                throw error("unterminated string", line: line, column: column)
            default:
                value.unicodeScalars.append(c)
                advance()
            }
        }
        throw error("unterminated string", line: line, column: column)
    }

    /// A bare `YYYY-MM-DD` date, or nil (and nothing consumed) when the text is not shaped like one.
    private mutating func lexDate(line: Int, column: Int) throws(RuleError) -> Int32? {
        let pattern = "dddd-dd-dd"
        var text = ""
        for (i, p) in pattern.unicodeScalars.enumerated() {
            guard let c = peek(i) else { return nil }
            if p == "d" ? !Self.isDigit(c) : c != "-" { return nil }
            text.unicodeScalars.append(c)
        }
        if let c = peek(pattern.unicodeScalars.count), Self.isIdentifierStart(c) || Self.isDigit(c) { return nil }
        guard let date = LocalDate(iso: text)?.daysSinceEpoch else {
            throw error("invalid date \(text)", line: line, column: column)
        }
        for _ in 0..<pattern.unicodeScalars.count { advance() }
        return date
    }

    private mutating func lexNumber(line: Int, column: Int) throws(RuleError) -> Double {
        var text = ""
        if peek() == "-" {
            text = "-"
            advance()
        }
        var previousWasDigit = false
        var sawDot = false
        while let c = peek() {
            if Self.isDigit(c) {
                text.unicodeScalars.append(c)
                previousWasDigit = true
            } else if c == "_", previousWasDigit, peek(1).map(Self.isDigit) ?? false {
                previousWasDigit = false
            } else if c == ".", !sawDot, previousWasDigit, peek(1).map(Self.isDigit) ?? false {
                text.unicodeScalars.append(c)
                sawDot = true
                previousWasDigit = false
            } else {
                break
            }
            advance()
        }
        if let c = peek(), Self.isIdentifierStart(c) || c == "_" || c == "-" || c == "." {
            throw error("malformed number", line: line, column: column)
        }
        guard let value = Double(text), value.isFinite else {
            throw error("malformed number", line: line, column: column)
        }
        return value
    }

    static func isDigit(_ c: Unicode.Scalar) -> Bool { ("0"..."9").contains(c) }

    static func isIdentifierStart(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || c == "_"
    }
}
