/// A problem found in an input file, located precisely enough for an operator to fix it.
///
/// Used for bad import rows, rule syntax and type errors, template and config errors, and the
/// import warnings about rows kept as they are. `description` reads
/// `file:line:column: field: message`, or `file:line:column: warning: field: message`.
public struct Diagnostic: Error, Sendable, Hashable, CustomStringConvertible {
    /// An error refuses the row or file; a warning keeps it and says what to look at.
    public enum Severity: String, Sendable, Hashable, CaseIterable {
        case error
        case warning
    }

    public var file: String
    /// 1-based line in the file; 0 when the problem is about the whole file.
    public var line: Int
    /// 1-based column (character) in the line, when known.
    public var column: Int?
    /// The field, column name or key path concerned, when there is one.
    public var field: String?
    public var message: String
    public var severity: Severity

    public init(
        file: String, line: Int, column: Int? = nil, field: String? = nil, message: String,
        severity: Severity = .error
    ) {
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.message = message
        self.severity = severity
    }

    public var description: String {
        var s = file
        if line > 0 { s += ":\(line)" }
        if let column { s += ":\(column)" }
        s += ": "
        if severity == .warning { s += "warning: " }
        if let field { s += "\(field): " }
        return s + message
    }
}
