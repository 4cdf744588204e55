import Config
import Foundation
import Testing

@testable import Planning

@Suite struct MessagePayloadTests {
    /// What `encoded()` wrote before it was written by hand, but for U+2028 and U+2029, which
    /// `JSONEncoder` leaves raw and `JSONText` escapes (JavaScript string literals refuse them raw).
    func foundationBytes(_ payload: MessagePayload) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = String(decoding: try encoder.encode(payload), as: UTF8.self)
            .replacingOccurrences(of: "\u{2028}", with: #"\u2028"#)
            .replacingOccurrences(of: "\u{2029}", with: #"\u2029"#)
        return Array(json.utf8)
    }

    static let tricky = #"q\"b\\s/n\nt\tr\rc\u0001\u001f é中😀 \u2028"#

    @Test func everyFieldEncodesAsJSONEncoderDoes() throws {
        let json = """
            {"aliyun":{"params":[{"key":"name","value":"\(Self.tricky)"},{"key":"n","value":"3"}],"signName":"朝阳区税务局","templateCode":"SMS_1"},
             "fallbackMobile":"13800000000",
             "sms":{"includedPolicies":2,"length":71,"segments":1,"text":"【朝阳】\(Self.tricky) https://x.example/p?a=1&b=2"},
             "tencent":{"params":["a","\(Self.tricky)",""],"signName":"s","templateID":"123"},
             "wechat":{"fields":[{"key":"first","value":"\(Self.tricky)"}],"templateID":"T","url":"https://x.example/p"}}
            """
        let payload = try MessagePayload.decode(Array(json.utf8))
        #expect(payload.encoded() == (try foundationBytes(payload)))
        #expect(try MessagePayload.decode(payload.encoded()) == payload)
    }

    @Test func lineAndParagraphSeparatorsAreEscaped() throws {
        var payload = MessagePayload()
        payload.fallbackMobile = "a\u{2028}b\u{2029}c"
        let json = String(decoding: payload.encoded(), as: UTF8.self)
        #expect(json == #"{"fallbackMobile":"a\u2028b\u2029c"}"#)
        #expect(try MessagePayload.decode(payload.encoded()) == payload)
    }

    @Test func absentFieldsAreLeftOut() throws {
        let payloads = [
            MessagePayload(),
            try MessagePayload.decode(Array(#"{"wechat":{"fields":[],"templateID":"T"}}"#.utf8)),
            try MessagePayload.decode(Array(#"{"sms":{"includedPolicies":0,"length":0,"segments":0,"text":""}}"#.utf8)),
        ]
        for payload in payloads {
            #expect(payload.encoded() == (try foundationBytes(payload)))
            #expect(try MessagePayload.decode(payload.encoded()) == payload)
        }
    }

    /// The hand reader answers as `JSONDecoder` does: members in any order, unknown ones skipped,
    /// `null` for absent, every escape; and what it does not expect still decodes (or fails) as
    /// `JSONDecoder` has it.
    @Test func decodesAsJSONDecoderDoes() throws {
        let texts = [
            """
            {"sms":{"text":"\(Self.tricky) \\/ \\ud83d\\ude00","segments":1,"length":7,"includedPolicies":2,"extra":[1,{"a":null}]},
             "fallbackMobile":null,"wechat":null,"future":{"x":[true,false,-1.5e3]},
             "aliyun":{"templateCode":"SMS_1","params":[{"value":"v","key":"k"}],"signName":"s"},
             "tencent":{"signName":"s","templateID":"1","params":["a",""]}}
            """,
            #"{ "wechat" : { "url" : null , "templateID" : "T" , "fields" : [ { "key" : "first" , "value" : "\u00e9" } ] } }"#,
            #"{"sms":{"text":"t","segments":1.0,"length":2,"includedPolicies":0}}"#,
            "{}",
        ]
        for text in texts {
            let bytes = Array(text.utf8)
            let expected = try JSONDecoder().decode(MessagePayload.self, from: Data(bytes))
            #expect(try MessagePayload.decode(bytes) == expected, "\(text)")
            // Read by hand, not by the fallback (but for the fraction, which the reader leaves to it).
            if !text.contains("1.0") { #expect(try PayloadJSONReader.read(bytes) == expected, "\(text)") }
        }
        for broken in [#"{"sms":{"text":"t"}}"#, #"{"sms":1}"#, #"{"aliyun":{"#, "[]"] {
            #expect(throws: (any Error).self) { try MessagePayload.decode(Array(broken.utf8)) }
        }
    }
}
