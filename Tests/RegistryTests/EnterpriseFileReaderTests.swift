import Testing

@testable import Registry

struct EnterpriseFileReaderTests {
    static let today = LocalDate(year: 2026, month: 6, day: 1)!

    private func read(
        _ file: TemporaryFile, encoding: TextEncoding = .auto, custom: [String: AttributeType] = [:],
        batchSize: Int = 8192
    ) throws -> (enterprises: [Enterprise], batches: [Int], summary: ReadSummary) {
        let reader = EnterpriseFileReader(
            path: file.path, encoding: encoding, schema: AttributeSchema(custom: custom), today: Self.today)
        var enterprises: [Enterprise] = []
        var batches: [Int] = []
        let summary = try reader.read(batchSize: batchSize) { batch in
            batches.append(batch.count)
            enterprises += batch
        }
        return (enterprises, batches, summary)
    }

    @Test func deliversGoodRowsAndReportsBadOnes() throws {
        let file = try TemporaryFile(
            name: "e.csv",
            text: """
                credit_code,name,employees,mobile\r
                91350100M000100Y43,"华盛, 科技",5,13812345678\r
                \r
                91110108769361569A,bad code,1,\r
                91110108MA01A2B32G,"multi
                line name",x,\r
                92110105L12345674T,ok,3\r
                91350100M000100Y43,dup,1,\r
                93110108MA01A2B32A,last,,+8613912345678\r

                """)
        defer { file.remove() }
        let (enterprises, _, summary) = try read(file)
        #expect(enterprises.map(\.creditCode) == ["91350100M000100Y43", "93110108MA01A2B32A"])
        #expect(enterprises.first?.name == "华盛, 科技")
        #expect(enterprises.last?.mobile == "13912345678")
        #expect(summary.rowsRead == 6)
        #expect(summary.accepted == 2)
        #expect(summary.rejected == 4)
        #expect(
            summary.diagnostics == [
                Diagnostic(
                    file: file.path, line: 4, column: 1, field: "credit_code", message: "check digit should be N"),
                Diagnostic(
                    file: file.path, line: 5, column: 3, field: "employees",
                    message: "'x' is not a non-negative integer"),
                Diagnostic(file: file.path, line: 7, message: "row has 3 fields, header has 4"),
                Diagnostic(
                    file: file.path, line: 8, column: 1, field: "credit_code",
                    message: "duplicate credit_code, first on line 2"),
            ])
    }

    @Test func readsGB18030FileWithBatches() throws {
        let bytes =
            Array("credit_code,name,region\n91350100M000100Y43,".utf8) + TextEncodingTests.companyGB18030
            + [0x2C] + TextEncodingTests.subdistrictGB18030
            + Array("\n91110108769361569N,b,\n92110105L12345674T,c,\n".utf8)
        let file = try TemporaryFile(name: "gbk.csv", bytes: bytes)
        defer { file.remove() }
        let (enterprises, batches, summary) = try read(file, batchSize: 2)
        #expect(batches == [2, 1])
        #expect(summary.accepted == 3)
        #expect(enterprises.first?.name == "北京华盛科技有限公司")
        #expect(enterprises.first?.region == "望京街道")
    }

    @Test func missingRequiredColumnIsAFileError() throws {
        let file = try TemporaryFile(name: "e.csv", text: "\u{FEFF}credit_code,region\n91350100M000100Y43,x\n")
        defer { file.remove() }
        #expect(throws: Diagnostic(file: file.path, line: 1, message: "header is missing required column name")) {
            try read(file)
        }
    }

    @Test func unreadableFileIsAFileError() throws {
        let reader = EnterpriseFileReader(path: "/nonexistent/e.csv", schema: AttributeSchema(), today: Self.today)
        let error = #expect(throws: Diagnostic.self) { try reader.read { _ in } }
        #expect(error?.line == 0)
        #expect(error?.message.hasPrefix("cannot open file") == true)
    }

    @Test func unterminatedQuoteRejectsLastRecord() throws {
        let file = try TemporaryFile(
            name: "e.csv", text: "credit_code,name\n91350100M000100Y43,a\n91110108769361569N,\"b\n")
        defer { file.remove() }
        let (enterprises, _, summary) = try read(file)
        #expect(enterprises.count == 1)
        #expect(summary.diagnostics == [Diagnostic(file: file.path, line: 3, message: "unterminated quoted field")])
    }

    @Test func readsJSONLines() throws {
        let file = try TemporaryFile(
            name: "e.jsonl",
            text: """
                {"credit_code": "91350100M000100Y43", "name": "A \\"quoted\\" \\u5317\\u4eac", "employees": 12, "high_tech": true, "annual_sales": 1.5e6, "mobile": null}

                [1, 2]
                {"credit_code": "91110108769361569N", "name": "b", "employees": "x"}
                {"credit_code": "92110105L12345674T", "name": "c", "sms_opt_out": false, "extra": {"nested": 1}}
                {"credit_code": "93110108MA01A2B32A", "name": "d", "taxable_income": -12.5, "note": "hi"}
                not json

                """)
        defer { file.remove() }
        let (enterprises, _, summary) = try read(file)
        #expect(enterprises.map(\.creditCode) == ["91350100M000100Y43", "93110108MA01A2B32A"])
        #expect(enterprises[0].name == "A \"quoted\" 北京")
        #expect(enterprises[0].employees == 12)
        #expect(enterprises[0].highTech == true)
        #expect(enterprises[0].annualSales == 1_500_000)
        #expect(enterprises[0].mobile == nil)
        #expect(enterprises[1].taxableIncome == -12.5)
        #expect(enterprises[1].custom == ["note": "hi"])
        #expect(summary.rowsRead == 6)
        #expect(
            summary.diagnostics == [
                Diagnostic(file: file.path, line: 3, message: "line is not a JSON object"),
                Diagnostic(
                    file: file.path, line: 4, field: "employees", message: "'x' is not a non-negative integer"),
                Diagnostic(
                    file: file.path, line: 5, message: "value of \"extra\" must be a string, number, boolean or null"),
                Diagnostic(file: file.path, line: 7, message: "line is not a JSON object"),
            ])
    }

    @Test func badEncodingIsAFileErrorWithLine() throws {
        let bytes = Array("credit_code,name\n91350100M000100Y43,".utf8) + [0x81, 0x20] + Array("\n".utf8)
        let file = try TemporaryFile(name: "e.csv", bytes: bytes)
        defer { file.remove() }
        #expect(throws: Diagnostic(file: file.path, line: 2, message: "invalid GB18030 byte sequence")) {
            try read(file)
        }
        #expect(throws: Diagnostic(file: file.path, line: 2, message: "invalid UTF-8 byte sequence")) {
            try read(file, encoding: .utf8)
        }
    }

    @Test func explicitFormatOverridesExtensionAndCustomTypesAreChecked() throws {
        let file = try TemporaryFile(
            name: "e.txt",
            text: #"{"credit_code": "91350100M000100Y43", "name": "a", "export_share": 0.4}"# + "\n"
                + #"{"credit_code": "91110108769361569N", "name": "b", "export_share": "high"}"# + "\n")
        defer { file.remove() }
        let reader = EnterpriseFileReader(
            path: file.path, format: .jsonl, schema: AttributeSchema(custom: ["export_share": .number]),
            today: Self.today)
        var enterprises: [Enterprise] = []
        let summary = try reader.read { enterprises += $0 }
        #expect(enterprises.map(\.custom) == [["export_share": "0.4"]])
        #expect(
            summary.diagnostics == [
                Diagnostic(
                    file: file.path, line: 2, field: "export_share", message: "'high' is not a valid decimal number")
            ])
    }

    @Test func bodyErrorsStopTheRead() throws {
        struct Stop: Error {}
        let file = try TemporaryFile(name: "e.csv", text: "credit_code,name\n91350100M000100Y43,a\n")
        defer { file.remove() }
        let reader = EnterpriseFileReader(path: file.path, schema: AttributeSchema(), today: Self.today)
        #expect(throws: Stop.self) { try reader.read { _ in throw Stop() } }
    }

    @Test func formatFollowsExtension() {
        #expect(EnterpriseFileReader.Format(path: "a.JSONL") == .jsonl)
        #expect(EnterpriseFileReader.Format(path: "a.ndjson") == .jsonl)
        #expect(EnterpriseFileReader.Format(path: "a.txt") == .csv)
    }

    @Test func jsonNumbersOutOfRangeAreRowErrorsWithTheirField() throws {
        let file = try TemporaryFile(
            name: "e.jsonl",
            text: """
                {"credit_code": "91350100M000100Y43", "name": "a", "annual_sales": 1e309}
                {"credit_code": "91110108769361569N", "name": "b", "employees": 99999999999999999999}
                {"credit_code": "92110105L12345674T", "name": "c", "total_assets": 1.25e-5, "taxable_income": -2.5E3}
                {"credit_code": "93110108MA01A2B32A", "name": "d", "annual_sales": 1.5e15}

                """)
        defer { file.remove() }
        let (enterprises, _, summary) = try read(file)
        #expect(enterprises.map(\.creditCode) == ["92110105L12345674T"])
        #expect(enterprises.first?.totalAssets == 0.0000125)
        #expect(enterprises.first?.taxableIncome == -2500)
        #expect(summary.rejected == 3)
        #expect(summary.diagnostics.map(\.line) == [1, 2, 4])
        #expect(summary.diagnostics.map(\.field) == ["annual_sales", "employees", "annual_sales"])
        #expect(summary.diagnostics.allSatisfy { $0.message.contains("is out of range") }, "\(summary.diagnostics)")
        // The value the parser could not take is located in the line.
        #expect(summary.diagnostics.first?.column == 68)
    }

    @Test func textThatMessagesWouldChangeIsKeptWithAWarning() throws {
        let file = try TemporaryFile(
            name: "e.csv",
            text: """
                credit_code,name,region,note\r
                91350100M000100Y43,【公安局】请访问http://evil.example/x,朝阳区,\r
                91110108769361569N,示例\u{202E}公司,望京\u{0}街道,见 www.example.cn\r
                92110105L12345674T,\(String(repeating: "企", count: 31)),,\r
                93110108MA01A2B32A,正常科技有限公司,朝阳区,普通备注\r

                """)
        defer { file.remove() }
        let (enterprises, _, summary) = try read(file)
        #expect(enterprises.count == 4 && summary.rejected == 0 && summary.diagnostics.isEmpty)
        #expect(enterprises[0].name == "【公安局】请访问http://evil.example/x", "the registry keeps what was imported")
        #expect(summary.rowsWithWarnings == 3)
        func warning(_ line: Int, _ column: Int, _ field: String, _ message: String) -> Diagnostic {
            Diagnostic(file: file.path, line: line, column: column, field: field, message: message, severity: .warning)
        }
        #expect(
            summary.warnings == [
                warning(2, 2, "name", "contains signature brackets (【】); messages show parentheses instead"),
                warning(2, 2, "name", "contains a web address ('http://evil.example/x'); messages leave it out"),
                warning(
                    3, 2, "name",
                    "contains bidirectional or invisible formatting characters (U+202E); messages leave them out"),
                warning(
                    3, 3, "region", "contains control characters (U+0000); messages show a space or nothing instead"),
                warning(3, 4, "note", "contains a web address ('www.example.cn'); messages leave it out"),
                warning(4, 2, "name", "is 31 characters; messages shorten it to 30, ending in …"),
            ])
        #expect(summary.allDiagnostics == summary.warnings)
    }

    @Test func errorsAndWarningsMergeInFileOrder() {
        var summary = ReadSummary()
        summary.diagnostics = [
            Diagnostic(file: "f", line: 2, message: "e2"), Diagnostic(file: "f", line: 5, message: "e5"),
        ]
        summary.warnings = [3, 5, 9].map { Diagnostic(file: "f", line: $0, message: "w\($0)", severity: .warning) }
        #expect(summary.allDiagnostics.map(\.message) == ["e2", "w3", "e5", "w5", "w9"])
    }
}
