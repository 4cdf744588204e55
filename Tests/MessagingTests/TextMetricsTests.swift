import Testing

@testable import Messaging

@Suite struct TextMetricsTests {
    @Test(arguments: [
        "", "abc", "北京示例科技有限公司", "小微企业“六税两费”减免…（示例）", "e\u{301}", "👨‍👩‍👧", "🇨🇳🇨🇳",
        "税\u{200D}务", "a\r\nb", "한국", "か\u{3099}", "abc👍🏽def",
    ])
    func lengthMatchesCharacterCount(text: String) {
        #expect(TextMetrics.length(text) == text.count)
    }

    @Test func truncationKeepsTheEllipsisInsideTheLimit() {
        #expect(TextMetrics.truncated("增值税留抵退税", to: 7) == "增值税留抵退税")
        #expect(TextMetrics.truncated("增值税留抵退税", to: 5) == "增值税留…")
        #expect(TextMetrics.truncated("税👨‍👩‍👧‍👦费", to: 2) == "税…")
        #expect(TextMetrics.truncated("税👨‍👩‍👧‍👦费优惠", to: 3) == "税👨‍👩‍👧‍👦…")
    }

    @Test func digitCount() {
        #expect(TextMetrics.digitCount(0) == 1)
        #expect(TextMetrics.digitCount(9) == 1)
        #expect(TextMetrics.digitCount(10) == 2)
        #expect(TextMetrics.digitCount(12345) == 5)
    }
}
