import Registry

/// Evaluates many compiled rules over columns at once, one bitset per rule.
///
/// Predicates shared by several rules (`taxpayer_type == "general"`) are computed once per
/// call. Evaluation is columnar: each predicate scans one column into a bitset, and
/// `and`/`or`/`not` combine bitsets word by word.
public struct RuleEvaluator: Sendable {
    public let rules: [CompiledRule]

    public init(rules: [CompiledRule]) {
        self.rules = rules
    }

    /// One bitset per rule, in the order of `rules`; bit `i` is row `i` of `columns`.
    public func evaluate(_ columns: EnterpriseColumns) -> [Bitset] {
        fatalError("unimplemented")
    }
}
