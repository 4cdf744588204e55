import Registry

/// A value a template can print, resolved per enterprise when a package is rendered.
public enum Placeholder: Sendable, Hashable, CustomStringConvertible {
    /// `{name}`: the enterprise name, as `RegistryText.sanitized` makes it and at most
    /// `RegistryText.maximumLength` characters (fewer when policies need the room).
    case name
    /// `{credit_code}`: the unified social credit code.
    case creditCode
    /// `{credit_code_tail}`: the last 4 characters of the credit code.
    case creditCodeTail
    /// `{policy_count}`: how many policies the package holds.
    case policyCount
    /// `{policies}`: short titles joined by the separator, fitted to the channel's limit.
    case policies
    /// `{policy_titles}`: full titles joined by `；`.
    case policyTitles
    /// `{top_policy}`: the short title of the most important policy.
    case topPolicy
    /// `{link}`: the package landing page with the enterprise's token.
    case link
    /// Any attribute of the schema, by name (`{region}`, `{annual_sales}`, custom ones); text
    /// attributes are printed as `RegistryText.sanitized` makes them, at most
    /// `RegistryText.maximumLength` characters.
    case attribute(String)

    static let fixedNames: [String: Placeholder] = [
        "name": .name, "credit_code": .creditCode, "credit_code_tail": .creditCodeTail,
        "policy_count": .policyCount, "policies": .policies, "policy_titles": .policyTitles,
        "top_policy": .topPolicy, "link": .link,
    ]

    /// The placeholder spelled `{name}`, or `nil` when the name is neither built in nor in the schema.
    public init?(name: String, schema: AttributeSchema) {
        if let fixed = Self.fixedNames[name] {
            self = fixed
        } else if schema.definition(named: name) != nil {
            self = .attribute(name)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .name: "{name}"
        case .creditCode: "{credit_code}"
        case .creditCodeTail: "{credit_code_tail}"
        case .policyCount: "{policy_count}"
        case .policies: "{policies}"
        case .policyTitles: "{policy_titles}"
        case .topPolicy: "{top_policy}"
        case .link: "{link}"
        case .attribute(let name): "{\(name)}"
        }
    }
}

/// A template string compiled once into literal and placeholder segments, so rendering
/// only appends and never parses.
struct CompiledText<Name: Sendable & Hashable>: Sendable, Hashable {
    enum Segment: Sendable, Hashable {
        case literal(String, length: Int)
        case placeholder(Name)
    }

    let source: String
    let segments: [Segment]
    /// Characters of all literal segments together.
    let literalLength: Int

    /// Occurrences of a placeholder.
    func count(of name: Name) -> Int {
        segments.reduce(0) { n, segment in
            if case .placeholder(name) = segment { n + 1 } else { n }
        }
    }

    var isConstant: Bool { segments.allSatisfy { if case .literal = $0 { true } else { false } } }
}

/// Why a template string did not compile; `offset` is the character offset of the problem.
struct TemplateSyntaxError: Error, Sendable, Hashable {
    var message: String
    var offset: Int
}

extension CompiledText {
    /// Compiles `source`: `{name}` is a placeholder resolved by `resolve`, `{{` and `}}` are
    /// literal braces; an unknown name, an unclosed `{` or a lone `}` is an error.
    static func compile(
        _ source: String, known: String, resolve: (String) -> Name?
    ) throws(TemplateSyntaxError) -> CompiledText {
        var segments: [Segment] = []
        var literal = ""
        var offset = 0
        var index = source.startIndex

        func flush() {
            if !literal.isEmpty {
                segments.append(.literal(literal, length: literal.count))
                literal = ""
            }
        }

        while index < source.endIndex {
            let character = source[index]
            let next = source.index(after: index)
            if character == "}" {
                guard next < source.endIndex, source[next] == "}" else {
                    throw TemplateSyntaxError(message: "lone `}`; write `}}` for a literal brace", offset: offset)
                }
                literal.append("}")
                index = source.index(after: next)
                offset += 2
                continue
            }
            guard character == "{" else {
                literal.append(character)
                index = next
                offset += 1
                continue
            }
            if next < source.endIndex, source[next] == "{" {
                literal.append("{")
                index = source.index(after: next)
                offset += 2
                continue
            }
            guard let close = source[next...].firstIndex(where: { $0 == "}" || $0 == "{" }), source[close] == "}"
            else {
                throw TemplateSyntaxError(message: "unclosed `{`; write `{{` for a literal brace", offset: offset)
            }
            let name = String(source[next..<close])
            guard let resolved = resolve(name) else {
                throw TemplateSyntaxError(message: "unknown placeholder `{\(name)}`; known: \(known)", offset: offset)
            }
            flush()
            segments.append(.placeholder(resolved))
            offset += name.count + 2
            index = source.index(after: close)
        }
        flush()
        let literalLength = segments.reduce(0) { n, segment in
            if case .literal(_, let length) = segment { n + length } else { n }
        }
        return CompiledText(source: source, segments: segments, literalLength: literalLength)
    }
}
