import Foundation
import Report
import Testing

@Suite struct CampaignReportPageTests {
    @Test func everyFigureOnThePageIsTheModels() throws {
        let model = ReportFixture.model()
        let html = ReportFixture.page.render(model)
        let json = try ReportFixture.json(model)
        #expect(FigureCheck.mismatches(html: html, json: json) == [])
        let paths = Set(FigureMarkers.figures(in: html).map(\.path))
        // The headline figures of each section are tagged, not merely drawn.
        for path in [
            "coverage.qualified", "coverage.delivered", "funnel.planned", "funnel.sent", "funnel.delivered",
            "funnel.suppressed[opted_out].count", "funnel.undelivered[unconfirmed].count",
            "coverageByRegion[朝阳区].delivered", "coverageByRegion[<b>海淀区</b>].qualified",
            "coverageByPolicy[vat-small].delivered", "effect.policies[policyID=vat-small].control.claimed",
            "effect.policies[policyID=vat-small].delivered.enterprises",
            "effect.policies[policyID=rd-plus].pushed.opened",
            "effect.policies[policyID=vat-small].difference.lower",
            "effect.policies[policyID=vat-small].pushed.amountFen",
            "funnel.opened", "opened.opened", "opened.views", "opened.byRegion[#2].delivered",
            "opened.byPolicy[#1].opened",
            "opened.byChannel[#1].opened", "opened.byClientClass.desktop",
            "receiptLatency.p90Seconds", "receiptLatencyHistogram[#1].count", "timeline.buckets[#0].sent",
            "timeline.buckets[#9].failed", "failuresByGateway[aliyun].reasons[isv.MOBILE_NUMBER_ILLEGAL].count",
            "failuresByGateway[tencent].reasons[FailedOperation.<x>].count", "replies.optOuts",
            "byState.unconfirmed",
        ] {
            #expect(paths.contains(path), "missing \(path)")
        }
        #expect(FigureMarkers.ratios(in: html).count >= 10)
    }

    @Test func aFigureThatDiffersFromTheJSONIsFound() throws {
        let model = ReportFixture.model()
        var other = model
        other.coverageByRegion[2].delivered = 874
        let html = ReportFixture.page.render(other)
        let problems = FigureCheck.mismatches(html: html, json: try ReportFixture.json(model))
        #expect(problems.contains { $0.hasPrefix("coverageByRegion[朝阳区].delivered: page 874") })
        #expect(problems.contains { $0.hasPrefix("coverageByRegion[朝阳区].delivered/") })
    }

    @Test func isOneSelfContainedFileWithASectionPerPart() {
        let html = ReportFixture.page.render(ReportFixture.model())
        #expect(!html.lowercased().contains("<script"))
        #expect(!html.contains("http://") && !html.contains("https://"))
        for attribute in ["src=", "href=", "@import", "<link", "<img", "<iframe"] {
            #expect(!html.contains(attribute), "\(attribute)")
        }
        // The only url() is the hatch pattern, a fragment of the page itself.
        #expect(html.components(separatedBy: "url(").dropFirst().allSatisfy { $0.hasPrefix("#") })
        for id in ["overview", "funnel", "policies", "effect", "opens", "regions", "delivery", "replies", "versions"] {
            #expect(html.contains("<section id=\"\(id)\">"), "\(id)")
        }
        #expect(html.utf8.count < 120_000)
        #expect(html.contains("北京市朝阳区税务局"))
        #expect(html.contains("policypush campaign report 42 --html r.html"))
    }

    @Test func escapesEverythingTakenFromData() {
        let html = ReportFixture.page.render(ReportFixture.model())
        #expect(!html.contains("<script>alert(1)</script>"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(!html.contains("<b>海淀区</b>"))
        #expect(html.contains("&lt;b&gt;海淀区&lt;/b&gt;"))
        #expect(html.contains("同意 &amp; 按计划发送"))
        #expect(html.contains("FailedOperation.&lt;x&gt;"))
    }

    @Test func showsVersionsAndWhoDecided() {
        let html = ReportFixture.page.render(ReportFixture.model())
        for text in [
            "zhang.san", "li.si", "0123456789abcdef", "fedcba9876543210", "a1b2c3d4e5f60718", "2026-03-01 10:15",
        ] {
            #expect(html.contains(text), "\(text)")
        }
        #expect(html.contains("已完成"))
    }

    @Test func effectIsOptional() throws {
        let model = ReportFixture.model(effect: false)
        let html = ReportFixture.page.render(model)
        #expect(!html.contains("effect.") && !html.contains("<section id=\"effect\">"))
        #expect(html.contains("尚未导入申报"))
        #expect(FigureCheck.mismatches(html: html, json: try ReportFixture.json(model)) == [])
    }

    @Test func withoutAControlGroupThePageSaysTheFiguresMeasureNoEffect() throws {
        var model = ReportFixture.model()
        var effect = try #require(model.effect)
        effect.measuresEffect = false
        effect.controlPercent = 0
        for i in effect.policies.indices {
            effect.policies[i].control = .init(enterprises: 0, claimed: 0)
            effect.policies[i].difference = nil
        }
        model.effect = effect
        let html = ReportFixture.page.render(model)
        #expect(html.contains("不能衡量推送的效果"))
        #expect(!html.contains("对照组（未推送）") && !html.contains("difference.") && !html.contains("control."))
        #expect(html.contains("effect.policies[policyID=vat-small].pushed.claimed"))
        #expect(FigureCheck.mismatches(html: html, json: try ReportFixture.json(model)) == [])

        let measured = ReportFixture.page.render(ReportFixture.model())
        #expect(!measured.contains("不能衡量推送的效果") && measured.contains("对照组（未推送）"))
        #expect(measured.contains("+13.2"), "the difference is shown in points with its sign")
    }

    @Test func anEmptyCampaignRendersWithoutChartsOrDivisionByZero() throws {
        var model = ReportFixture.model(effect: false)
        model.opened = .init(
            delivered: 0, opened: 0, views: 0, byPolicy: [], byRegion: [], byChannel: [],
            byClientClass: ["wechat": 0, "mobile": 0, "desktop": 0])
        model.total = 0
        model.byState = [:]
        model.coverage = .init(
            qualified: 0, delivered: 0, toldBefore: 0, inFlight: 0, notReachedTotal: 0, notReached: [])
        model.funnel = .init(
            qualified: 0, planned: 0, sent: 0, delivered: 0, suppressed: [], notSent: [], undelivered: [])
        model.coverageByRegion = []
        model.coverageByPolicy = []
        model.receiptLatency = nil
        model.receiptLatencyHistogram = []
        model.failuresByGateway = []
        model.timeline = nil
        model.replies = .init(total: 0, optOuts: 0)
        let html = ReportFixture.page.render(model)
        #expect(!html.contains("NaN") && !html.contains("inf"))
        #expect(html.contains("尚无带回执的送达消息"))
        // `byState.unconfirmed` is absent from the JSON when no message is unconfirmed: the page shows 0.
        #expect(FigureMarkers.absences(in: html) == ["byState.unconfirmed"])
        #expect(FigureCheck.mismatches(html: html, json: try ReportFixture.json(model)) == [])
    }

    @Test func renderingIsPure() {
        let model = ReportFixture.model()
        #expect(ReportFixture.page.render(model) == ReportFixture.page.render(model))
    }
}
