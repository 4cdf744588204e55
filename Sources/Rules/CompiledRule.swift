import Registry

/// A `when` rule parsed, type-checked against an attribute schema and compiled once.
///
/// Text is never re-parsed per enterprise: `matches` walks a compiled tree, and
/// `RuleEvaluator` evaluates whole columns into bitsets.
public struct CompiledRule: Sendable {
    /// The rule text as written.
    public let source: String

    /// Parses and checks a rule.
    ///
    /// - Throws: `RuleError` with the 1-based line and column inside `source` of a syntax error,
    ///   an unknown attribute or a type mismatch.
    public init(source: String, schema: AttributeSchema) throws(RuleError) {
        fatalError("unimplemented")
    }

    /// Whether one enterprise satisfies the rule (row-wise; same answer as the columnar path).
    public func matches(_ enterprise: Enterprise) -> Bool {
        fatalError("unimplemented")
    }

    /// Every clause with the enterprise's actual value (or missing) and whether it held.
    public func explain(_ enterprise: Enterprise) -> RuleExplanation {
        fatalError("unimplemented")
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
