import Foundation
import TestSupport
import Testing

/// `campaign report --html` in a real browser: the file the binary writes for a finished campaign
/// (every section with content, see ``ReportCampaign``) opens offline without a console message
/// or a single request, and each `<section id>` is screenshotted on its own, at a desktop width,
/// into `.build/screenshots/report-<id>.png` for a person to look at.
@Suite("Campaign report in Chromium (Browser)")
struct ReportBrowserTests {
    static let sections = [
        "overview", "funnel", "policies", "effect", "opens", "regions", "delivery", "replies", "versions",
    ]
    static let width = 1280

    @Test func theReportOpensOfflineAndEverySectionIsScreenshotted() async throws {
        let chromium = try Chromium.installed()
        try Chromium.requireChineseFont()
        var cli = try CLIHarness()
        let root = CLIHarness.packageRoot.path
        cli.config = try cli.write(
            "policypush.json5", #"{ policies_dir: "\#(root)/config/policies", templates_dir: "\#(root)/templates" }"#)
        let id = try ReportCampaign.seed(storeAt: cli.file("policypush.sqlite"))
        let file = cli.file("report.html")
        let written = try await cli.run("campaign", "report", String(id), "--html", file)
        try #require(written.status == 0, "\(written.stderr)")
        let html = try String(contentsOfFile: file, encoding: .utf8)
        try FileManager.default.createDirectory(at: Chromium.screenshots, withIntermediateDirectories: true)

        // The file as written: nothing logged, nothing fetched, a page drawn.
        let whole = Chromium.screenshots.appendingPathComponent("report.png").path
        let load = try await chromium.load(
            URL(fileURLWithPath: file), width: Self.width, height: 900, screenshot: whole)
        #expect(load.consoleMessages.isEmpty, "\(load.consoleMessages)")
        #expect(load.requests.isEmpty, "the report fetched \(load.requests)")
        #expect(try PNGInfo(path: whole).width == Self.width)
        for section in Self.sections {
            #expect(html.contains("<section id=\"\(section)\">"), "no section \(section)")
        }
        #expect(!html.contains("不能衡量推送的效果"), "the campaign held out a control group")

        // Each section's height, logged by a script in a copy of the page.
        let probe = try TemporaryPage(
            html: html.replacingOccurrences(
                of: "</body>",
                with: """
                    <script>function m() { for (const s of document.querySelectorAll("main>section"))
                    console.log("section " + s.id + " " + Math.ceil(s.getBoundingClientRect().height)); }
                    addEventListener("load", m); addEventListener("resize", m);</script></body>
                    """), name: "probe.html")
        defer { probe.remove() }
        let measured = try await chromium.load(
            probe.url, width: Self.width, height: 900,
            screenshot: probe.directory.appendingPathComponent("probe.png").path)
        var heights: [String: Int] = [:]
        for message in measured.consoleMessages where message.hasPrefix("\"section ") {
            let words = message.dropFirst().prefix { $0 != "\"" }.split(separator: " ")
            if words.count == 3, let height = Int(words[2]) { heights[String(words[1])] = height }
        }
        try #require(Set(heights.keys) == Set(Self.sections), "\(measured.consoleMessages)")

        // Each section alone: the page with the others hidden, in a window as tall as the section.
        for section in Self.sections {
            let height = try #require(heights[section])
            #expect(height > 80 && height < 4000, "\(section) is \(height) px tall")
            let alone = try TemporaryPage(
                html: html.replacingOccurrences(
                    of: "</head>",
                    with: "<style>header,footer,main>section:not(#\(section)){display:none}"
                        + "main{padding-top:16px}</style></head>"), name: "\(section).html")
            defer { alone.remove() }
            let shot = Chromium.screenshots.appendingPathComponent("report-\(section).png").path
            let shown = try await chromium.load(alone.url, width: Self.width, height: height + 34, screenshot: shot)
            #expect(shown.consoleMessages.isEmpty && shown.requests.isEmpty, "\(section)")
            let png = try PNGInfo(path: shot)
            #expect(png.width == Self.width && png.height == height + 34)
            print("report section \(section) (\(Self.width)x\(height + 34)): \(shot)")
        }
    }
}
