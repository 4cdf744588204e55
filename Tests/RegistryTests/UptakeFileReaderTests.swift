import Foundation
import Registry
import Testing

@Suite struct UptakeFileReaderTests {
    @Test func rowErrorsNameLineColumnAndReason() throws {
        let file = try TemporaryFile(
            name: "u.csv",
            text: """
                credit_code,policy_id,claimed_on,amount
                91350100M000100Y43,small_profit,2026-06-05,1200.5
                91350100M000100Y43,small_profit,2026-02-30,1
                91110108MA01A2B32G,vat_exemption,2026-06-07,12.345
                91110108MA01A2B32H,,2026-06-07,
                91110108MA01A2B32G,vat_exemption,2026-06-08,-3
                91110108MA01A2B32G,vat_exemption,2026-06-09,

                """)
        defer { file.remove() }
        let (rows, summary) = try UptakeFileReader(path: file.path).read()
        #expect(rows.map(\.line) == [2, 7], "\(summary.diagnostics)")
        guard rows.count == 2 else { return }
        #expect(rows[0].amountFen == 120_050 && rows[0].claimedOn == LocalDate(iso: "2026-06-05"))
        #expect(rows[1].amountFen == nil)
        #expect(summary.rowsRead == 6 && summary.accepted == 2 && summary.rejected == 4)
        let problems = summary.diagnostics.map { "\($0.line):\($0.column ?? 0):\($0.field ?? "")" }
        #expect(problems == ["3:3:claimed_on", "4:4:amount", "5:1:credit_code", "5:2:policy_id", "6:4:amount"])
        #expect(summary.diagnostics[0].message.contains("'2026-02-30' is not a date"))
        #expect(summary.diagnostics[1].message.contains("'12.345' is not an amount"))
    }

    @Test func gb18030AndJSONLines() throws {
        // "已申报" in GB18030, from Python's `str.encode('gb18030')`, as a policy id: decoded, it reads back.
        let declared: [UInt8] = [210, 209, 201, 234, 177, 168]
        let file = try TemporaryFile(
            name: "u.csv",
            bytes: Array("credit_code,claimed_on,note,policy_id\n91350100M000100Y43,2026-06-05,x,".utf8) + declared
                + [0x0A])
        defer { file.remove() }
        let (rows, summary) = try UptakeFileReader(path: file.path).read()
        #expect(summary.rejected == 0 && rows.count == 1 && rows[0].policyID == "已申报")

        let lines = try TemporaryFile(
            name: "u.jsonl",
            text: """
                {"credit_code": "91350100m000100y43", "policy_id": "small_profit", "claimed_on": "2026-06-05", "amount": 10}
                {"credit_code": "91350100M000100Y43", "policy_id": "small_profit", "claimed_on": "20260605"}
                """)
        defer { lines.remove() }
        let (jsonRows, jsonSummary) = try UptakeFileReader(path: lines.path).read()
        #expect(jsonRows.count == 1 && jsonRows[0].creditCode == "91350100M000100Y43" && jsonRows[0].amountFen == 1000)
        #expect(jsonSummary.diagnostics.map(\.line) == [2] && jsonSummary.diagnostics[0].field == "claimed_on")
    }

    @Test func missingColumnFailsTheFile() throws {
        let file = try TemporaryFile(name: "u.csv", text: "credit_code,claimed_on\n91350100M000100Y43,2026-06-05\n")
        defer { file.remove() }
        #expect(throws: Diagnostic.self) { try UptakeFileReader(path: file.path).read() }
    }

    @Test func amountsInFen() {
        #expect(UptakeFileReader.fen("0") == 0 && UptakeFileReader.fen("12.3") == 1230)
        #expect(UptakeFileReader.fen("12.34") == 1234)
        for bad in ["", ".5", "1.", "1,000", "1e3", "-1", "1.234", "１２"] {
            #expect(UptakeFileReader.fen(bad) == nil, "\(bad)")
        }
    }
}
