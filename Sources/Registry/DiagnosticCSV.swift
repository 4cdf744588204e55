/// Exports diagnostics as CSV, the form operators fix import files from.
public enum DiagnosticCSV {
    /// The header row of `csv(_:)`.
    public static let header = ["file", "line", "column", "field", "message", "severity"]

    /// Diagnostics as an RFC 4180 CSV document for operators to open in a spreadsheet.
    ///
    /// Columns are `file,line,column,field,message,severity`; `line` is 0 for a problem with the
    /// whole file, `column` and `field` are empty when unknown, and `severity` is `error` or
    /// `warning`. The severity column came last so that readers of the older five columns keep
    /// working. Records end with CRLF.
    public static func csv(_ diagnostics: [Diagnostic]) -> String {
        var out = CSVFormat.record(header)
        for d in diagnostics {
            out += CSVFormat.record([
                d.file, String(d.line), d.column.map(String.init) ?? "", d.field ?? "", d.message, d.severity.rawValue,
            ])
        }
        return out
    }
}

extension Diagnostic {
    /// Shorthand for `DiagnosticCSV.csv(_:)`.
    public static func csv(_ diagnostics: [Diagnostic]) -> String {
        DiagnosticCSV.csv(diagnostics)
    }
}

/// Writing side of RFC 4180.
enum CSVFormat {
    static let recordSeparator = "\r\n"

    /// A field, quoted when it holds a comma, quote or line break, or when surrounding white
    /// space would otherwise be lost to a trimming reader.
    static func field(_ text: String) -> String {
        var copy = text
        let needsQuotes = copy.withUTF8 { bytes -> Bool in
            guard let first = bytes.first, let last = bytes.last else { return false }
            // Leading or trailing ASCII white space; a non-ASCII end is checked below.
            if first == 0x20 || first == 0x09 || last == 0x20 || last == 0x09 { return true }
            return bytes.contains { byte in
                byte == UInt8(ascii: ",") || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\r")
                    || byte == UInt8(ascii: "\n")
            }
        }
        guard needsQuotes || text.trimmingWhitespace().utf8.count != text.utf8.count else { return text }
        var quoted = "\""
        for character in text {
            if character == "\"" { quoted += "\"\"" } else { quoted.append(character) }
        }
        return quoted + "\""
    }

    static func record(_ fields: [String]) -> String {
        fields.map(field).joined(separator: ",") + recordSeparator
    }
}
