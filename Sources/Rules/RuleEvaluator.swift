import Registry

/// Evaluates many compiled rules over columns at once, one bitset per rule.
///
/// Predicates shared by several rules (`taxpayer_type == "general"`) are computed once per
/// call. Evaluation is columnar: each predicate scans one column into a bitset, and
/// `and`/`or`/`not` combine bitsets word by word.
///
/// The evaluator is an immutable value: shard actors may call `evaluate` on one instance
/// concurrently, each call keeping its own cache of predicate bitsets.
public struct RuleEvaluator: Sendable {
    public let rules: [CompiledRule]

    public init(rules: [CompiledRule]) {
        self.rules = rules
    }

    /// One bitset per rule, in the order of `rules`; bit `i` is row `i` of `columns`.
    ///
    /// Attributes are found in `columns` by name, so the columns may have been built with a
    /// different schema; an attribute the columns lack (or hold with another type) is missing
    /// on every row.
    public func evaluate(_ columns: EnterpriseColumns) -> [Bitset] {
        var context = Context(columns: columns)
        return rules.map { context.evaluate($0.root) }
    }

    /// Per-call state: where each attribute lives in the columns and the predicates already scanned.
    private struct Context {
        struct Key: Hashable {
            var column: Int
            var test: RulePredicate.Test
        }

        let columns: EnterpriseColumns
        let columnIndex: [String: Int]
        var cache: [Key: Bitset] = [:]

        init(columns: EnterpriseColumns) {
            self.columns = columns
            var columnIndex: [String: Int] = [:]
            for (i, definition) in columns.schema.definitions.enumerated() { columnIndex[definition.name] = i }
            self.columnIndex = columnIndex
        }

        mutating func evaluate(_ node: RuleNode) -> Bitset {
            switch node {
            case .and(let children, _):
                var result = evaluate(children[0])
                for child in children.dropFirst() {
                    if result.isEmpty { break }
                    result.formIntersection(evaluate(child))
                }
                return result
            case .or(let children, _):
                var result = evaluate(children[0])
                for child in children.dropFirst() { result.formUnion(evaluate(child)) }
                return result
            case .not(let operand, _):
                var result = evaluate(operand)
                result.formComplement()
                return result
            case .clause(let predicate, let attribute, _):
                guard let column = columnIndex[attribute] else { return Bitset(count: columns.count) }
                let key = Key(column: column, test: predicate.test)
                if let cached = cache[key] { return cached }
                let bits = ColumnScan.scan(columns.columns[column], count: columns.count, predicate: predicate)
                cache[key] = bits
                return bits
            }
        }
    }
}
