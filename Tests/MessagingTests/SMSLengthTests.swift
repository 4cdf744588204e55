import Testing

@testable import Messaging

@Suite struct SMSLengthTests {
    @Test(arguments: [(70, 1), (71, 2), (134, 2), (135, 3), (160, 3), (500, 8)])
    func renderedSegmentsCountSignatureAndOptOut(length: Int, segments: Int) throws {
        // 【税务局】 (5) + body + 回T退订 (4): the name makes up the rest.
        let fixture = try TemplateFixture(files: [
            "sms.json5": #"{ signature: "税务局", opt_out: "回T退订", max_segments: 8, text: "{name}" }"#
        ])
        let renderer = try fixture.renderer()
        let name = String(repeating: "税", count: length - 9)
        let sms = renderer.renderSMS(for: enterprise(name: name), policies: policies(1))
        #expect(sms.text.count == length)
        #expect(sms.length == length)
        #expect(sms.segments == segments)
        #expect(sms.text.hasPrefix("【税务局】") && sms.text.hasSuffix("回T退订"))
        let cost = renderer.smsCost(for: enterprise(name: name), policies: policies(1))
        #expect(cost.length == length && cost.segments == segments)
    }

    @Test func segmentsForLength() {
        #expect(SMSLength.segments(forLength: 0) == 0)
        #expect(SMSLength.segments(forLength: 1) == 1)
        #expect(SMSLength.segments(forLength: 70) == 1)
        #expect(SMSLength.segments(forLength: 71) == 2)
        #expect(SMSLength.segments(forLength: 134) == 2)
        #expect(SMSLength.segments(forLength: 135) == 3)
        #expect(SMSLength.segments(forLength: 160) == 3)
    }
}
