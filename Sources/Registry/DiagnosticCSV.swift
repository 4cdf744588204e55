extension Diagnostic {
    /// The header row of `csv(_:)`.
    public static let csvHeader = ["file", "line", "column", "field", "message"]

    /// Diagnostics as an RFC 4180 CSV document for operators to open in a spreadsheet.
    ///
    /// Columns are `file,line,column,field,message`; `line` is 0 for a problem with the whole
    /// file, and `column` and `field` are empty when unknown. Records end with CRLF.
    public static func csv(_ diagnostics: [Diagnostic]) -> String {
        var out = CSVFormat.record(csvHeader)
        for d in diagnostics {
            out += CSVFormat.record([
                d.file, String(d.line), d.column.map(String.init) ?? "", d.field ?? "", d.message,
            ])
        }
        return out
    }
}

/// Writing side of RFC 4180.
enum CSVFormat {
    static let recordSeparator = "\r\n"

    /// A field, quoted when it holds a comma, quote or line break, or when surrounding white
    /// space would otherwise be lost to a trimming reader.
    static func field(_ text: String) -> String {
        var needsQuotes = false
        for byte in text.utf8 {
            if byte == UInt8(ascii: ",") || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\r")
                || byte == UInt8(ascii: "\n")
            {
                needsQuotes = true
                break
            }
        }
        if !needsQuotes, let first = text.unicodeScalars.first, let last = text.unicodeScalars.last {
            needsQuotes = first.properties.isWhitespace || last.properties.isWhitespace
        }
        guard needsQuotes else { return text }
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
