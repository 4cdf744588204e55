import Testing

@testable import Registry

struct CSVReaderTests {
    private func records(_ text: String) throws -> [CSVRecord] {
        try records(Array(text.utf8))
    }

    private func records(_ bytes: [UInt8]) throws -> [CSVRecord] {
        var reader = CSVReader(bytes: bytes)
        var all: [CSVRecord] = []
        while let record = try reader.next() { all.append(record) }
        return all
    }

    @Test func readsPlainRecordsWithLineNumbers() throws {
        #expect(
            try records("a,b,c\n1,2,3\n")
                == [CSVRecord(line: 1, fields: ["a", "b", "c"]), CSVRecord(line: 2, fields: ["1", "2", "3"])])
    }

    @Test func readsQuotedCommasAndDoubledQuotes() throws {
        let all = try records("name,note\n\"Acme, Inc.\",\"say \"\"hi\"\"\"\n")
        #expect(all[1].fields == ["Acme, Inc.", "say \"hi\""])
    }

    @Test func keepsLineNumbersRightAfterEmbeddedNewlines() throws {
        let all = try records("a,b\n\"x\ny\",1\n\"p\r\nq\rr\",2\nlast,3\n")
        #expect(all.map(\.line) == [1, 2, 4, 7])
        #expect(all[1].fields == ["x\ny", "1"])
        #expect(all[2].fields == ["p\r\nq\rr", "2"])
        #expect(all[3].fields == ["last", "3"])
    }

    @Test func handlesCRLFAndMissingFinalNewline() throws {
        let all = try records("a,b\r\n1,2\r\n3,4")
        #expect(
            all == [
                .init(line: 1, fields: ["a", "b"]), .init(line: 2, fields: ["1", "2"]),
                .init(line: 3, fields: ["3", "4"]),
            ])
    }

    @Test func skipsBlankLinesButCountsThem() throws {
        let all = try records("a,b\n\n\r\n1,2\n\n")
        #expect(all == [.init(line: 1, fields: ["a", "b"]), .init(line: 4, fields: ["1", "2"])])
    }

    @Test func stripsByteOrderMark() throws {
        let all = try records([0xEF, 0xBB, 0xBF] + Array("credit_code,name\n".utf8))
        #expect(all[0].fields == ["credit_code", "name"])
    }

    @Test func keepsEmptyFields() throws {
        #expect(try records(",,\n")[0].fields == ["", "", ""])
        #expect(try records("\"\",x,")[0].fields == ["", "x", ""])
    }

    @Test func reportsUnterminatedQuoteOnTheRecordsLine() throws {
        var reader = CSVReader(bytes: Array("a,b\n1,2\n3,\"open\nstill open\n".utf8))
        _ = try reader.next()
        _ = try reader.next()
        #expect(throws: CSVError(line: 3, message: "unterminated quoted field")) { try reader.next() }
        #expect(try reader.next() == nil)
    }

    @Test func keepsStrayQuotesLiterally() throws {
        #expect(try records("ab\"c,\"x\"y\n")[0].fields == ["ab\"c", "xy"])
    }
}
