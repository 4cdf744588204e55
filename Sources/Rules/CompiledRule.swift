import Registry

/// A `when` rule parsed, type-checked against an attribute schema and compiled once.
///
/// Text is never re-parsed per enterprise: `matches` walks a compiled tree, and
/// `RuleEvaluator` evaluates whole columns into bitsets.
///
/// Missing values: every clause that reads a missing attribute is false, whatever its
/// operator: `<`, `==`, `!=`, `in`, `not in`, `startswith` and a bare boolean attribute alike.
/// `not` is plain boolean negation of its operand's result, so `not high_tech` holds when
/// `high_tech` is missing, while `high_tech != true` and `high_tech == false` do not.
public struct CompiledRule: Sendable {
    /// The rule text as written.
    public let source: String
    /// The schema the rule was checked against; attribute indices refer to it.
    public let schema: AttributeSchema
    let root: RuleNode

    /// Parses and checks a rule.
    ///
    /// - Throws: `RuleError` with the 1-based line and column inside `source` of a syntax error,
    ///   an unknown attribute or a type mismatch.
    public init(source: String, schema: AttributeSchema) throws(RuleError) {
        var parser = try RuleParser(source: source, schema: schema)
        self.root = try parser.parseRule()
        self.source = source
        self.schema = schema
    }

    /// Whether one enterprise satisfies the rule (row-wise; same answer as the columnar path).
    public func matches(_ enterprise: Enterprise) -> Bool {
        matches(root, enterprise)
    }

    private func matches(_ node: RuleNode, _ enterprise: Enterprise) -> Bool {
        switch node {
        case .and(let children, _): children.allSatisfy { matches($0, enterprise) }
        case .or(let children, _): children.contains { matches($0, enterprise) }
        case .not(let operand, _): !matches(operand, enterprise)
        case .clause(let predicate, let attribute, _): predicate.holds(for: value(of: attribute, enterprise))
        }
    }

    /// Every clause with the enterprise's actual value (or missing) and whether it held.
    ///
    /// All children are evaluated, without short-circuit, so every clause is reported.
    public func explain(_ enterprise: Enterprise) -> RuleExplanation {
        let root = explain(root, enterprise)
        return RuleExplanation(matched: root.held, root: root)
    }

    private func explain(_ node: RuleNode, _ enterprise: Enterprise) -> RuleExplanation.Node {
        switch node {
        case .and(let children, let text):
            let nodes = children.map { explain($0, enterprise) }
            return .init(kind: "and", text: text, held: nodes.allSatisfy(\.held), children: nodes)
        case .or(let children, let text):
            let nodes = children.map { explain($0, enterprise) }
            return .init(kind: "or", text: text, held: nodes.contains(where: \.held), children: nodes)
        case .not(let operand, let text):
            let child = explain(operand, enterprise)
            return .init(kind: "not", text: text, held: !child.held, children: [child])
        case .clause(let predicate, let attribute, let text):
            let value = value(of: attribute, enterprise)
            return .init(
                kind: "clause", text: text, attribute: attribute, actual: value?.description, missing: value == nil,
                held: predicate.holds(for: value))
        }
    }

    /// The value a clause reads; NaN counts as missing, as it does in the columns.
    private func value(of attribute: String, _ enterprise: Enterprise) -> AttributeValue? {
        let value = enterprise.value(of: attribute, schema: schema)
        if case .number(let n)? = value, n.isNaN { return nil }
        return value
    }
}

/// A problem in a rule's text, located inside the rule (1-based line and column).
public struct RuleError: Error, Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var message: String

    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String { "\(line):\(column): \(message)" }
}
