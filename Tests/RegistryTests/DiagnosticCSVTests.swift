import Testing

@testable import Registry

struct DiagnosticCSVTests {
    @Test func writesHeaderAndQuotesWhereNeeded() {
        let csv = DiagnosticCSV.csv([
            Diagnostic(file: "a.csv", line: 3, column: 2, field: "name", message: "is required"),
            Diagnostic(file: "b,c.csv", line: 0, message: "header is missing \"name\"\nsee docs"),
            Diagnostic(file: "a.csv", line: 4, column: 2, field: "name", message: "is long", severity: .warning),
        ])
        #expect(
            csv
                == "file,line,column,field,message,severity\r\n"
                + "a.csv,3,2,name,is required,error\r\n"
                + "\"b,c.csv\",0,,,\"header is missing \"\"name\"\"\nsee docs\",error\r\n"
                + "a.csv,4,2,name,is long,warning\r\n")
    }

    @Test func roundTripsThroughTheReader() throws {
        let diagnostics = [Diagnostic(file: "x.csv", line: 7, column: 4, field: "mobile", message: "a, \"b\"\r\nc")]
        var reader = CSVReader(bytes: Array(DiagnosticCSV.csv(diagnostics).utf8))
        #expect(try reader.next()?.fields == ["file", "line", "column", "field", "message", "severity"])
        #expect(try reader.next()?.fields == ["x.csv", "7", "4", "mobile", "a, \"b\"\r\nc", "error"])
        #expect(try reader.next() == nil)
    }
}

struct DiagnosticDescriptionTests {
    @Test func warningsSayso() {
        let error = Diagnostic(file: "a.csv", line: 3, column: 2, field: "name", message: "is required")
        let warning = Diagnostic(
            file: "a.csv", line: 3, column: 2, field: "name", message: "is long", severity: .warning)
        #expect(error.description == "a.csv:3:2: name: is required")
        #expect(warning.description == "a.csv:3:2: warning: name: is long")
    }
}

struct CSVFormatTests {
    @Test func quotesOnlyWhenNeeded() {
        #expect(CSVFormat.field("plain 北京") == "plain 北京")
        #expect(CSVFormat.field("") == "")
        #expect(CSVFormat.field(" lead") == "\" lead\"")
        #expect(CSVFormat.field("北京\u{3000}") == "\"北京\u{3000}\"")
        #expect(CSVFormat.field("a\"b") == "\"a\"\"b\"")
    }
}
