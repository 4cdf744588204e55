import Foundation
import Kit
import Testing

@Suite struct JSON5LocatorTests {
    @Test func syntaxErrorOnLineThree() throws {
        let locator = JSON5Locator(text: "{\n  a: 1,\n  b: 2 c: 3,\n}")
        let error = try #require(locator.syntaxError)
        #expect(error.position == .init(line: 3, column: 8))
        #expect(error.message == "expected ',' or '}'; found 'c'")
    }

    /// Columns count characters, not UTF-8 bytes: `税务局` is three columns, not nine.
    @Test func columnsOnAMultibyteLine() throws {
        let locator = JSON5Locator(text: "{\n  name: \"税务局\",\n  签名: \"朝阳\" x,\n}")
        #expect(locator.position(of: "name") == .init(line: 2, column: 9))
        #expect(locator.position(of: "签名") == .init(line: 3, column: 7))
        let error = try #require(locator.syntaxError)
        #expect(error.position == .init(line: 3, column: 12), "\(error)")
    }

    @Test func positionsKeysAndStringScalars() throws {
        let text = "// c\n{ a: { z: 1, y: [true, 'p'] },\n  b: \"x\\ny\" }"
        let locator = JSON5Locator(text: text)
        #expect(locator.syntaxError == nil)
        #expect(locator.keys(of: "") == ["a", "b"] && locator.keys(of: "a") == ["z", "y"])
        #expect(locator.position(of: "a.y[1]") == .init(line: 2, column: 24))
        #expect(locator.nearestPosition(of: "a.y[7].q") == .init(line: 2, column: 17))
        let b = try #require(locator.members(of: "")?.last)
        #expect(b.valuePosition == .init(line: 3, column: 6))
        // `x`, the `\n` escape, `y`, then the closing quote.
        #expect(b.stringScalarPositions?.map(\.column) == [7, 8, 10, 11])
    }

    @Test func deepNestingIsAnError() throws {
        let text = String(repeating: "[", count: 1000) + String(repeating: "]", count: 1000)
        let error = try #require(JSON5Locator(text: text).syntaxError)
        #expect(error.position == .init(line: 1, column: 65))
        #expect(error.message.hasPrefix("objects and arrays nest deeper than 64 levels"))
    }

    @Test func invalidLiteralAndUnterminatedComment() throws {
        #expect(JSON5Locator(text: "{ a: high }").syntaxError?.message == "invalid value 'high'")
        #expect(JSON5Locator(text: "{ a: 0x1F, b: -Infinity, c: .5, d: 5. }").syntaxError == nil)
        #expect(JSON5Locator(text: "{ a: 1 } /* open").syntaxError?.message == "unterminated comment")
    }

    @Test func byteOffsetsMapToCharacterColumns() {
        let bytes = Array("{\n\"税\": x}".utf8)
        #expect(JSON5Locator.position(ofByteOffset: 8, in: bytes) == .init(line: 2, column: 5))
        #expect(JSON5Locator.position(ofByteOffset: 0, in: bytes) == .init(line: 1, column: 1))
    }

    @Test func describesFoundationErrorsWithAPosition() throws {
        let data = Data("{\n  \"a\": 1,\n  \"税\": tru\n}".utf8)
        let decoder = JSONDecoder()
        decoder.allowsJSON5 = true
        let error = try #require(throws: (any Error).self) { try decoder.decode(JSONValue.self, from: data) }
        #expect(JSON5Locator.describe(error, in: data) == "line 3, column 8: invalid value 'tru'")
        // Plain JSON refused by Foundation but not by the JSON5 scanner: Foundation's byte index, located.
        let strict = Data("{\"税\": 'x'}".utf8)
        let strictError = try #require(throws: (any Error).self) { try JSONSerialization.jsonObject(with: strict) }
        #expect(JSON5Locator.describe(strictError, in: strict) == "line 1, column 7: Invalid value around character 8.")
    }
}
