import Foundation
import Kit
import Testing

@Suite struct JSONValueTests {
    func decode(_ text: String) throws -> JSONValue {
        let decoder = JSONDecoder()
        decoder.allowsJSON5 = true
        return try decoder.decode(JSONValue.self, from: Data(text.utf8))
    }

    @Test func decodesEveryKind() throws {
        let value = try decode(#"{ a: null, b: true, c: 1.5, d: 'x', e: [1, "y"], f: {} }"#)
        #expect(
            value
                == .object([
                    "a": .null, "b": .bool(true), "c": .number(1.5), "d": .string("x"),
                    "e": .array([.number(1), .string("y")]), "f": .object([:]),
                ]))
        #expect(value.objectValue?["d"]?.stringValue == "x")
        #expect(value.objectValue?["c"]?.numberValue == 1.5)
        #expect(value.objectValue?["b"]?.boolValue == true)
        #expect(value.objectValue?["e"]?.arrayValue?.count == 2)
        #expect(value.objectValue?["a"]?.isNull == true)
        #expect(value.stringValue == nil)
    }

    @Test func kindsAndDescriptionsForMessages() throws {
        #expect(JSONValue.array([]).kind == "an array" && JSONValue.null.kind == "null")
        #expect(JSONValue.number(5).description == "5" && JSONValue.number(1.5).description == "1.5")
        #expect(JSONValue.string("x").description == "\"x\"" && JSONValue.bool(false).description == "false")
        #expect(JSONValue.object([:]).description == "an object")
    }
}
