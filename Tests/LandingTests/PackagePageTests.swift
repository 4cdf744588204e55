import Foundation
import Registry
import Rules
import Testing

@testable import Landing

@Suite struct PackagePageTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The nine shipped policies, every guidance field filled.
    static func shippedPolicies() throws -> [PolicyProfile] {
        let (catalog, diagnostics) = PolicyCatalog.load(
            directory: root.appendingPathComponent("config/policies").path,
            schema: AttributeSchema(custom: ["export_share": .number]))
        #expect(diagnostics.isEmpty)
        return catalog.entries.map(\.profile)
    }

    let enterprise = Enterprise(creditCode: "91110105MA01ABCD0X", name: "北京示例科技有限公司")
    let date = LocalDate(year: 2026, month: 12, day: 3)!

    @Test func nineShippedPoliciesFitInThirtyKilobytes() throws {
        let policies = try Self.shippedPolicies()
        #expect(policies.count == 9)
        let html = PackagePage(bureau: "朝阳区税务局").render(enterprise: enterprise, policies: policies, date: date)
        #expect(html.utf8.count < 30 * 1024, "\(html.utf8.count) bytes")
        #expect(html.hasPrefix("<!DOCTYPE html>\n<html lang=\"zh-CN\">"))
        #expect(html.contains("width=device-width"))
        #expect(html.contains("北京示例科技有限公司"))
        #expect(html.contains("911101********CD0X") && !html.contains("91110105MA01ABCD0X"))
        #expect(html.contains("2026-12-03"))
        #expect(html.contains("12366"))
        for policy in policies {
            #expect(html.contains(PackagePage.escaped(policy.title)))
            #expect(html.contains(PackagePage.escaped(policy.basis)))
            for line in (policy.summary ?? "").split(whereSeparator: \.isNewline) {
                #expect(html.contains(PackagePage.escaped(String(line))))
            }
            #expect(!policy.guide.isEmpty)
            for step in policy.guide { #expect(html.contains("<li>" + PackagePage.escaped(step) + "</li>")) }
            let link = try #require(policy.officialLink)
            #expect(html.contains("href=\"\(PackagePage.escaped(link))\""))
        }
        #expect(html.components(separatedBy: "<h3>办理指引</h3>\n<ol>").count == 10)
    }

    @Test func theFeedbackFormPostsWithoutScriptAndOnlyWhenServed() throws {
        let file = PackagePage().render(enterprise: enterprise, policies: [], date: date)
        #expect(!file.contains("<form"), "a page written to a file has nowhere to post")
        var served = PackagePage()
        served.feedbackAction = "AbCdEfGhIj0/feedback"
        let html = served.render(enterprise: enterprise, policies: try Self.shippedPolicies(), date: date)
        #expect(html.contains(#"<form method="post" action="AbCdEfGhIj0/feedback" accept-charset="utf-8">"#))
        #expect(html.contains(#"name="text""#) && html.contains(#"maxlength="500""#))
        #expect(html.contains(#"name="kind" value="not_useful">这条推送对我没有帮助"#))
        #expect(html.contains(#"name="kind" value="question">我有问题要咨询"#))
        #expect(!html.contains("<script") && html.utf8.count < 30 * 1024)
        let thanks = served.feedbackReceived(.question, back: "../AbCdEfGhIj0")
        #expect(thanks.contains("感谢您的反馈") && thanks.contains("12366") && thanks.contains(#"href="../AbCdEfGhIj0""#))
    }

    @Test func formBodiesDecodeStrictly() throws {
        let form = try FeedbackForm(body: Array("kind=question&text=%E4%BD%A0%E5%A5%BD+a%2Bb%0D%0Ac".utf8))
        #expect(form.kind == .question && form.text == "你好 a+b\nc")
        #expect(try FeedbackForm(body: Array("kind=not_useful".utf8)).text.isEmpty)
        #expect(throws: FeedbackForm.Problem.badEncoding) {
            try FeedbackForm(body: Array("kind=question&text=%C3".utf8))
        }
        #expect(throws: FeedbackForm.Problem.badEncoding) {
            try FeedbackForm(body: Array("kind=question&text=%4".utf8))
        }
        #expect(throws: FeedbackForm.Problem.badField) { try FeedbackForm(body: []) }
        #expect(throws: FeedbackForm.Problem.empty) { try FeedbackForm(body: Array("kind=question&text=%0A".utf8)) }
        let limit = String(repeating: "啊", count: FeedbackForm.maxCharacters)
        #expect(try FeedbackForm(body: Array("kind=question&text=\(limit)".utf8)).text.count == 500)
        #expect(throws: FeedbackForm.Problem.tooLong) {
            try FeedbackForm(body: Array("kind=question&text=\(limit)x".utf8))
        }
    }

    @Test func policiesAreListedByPriority() throws {
        let low = PolicyProfile(id: "a", title: "低", shortTitle: "a", basis: "", priority: 1, when: "true")
        let high = PolicyProfile(id: "b", title: "高", shortTitle: "b", basis: "", priority: 9, when: "true")
        let html = PackagePage().render(enterprise: enterprise, policies: [low, high], date: date)
        let first = try #require(html.range(of: "高</h2>"))
        let second = try #require(html.range(of: "低</h2>"))
        #expect(first.lowerBound < second.lowerBound)
    }

    @Test func hostileDataIsEscaped() {
        var hostile = enterprise
        hostile.name = "<script>alert(1)</script>&\"'"
        let policy = PolicyProfile(
            id: "x", title: "<img src=x onerror=alert(1)>", shortTitle: "x", basis: "<b>", summary: "<i>",
            guide: ["<a href=\"//evil\">点</a>"], officialLink: "javascript:alert(1)", when: "true")
        let html = PackagePage(bureau: "<style>").render(enterprise: hostile, policies: [policy], date: date)
        #expect(!html.contains("<script"))
        #expect(!html.contains("<img") && !html.contains("<a href=\"//evil") && !html.contains("<i>"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#39;"))
        #expect(html.contains("&lt;img src=x onerror=alert(1)&gt;"))
        #expect(!html.contains("href=\"javascript:"))
        #expect(html.components(separatedBy: "<style>").count == 2)  // only the page's own
    }

    @Test func noResourceIsFetchedButTheOfficialLinks() throws {
        let policies = try Self.shippedPolicies()
        let html = PackagePage().render(enterprise: enterprise, policies: policies, date: date)
        let links = Set(policies.compactMap(\.officialLink))
        // Every http(s) reference is an official link, in an <a href>: no src=, no url(), no @import.
        var rest = html[...]
        while let found = rest.range(of: "http") {
            let tail = rest[found.lowerBound...]
            let end = tail.firstIndex(of: "\"") ?? tail.endIndex
            let url = String(tail[..<end])
            #expect(links.contains(url), "\(url)")
            #expect(html[..<found.lowerBound].hasSuffix("<a href=\""), "\(url)")
            rest = tail[end...]
        }
        for pattern in ["src=", "url(", "@import", "<script", "<link", "<img", "<iframe", "//fonts"] {
            #expect(!html.contains(pattern), "\(pattern)")
        }
    }
}
