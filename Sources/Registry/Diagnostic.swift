/// A problem found in an input file, located precisely enough for an operator to fix it.
///
/// Used for bad import rows, rule syntax and type errors, template and config errors.
/// `description` reads `file:line:column: field: message`.
public struct Diagnostic: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    /// 1-based line in the file; 0 when the problem is about the whole file.
    public var line: Int
    /// 1-based column (character) in the line, when known.
    public var column: Int?
    /// The field, column name or key path concerned, when there is one.
    public var field: String?
    public var message: String

    public init(file: String, line: Int, column: Int? = nil, field: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.message = message
    }

    public var description: String {
        var s = file
        if line > 0 { s += ":\(line)" }
        if let column { s += ":\(column)" }
        s += ": "
        if let field { s += "\(field): " }
        return s + message
    }
}
