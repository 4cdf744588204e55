import Registry
import Rules

/// The message templates of a directory, checked when they load.
public struct TemplateSet: Sendable {
    /// Loads `sms.json5`, `wechat.json5`, `aliyun.json5`, `tencent.json5` from `directory`.
    ///
    /// - Throws: `[Diagnostic]`-carrying `TemplateError` naming file, line and field for syntax
    ///   errors, missing fields, and any unknown placeholder.
    public static func load(directory: String, schema: AttributeSchema) throws -> TemplateSet {
        fatalError("unimplemented")
    }
}

/// Template problems found at load time.
public struct TemplateError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]
    public init(diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
