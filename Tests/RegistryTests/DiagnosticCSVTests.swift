import Testing

@testable import Registry

struct DiagnosticCSVTests {
    @Test func writesHeaderAndQuotesWhereNeeded() {
        let csv = DiagnosticCSV.csv([
            Diagnostic(file: "a.csv", line: 3, column: 2, field: "name", message: "is required"),
            Diagnostic(file: "b,c.csv", line: 0, message: "header is missing \"name\"\nsee docs"),
        ])
        #expect(
            csv
                == "file,line,column,field,message\r\n"
                + "a.csv,3,2,name,is required\r\n"
                + "\"b,c.csv\",0,,,\"header is missing \"\"name\"\"\nsee docs\"\r\n")
    }

    @Test func roundTripsThroughTheReader() throws {
        let diagnostics = [Diagnostic(file: "x.csv", line: 7, column: 4, field: "mobile", message: "a, \"b\"\r\nc")]
        var reader = CSVReader(bytes: Array(DiagnosticCSV.csv(diagnostics).utf8))
        #expect(try reader.next()?.fields == ["file", "line", "column", "field", "message"])
        #expect(try reader.next()?.fields == ["x.csv", "7", "4", "mobile", "a, \"b\"\r\nc"])
        #expect(try reader.next() == nil)
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
