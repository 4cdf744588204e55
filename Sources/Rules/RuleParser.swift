import Registry

/// Recursive-descent parser and type checker for the rule language.
///
/// Precedence, lowest first: `or`, `and`, `not`, comparison. Every error points at the
/// offending token; an operator missing its operand at the end of the rule points at the operator.
///
/// Parentheses and `not` may nest at most ``maxDepth`` levels: the parser, the evaluators and
/// `explain` recurse once per level, and each `not` node keeps its own source text, so a rule of
/// 20,000 `(` overflowed the stack and one of 20,000 `not` took minutes (quadratic text copies).
struct RuleParser {
    /// The deepest nesting of parentheses and `not` a rule may have.
    static let maxDepth = 64

    private let source: [Unicode.Scalar]
    private let schema: AttributeSchema
    private let tokens: [RuleToken]
    private var index = 0
    /// Parentheses and `not` open around the token at `index`.
    private var depth = 0
    /// The whole rule as node texts show it (see ``collapse(_:)``), and where each source scalar lands in it.
    private let collapsed: (text: [UInt8], offsets: [Int])

    init(source: String, schema: AttributeSchema) throws(RuleError) {
        self.source = Array(source.unicodeScalars)
        self.schema = schema
        tokens = try RuleLexer.tokenize(source)
        collapsed = Self.collapse(self.source)
    }

    mutating func parseRule() throws(RuleError) -> RuleNode {
        guard tokens[0].kind != .end else {
            throw RuleError(line: 1, column: 1, message: "empty rule")
        }
        let node = try parseOr()
        let token = tokens[index]
        switch token.kind {
        case .end: return node
        case .rightParen: throw error("unbalanced ')'", at: token)
        default: throw error("expected 'and', 'or' or the end of the rule, found \(describe(token))", at: token)
        }
    }

    // MARK: Grammar

    private mutating func parseOr() throws(RuleError) -> RuleNode {
        let start = tokens[index].start
        var children = [try parseAnd()]
        while case .keyword(.or) = tokens[index].kind {
            index += 1
            children.append(try parseAnd())
        }
        return children.count == 1 ? children[0] : .or(children, text: text(from: start))
    }

    private mutating func parseAnd() throws(RuleError) -> RuleNode {
        let start = tokens[index].start
        var children = [try parseNot()]
        while case .keyword(.and) = tokens[index].kind {
            index += 1
            children.append(try parseNot())
        }
        return children.count == 1 ? children[0] : .and(children, text: text(from: start))
    }

    private mutating func parseNot() throws(RuleError) -> RuleNode {
        let start = tokens[index].start
        if case .keyword(.not) = tokens[index].kind {
            try enterLevel(at: tokens[index])
            defer { depth -= 1 }
            index += 1
            let operand = try parseNot()
            return .not(operand, text: text(from: start))
        }
        return try parsePrimary()
    }

    /// Counts one more level of nesting at `token` (a `(` or `not`), refusing one too many.
    private mutating func enterLevel(at token: RuleToken) throws(RuleError) {
        guard depth < Self.maxDepth else {
            throw error("rule nests deeper than \(Self.maxDepth) levels of parentheses and 'not'", at: token)
        }
        depth += 1
    }

    private mutating func parsePrimary() throws(RuleError) -> RuleNode {
        let token = tokens[index]
        switch token.kind {
        case .leftParen:
            try enterLevel(at: token)
            defer { depth -= 1 }
            index += 1
            let inner = try parseOr()
            guard case .rightParen = tokens[index].kind else {
                if tokens[index].kind == .end { throw error("unbalanced '(': no matching ')'", at: token) }
                throw error("expected ')', found \(describe(tokens[index]))", at: tokens[index])
            }
            index += 1
            return inner
        case .identifier:
            return try parseClause()
        case .number, .string, .date, .keyword(.true), .keyword(.false):
            return try parseFlippedClause()
        default:
            throw expectedClause(at: token)
        }
    }

    /// `attribute`, `attribute <op> literal`, `attribute [not] in [...]`, `attribute startswith "..."`.
    private mutating func parseClause() throws(RuleError) -> RuleNode {
        let start = tokens[index].start
        let (attributeIndex, definition) = try attribute(at: tokens[index])
        let attributeToken = tokens[index]
        index += 1
        let operatorToken = tokens[index]
        let test: RulePredicate.Test
        switch operatorToken.kind {
        case .comparison(let comparison):
            index += 1
            try check(comparison, definition, operatorToken: operatorToken)
            let literal = try parseLiteral(for: definition, after: operatorToken)
            test = .compare(comparison, literal.value)
        case .keyword(.in):
            index += 1
            test = .member(try parseList(for: definition, after: operatorToken), negated: false)
        case .keyword(.not) where tokens[index + 1].kind == .keyword(.in):
            index += 2
            test = .member(try parseList(for: definition, after: tokens[index - 1]), negated: true)
        case .keyword(.startswith):
            index += 1
            guard definition.type == .string else {
                throw error(
                    "startswith needs a string attribute; \(definition.name) is \(definition.type)", at: operatorToken)
            }
            let literal = try parseLiteral(for: definition, after: operatorToken)
            guard case .string(let prefix) = literal.value else {
                throw error("startswith needs a string literal, found \(literal.value)", at: literal.token)
            }
            test = .prefix(prefix)
        default:
            guard definition.type == .bool else {
                throw error(
                    "\(definition.name) is \(definition.type); only a bool attribute can stand alone as a clause",
                    at: attributeToken)
            }
            test = .compare(.equal, .bool(true))
        }
        let predicate = RulePredicate(attributeIndex: attributeIndex, test: test)
        return .clause(predicate, attribute: definition.name, text: text(from: start))
    }

    /// `literal <op> attribute`, read as `attribute <flipped op> literal`.
    private mutating func parseFlippedClause() throws(RuleError) -> RuleNode {
        let start = tokens[index].start
        let literalToken = tokens[index]
        let operatorToken = tokens[index + 1]
        guard case .comparison(let comparison) = operatorToken.kind else {
            if operatorToken.kind == .end { throw error("a literal alone is not a clause", at: literalToken) }
            throw error(
                "expected a comparison operator after \(describe(literalToken)), found \(describe(operatorToken))",
                at: operatorToken)
        }
        index += 2
        let attributeToken = tokens[index]
        guard case .identifier = attributeToken.kind else {
            if attributeToken.kind == .end { throw expectedClause(at: attributeToken) }
            throw error("expected an attribute, found \(describe(attributeToken))", at: attributeToken)
        }
        let (attributeIndex, definition) = try attribute(at: attributeToken)
        index += 1
        try check(comparison, definition, operatorToken: operatorToken)
        let literal = try literalValue(literalToken, for: definition)
        let predicate = RulePredicate(attributeIndex: attributeIndex, test: .compare(comparison.flipped, literal))
        return .clause(predicate, attribute: definition.name, text: text(from: start))
    }

    // MARK: Literals and types

    private mutating func parseLiteral(
        for definition: AttributeSchema.Definition, after operatorToken: RuleToken
    ) throws(RuleError) -> (value: RuleLiteral, token: RuleToken) {
        let token = tokens[index]
        if token.kind == .end { throw error("expected a value after \(describe(operatorToken))", at: operatorToken) }
        let value = try literalValue(token, for: definition)
        index += 1
        return (value, token)
    }

    private func literalValue(
        _ token: RuleToken, for definition: AttributeSchema.Definition
    ) throws(RuleError)
        -> RuleLiteral
    {
        let value: RuleLiteral
        switch token.kind {
        case .number(let n): value = .number(n)
        case .string(let s): value = .string(s)
        case .date(let d): value = .date(d.days)
        case .keyword(.true): value = .bool(true)
        case .keyword(.false): value = .bool(false)
        case .identifier(let name):
            throw error("expected a value, found attribute '\(name)'; the right side must be a literal", at: token)
        default:
            throw error("expected a value, found \(describe(token))", at: token)
        }
        guard value.type == definition.type else {
            throw error("type mismatch: \(definition.name) is \(definition.type), \(value) is \(value.type)", at: token)
        }
        return value
    }

    /// Ordering comparisons apply to numbers and dates only.
    private func check(
        _ comparison: Comparison, _ definition: AttributeSchema.Definition, operatorToken: RuleToken
    ) throws(RuleError) {
        if comparison.isOrdering, definition.type != .number, definition.type != .date {
            throw error(
                "'\(comparison.rawValue)' needs a number or date; \(definition.name) is \(definition.type)",
                at: operatorToken)
        }
    }

    private mutating func parseList(
        for definition: AttributeSchema.Definition, after operatorToken: RuleToken
    ) throws(RuleError) -> [RuleLiteral] {
        let open = tokens[index]
        guard case .leftBracket = open.kind else {
            if open.kind == .end { throw error("expected a list after \(describe(operatorToken))", at: operatorToken) }
            throw error("expected a list '[...]' after \(describe(operatorToken)), found \(describe(open))", at: open)
        }
        index += 1
        if case .rightBracket = tokens[index].kind { throw error("empty list", at: open) }
        var values: [RuleLiteral] = []
        while true {
            let token = tokens[index]
            if token.kind == .end { throw error("unbalanced '[': no matching ']'", at: open) }
            values.append(try literalValue(token, for: definition))
            index += 1
            switch tokens[index].kind {
            case .comma: index += 1
            case .rightBracket:
                index += 1
                return values
            case .end: throw error("unbalanced '[': no matching ']'", at: open)
            default: throw error("expected ',' or ']', found \(describe(tokens[index]))", at: tokens[index])
            }
        }
    }

    private func attribute(at token: RuleToken) throws(RuleError) -> (Int, AttributeSchema.Definition) {
        guard case .identifier(let name) = token.kind else { throw expectedClause(at: token) }
        guard let position = schema.definitions.firstIndex(where: { $0.name == name }) else {
            var message = "unknown attribute '\(name)'"
            if let suggestion = Self.suggestion(for: name, among: schema.definitions.map(\.name)) {
                message += "; did you mean '\(suggestion)'?"
            }
            throw error(message, at: token)
        }
        return (position, schema.definitions[position])
    }

    /// The closest known name within a small edit distance, for did-you-mean hints.
    ///
    /// Names whose lengths differ by more than the limit are skipped unmeasured (the distance is at
    /// least the difference): a 200,000-letter identifier took 20 s to measure against the schema.
    static func suggestion(for name: String, among names: [String]) -> String? {
        let length = name.unicodeScalars.count
        let limit = max(2, name.count / 3)
        let lowered = name.lowercased()
        let ranked = names.filter { abs($0.unicodeScalars.count - length) <= limit }
            .map { ($0, editDistance(lowered, $0)) }.filter { $0.1 <= limit }
        return ranked.min { $0.1 < $1.1 }?.0
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars)
        let b = Array(b.unicodeScalars)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + [Int](repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }

    // MARK: Errors and text

    private func expectedClause(at token: RuleToken) -> RuleError {
        if token.kind == .end, index > 0 {
            let previous = tokens[index - 1]
            return error("expected a clause after \(describe(previous)), found the end of the rule", at: previous)
        }
        if token.kind == .rightParen { return error("unbalanced ')'", at: token) }
        return error("expected a clause, found \(describe(token))", at: token)
    }

    private func error(_ message: String, at token: RuleToken) -> RuleError {
        RuleError(line: token.line, column: token.column, message: message)
    }

    private func describe(_ token: RuleToken) -> String {
        token.kind == .end
            ? "the end of the rule" : "'\(String(String.UnicodeScalarView(source[token.start..<token.end])))'"
    }

    /// The source from `start` to the end of the last consumed token, whitespace collapsed
    /// outside string literals: a slice of the rule collapsed once, since nested nodes overlap
    /// (collapsing each node's span anew cost 64 passes over a rule nested 64 deep).
    private func text(from start: Int) -> String {
        let end = tokens[index - 1].end
        return String(decoding: collapsed.text[collapsed.offsets[start]..<collapsed.offsets[end]], as: UTF8.self)
    }

    /// `source` as UTF-8 with each run of whitespace outside string literals made one space, and for
    /// each scalar offset (and the end) the byte offset where that scalar's text starts, or for a
    /// whitespace scalar, where the text before it ends.
    ///
    /// A node starts and ends on a token, never inside a string or on whitespace, so the slice
    /// between two offsets is that node's text with no space at either end.
    static func collapse(_ source: [Unicode.Scalar]) -> (text: [UInt8], offsets: [Int]) {
        var text: [UInt8] = []
        text.reserveCapacity(source.count)
        var offsets: [Int] = []
        offsets.reserveCapacity(source.count + 1)
        var inString = false
        var escaped = false
        var pendingSpace = false
        func append(_ c: Unicode.Scalar) {
            offsets.append(text.count)
            text.append(contentsOf: c.utf8)
        }
        for c in source {
            if inString {
                append(c)
                if escaped {
                    escaped = false
                } else if c == "\\" {
                    escaped = true
                } else if c == "\"" {
                    inString = false
                }
                continue
            }
            if c.properties.isWhitespace {
                offsets.append(text.count)
                pendingSpace = true
                continue
            }
            if pendingSpace, !text.isEmpty { text.append(UInt8(ascii: " ")) }
            pendingSpace = false
            append(c)
            if c == "\"" { inString = true }
        }
        offsets.append(text.count)
        return (text, offsets)
    }
}
