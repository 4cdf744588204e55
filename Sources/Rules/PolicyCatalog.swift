import Registry

/// The policy profiles of a directory, loaded and compiled.
public struct PolicyCatalog: Sendable {
    public struct Entry: Sendable {
        public var profile: PolicyProfile
        public var rule: CompiledRule
    }

    /// Sorted by priority (largest first), then id.
    public let entries: [Entry]

    public init(entries: [Entry]) {
        self.entries = entries.sorted {
            ($0.profile.priority, $1.profile.id) > ($1.profile.priority, $0.profile.id)
        }
    }

    /// Loads every `*.json5` file of `directory` (one profile per file, or an array of profiles).
    ///
    /// Returns the profiles that loaded and a diagnostic for each problem: JSON5 syntax, a missing
    /// or mistyped field, a duplicate id, a bad date, or a rule error located at the file's line and
    /// column of the offending token inside the `when` string.
    public static func load(directory: String, schema: AttributeSchema) -> (PolicyCatalog, [Diagnostic]) {
        fatalError("unimplemented")
    }

    public func entry(id: String) -> Entry? { entries.first { $0.profile.id == id } }
}
