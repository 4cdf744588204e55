/// Why a rule did or did not match one enterprise: the clause tree with actual values.
public struct RuleExplanation: Sendable, Hashable, Codable {
    public var matched: Bool
    public var root: Node

    public init(matched: Bool, root: Node) {
        self.matched = matched
        self.root = root
    }

    public struct Node: Sendable, Hashable, Codable {
        /// `and`, `or`, `not` or `clause` (a comparison or a bare boolean attribute).
        public var kind: String
        /// The clause as written in the rule, e.g. `annual_sales <= 1200000`.
        public var text: String
        /// The attribute a clause reads; `nil` for `and`/`or`/`not`.
        public var attribute: String?
        /// The enterprise's value as rule text (`"small_scale"`, `1200000`, `2021-03-01`),
        /// or `nil` when the value is missing; only for clauses.
        public var actual: String?
        /// True for a clause whose attribute was missing (the clause is then false).
        public var missing: Bool
        public var held: Bool
        public var children: [Node]

        public init(
            kind: String, text: String, attribute: String? = nil, actual: String? = nil, missing: Bool = false,
            held: Bool, children: [Node] = []
        ) {
            self.kind = kind
            self.text = text
            self.attribute = attribute
            self.actual = actual
            self.missing = missing
            self.held = held
            self.children = children
        }
    }
}
