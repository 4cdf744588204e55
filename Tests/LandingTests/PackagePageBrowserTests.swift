import Foundation
import Registry
import Rules
import TestSupport
import Testing

@testable import Landing

/// The package page in a real browser at a phone's size (375 × 812): it loads without a console
/// message or a single network request, lays out without horizontal scrolling, and its
/// screenshots are kept in `.build/screenshots/` for a person to look at.
@Suite("Package page in Chromium")
struct PackagePageBrowserTests {
    static let screenshots = Chromium.screenshots

    let enterprise = Enterprise(creditCode: "91110105MA01ABCD0X", name: "北京示例科技有限公司")
    let date = LocalDate(year: 2026, month: 12, day: 3)!

    @Test func nineShippedPoliciesRenderOnAPhoneAndFetchNothing() async throws {
        let chromium = try Chromium.installed()
        try Chromium.requireChineseFont()
        let policies = try PackagePageTests.shippedPolicies()
        #expect(policies.count == 9)
        let html = PackagePage(bureau: "国家税务总局北京市朝阳区税务局")
            .render(enterprise: enterprise, policies: policies, date: date)
        let page = try TemporaryPage(html: html, name: "package-page.html")
        defer { page.remove() }
        try FileManager.default.createDirectory(at: Self.screenshots, withIntermediateDirectories: true)

        // The page as served: nothing logged, nothing fetched, something drawn.
        let shot = Self.screenshots.appendingPathComponent("package-page.png").path
        let load = try await chromium.load(page.url, width: 375, height: 812, screenshot: shot)
        #expect(load.consoleMessages.isEmpty, "\(load.consoleMessages)")
        #expect(load.requests.isEmpty, "the page fetched \(load.requests)")
        let png = try PNGInfo(path: shot)
        #expect(png.width == 375 && png.height == 812)
        // A screenshot of the page's bare background weighs little; text, the header band and the
        // cards weigh several times more (blank: about 3 KB, the page: about 60 KB).
        let blank = try TemporaryPage(html: "<!DOCTYPE html><body style=\"margin:0;background:#f4f5f7\">")
        defer { blank.remove() }
        let blankShot = blank.directory.appendingPathComponent("blank.png").path
        _ = try await chromium.load(blank.url, width: 375, height: 812, screenshot: blankShot)
        let blankBytes = try PNGInfo(path: blankShot).byteCount
        #expect(png.byteCount > 5 * blankBytes, "page \(png.byteCount) bytes, blank \(blankBytes) bytes")
        print("package page screenshot (375x812, \(png.byteCount) bytes): \(shot)")

        // Its layout, measured in a copy with a script that logs it: no horizontal scrolling at
        // 375 px, and the whole length, for a second screenshot of the full page. Headless Chromium
        // lays a page out in a window at least 500 px wide, then resizes it to the screenshot's
        // size: the figures that count are those logged on that resize.
        let measuring = html.replacingOccurrences(
            of: "</body>",
            with: """
                <script>addEventListener("resize", () => { const e = document.documentElement;
                console.log("layout " + innerWidth + " " + e.scrollWidth + " " + e.scrollHeight); });</script></body>
                """)
        let probe = try TemporaryPage(html: measuring, name: "measure.html")
        defer { probe.remove() }
        let probeShot = probe.directory.appendingPathComponent("measure.png").path
        let measured = try await chromium.load(probe.url, width: 375, height: 812, screenshot: probeShot)
        let layout = try #require(measured.consoleMessages.last { $0.hasPrefix("\"layout ") }, "\(measured)")
        let figures = layout.dropFirst("\"layout ".count).prefix { $0 != "\"" }.split(separator: " ")
            .compactMap { Int($0) }
        try #require(figures.count == 3 && figures[0] == 375, "\(layout)")
        #expect(figures[1] == 375, "the page is \(figures[1]) px wide on a 375 px screen")
        #expect(figures[2] > 3 * 812, "nine policies make a page of \(figures[2]) px")

        let full = Self.screenshots.appendingPathComponent("package-page-full.png").path
        _ = try await chromium.load(page.url, width: 375, height: min(figures[2], 16_000), screenshot: full)
        print("package page, full length (375x\(figures[2])): \(full)")
    }
}
