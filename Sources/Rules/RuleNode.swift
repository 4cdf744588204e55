import Registry

/// A literal value of the rule language, typed like the attribute it is compared with.
enum RuleLiteral: Sendable, Hashable, CustomStringConvertible {
    case string(String)
    case number(Double)
    case bool(Bool)
    case date(Int32)

    var type: AttributeType {
        switch self {
        case .string: .string
        case .number: .number
        case .bool: .bool
        case .date: .date
        }
    }

    var description: String {
        switch self {
        case .string(let s): AttributeValue.string(s).description
        case .number(let n): AttributeValue.number(n).description
        case .bool(let b): String(b)
        case .date(let d): LocalDate(daysSinceEpoch: d).description
        }
    }
}

/// A type-checked test of one attribute: the leaf of a compiled rule.
///
/// Two clauses with the same predicate (same attribute, operator and literal) give the same
/// bits, which is what lets `RuleEvaluator` compute a shared clause once per call.
struct RulePredicate: Sendable, Hashable {
    enum Test: Sendable, Hashable {
        /// `attribute <op> literal`; a bare boolean attribute is `== true`.
        case compare(Comparison, RuleLiteral)
        /// `attribute in [...]`, or `not in` when `negated`.
        case member([RuleLiteral], negated: Bool)
        /// `attribute startswith "prefix"`.
        case prefix(String)
    }

    /// Index of the attribute in `AttributeSchema.definitions` (and `EnterpriseColumns.columns`).
    var attributeIndex: Int
    var test: Test
}

/// A compiled rule: `and`/`or`/`not` over clauses, each clause remembering its source text.
indirect enum RuleNode: Sendable {
    case and([RuleNode], text: String)
    case or([RuleNode], text: String)
    case not(RuleNode, text: String)
    case clause(RulePredicate, attribute: String, text: String)
}

extension RulePredicate {
    /// The predicate on one value; a missing value (nil) fails every test.
    func holds(for value: AttributeValue?) -> Bool {
        guard let value else { return false }
        switch test {
        case .compare(let comparison, let literal):
            return Self.compare(value, comparison, literal)
        case .member(let list, let negated):
            let found = list.contains { Self.compare(value, .equal, $0) }
            return found != negated
        case .prefix(let prefix):
            guard case .string(let s) = value else { return false }
            return s.hasPrefix(prefix)
        }
    }

    private static func compare(_ value: AttributeValue, _ comparison: Comparison, _ literal: RuleLiteral) -> Bool {
        switch (value, literal) {
        case (.number(let a), .number(let b)): return apply(comparison, a, b)
        case (.date(let a), .date(let b)): return apply(comparison, a.daysSinceEpoch, b)
        case (.string(let a), .string(let b)):
            switch comparison {
            case .equal: return a == b
            case .notEqual: return a != b
            default: return false
            }
        case (.bool(let a), .bool(let b)):
            switch comparison {
            case .equal: return a == b
            case .notEqual: return a != b
            default: return false
            }
        default:
            // The compiler only pairs an attribute with literals of its own type.
            return false
        }
    }

    private static func apply<T: Comparable>(_ comparison: Comparison, _ a: T, _ b: T) -> Bool {
        switch comparison {
        case .equal: a == b
        case .notEqual: a != b
        case .less: a < b
        case .lessOrEqual: a <= b
        case .greater: a > b
        case .greaterOrEqual: a >= b
        }
    }
}
