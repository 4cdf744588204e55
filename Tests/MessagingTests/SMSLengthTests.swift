import Rules
import Testing

@testable import Messaging

@Suite struct SMSLengthTests {
    @Test(arguments: [(70, 1), (71, 2), (134, 2), (135, 3), (160, 3), (500, 8)])
    func renderedSegmentsCountSignatureAndOptOut(length: Int, segments: Int) throws {
        // 【税务局】 (5) + body + 回T退订 (4): a policy title makes up the rest (names stop at 30).
        let fixture = try TemplateFixture(files: [
            "sms.json5": #"{ signature: "税务局", opt_out: "回T退订", max_segments: 8, text: "{policy_titles}" }"#
        ])
        let renderer = try fixture.renderer()
        let title = String(repeating: "税", count: length - 9)
        let policy = [PolicyProfile(id: "p", title: title, shortTitle: "税", basis: "", when: "true")]
        let sms = renderer.renderSMS(for: enterprise(), policies: policy)
        #expect(sms.text.count == length)
        #expect(sms.length == length)
        #expect(sms.segments == segments)
        #expect(sms.text.hasPrefix("【税务局】") && sms.text.hasSuffix("回T退订"))
        let cost = renderer.smsCost(for: enterprise(), policies: policy)
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
