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
        for rule in rules { context.countUses(rule.root) }
        return rules.map { context.evaluate($0.root) }
    }

    /// Per-call state: where each attribute lives in the columns, how many clauses use each
    /// predicate, and the bitsets of shared predicates already scanned.
    ///
    /// A predicate used by several clauses is scanned over the whole column once and cached. One
    /// used by a single clause under `and` is evaluated last and only over the rows still set.
    private struct Context {
        struct Key: Hashable {
            var column: Int
            var test: RulePredicate.Test
        }

        let columns: EnterpriseColumns
        let columnIndex: [String: Int]
        var cache: [Key: Bitset] = [:]
        var uses: [Key: Int] = [:]

        init(columns: EnterpriseColumns) {
            self.columns = columns
            var columnIndex: [String: Int] = [:]
            for (i, definition) in columns.schema.definitions.enumerated() { columnIndex[definition.name] = i }
            self.columnIndex = columnIndex
        }

        func key(_ predicate: RulePredicate, _ attribute: String) -> Key? {
            columnIndex[attribute].map { Key(column: $0, test: predicate.test) }
        }

        mutating func countUses(_ node: RuleNode) {
            switch node {
            case .and(let children, _), .or(let children, _): for child in children { countUses(child) }
            case .not(let operand, _): countUses(operand)
            case .clause(let predicate, let attribute, _):
                if let key = key(predicate, attribute) { uses[key, default: 0] += 1 }
            }
        }

        /// A clause under `and` whose predicate no other clause needs: cheaper to test only on
        /// the rows the other children left than to scan and cache the whole column.
        func singleUse(_ node: RuleNode) -> (RulePredicate, column: Int)? {
            guard case .clause(let predicate, let attribute, _) = node, let key = key(predicate, attribute),
                uses[key, default: 0] <= 1, cache[key] == nil
            else { return nil }
            return (predicate, key.column)
        }

        mutating func evaluate(_ node: RuleNode) -> Bitset {
            switch node {
            case .and(let children, _):
                var full: [RuleNode] = []
                var masked: [(RulePredicate, column: Int)] = []
                for child in children {
                    if let single = singleUse(child) { masked.append(single) } else { full.append(child) }
                }
                var result: Bitset
                if full.isEmpty {
                    let (predicate, column) = masked.removeFirst()
                    result = ColumnScan.scan(columns.columns[column], count: columns.count, predicate: predicate)
                } else {
                    result = evaluate(full[0])
                    for child in full.dropFirst() {
                        if result.isEmpty { return result }
                        result.formIntersection(evaluate(child))
                    }
                }
                for (predicate, column) in masked {
                    if result.isEmpty { return result }
                    var words = result.words
                    result = Bitset(count: 0)  // leaves `words` uniquely referenced: no copy
                    ColumnScan.intersect(&words, columns.columns[column], count: columns.count, predicate: predicate)
                    result = Bitset(words: words, count: columns.count)
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
