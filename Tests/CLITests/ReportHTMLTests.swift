import Foundation
import Registry
import Report
import Storage
import Testing

/// `campaign report --html FILE`, end to end: a real store, the built binary, and every figure
/// on the page read back and compared with `--json`.
@Suite("policypush campaign report --html")
struct ReportHTMLTests {
    @Test func thePageShowsTheJSONReportsFigures() async throws {
        let cli = try CLIHarness()
        let store = try SQLiteStore(path: cli.file("policypush.sqlite"))
        let at = Date(timeIntervalSince1970: 1_772_413_200)  // 2026-03-02 09:00 +08:00
        let codes = (0..<6).map { "91440300MA5F0000\($0)X" }
        let regions = ["南山", "南山", "福田", "<script>x</script>", "福田", "南山"]
        let registry = codes.indices.map {
            Enterprise(creditCode: codes[$0], name: "公司\($0)", region: regions[$0], mobile: "1380000000\($0)")
        }
        _ = try store.importEnterprises(file: "r.csv", replace: false) { sink in
            try sink(registry)
            return RejectedRows()
        }
        let spec = CampaignSpec(
            name: "一季度 <b>推送</b>", policyIDs: ["small_low_profit", "rd_plus"], channels: [.sms], fallback: false,
            startAt: at, campaignDate: "2026-03-02", policyVersions: ["small_low_profit": "00112233aabbccdd"],
            templateVersion: "t0123456789abcde", controlPercent: 25, controlSeed: "fixed")
        let id = try store.createCampaign(spec)
        try store.applyCampaignState(id: id, .planning, at: at)
        try store.applyCampaignState(id: id, .running, at: at)
        func message(_ n: Int, policies: [String], state: MessageState = .queued, reason: String? = nil) -> NewMessage {
            NewMessage(
                campaignID: id, creditCode: codes[n], channel: state == .suppressed ? nil : .sms,
                recipient: registry[n].mobile ?? "", policyIDs: policies, payload: Array("{}".utf8),
                idempotencyKey: "k\(n)", state: state, suppressionReason: reason, notBefore: at)
        }
        try store.insertMessages([
            message(0, policies: ["small_low_profit", "rd_plus"]), message(1, policies: ["small_low_profit"]),
            message(2, policies: ["small_low_profit"]), message(3, policies: ["rd_plus"]),
            message(4, policies: ["small_low_profit"], state: .suppressed, reason: "no_contact"),
            message(5, policies: ["rd_plus"], state: .suppressed, reason: "opted_out"),
        ])
        let claimed = Dictionary(
            uniqueKeysWithValues: try store.claimDue(now: at, limit: 4).map { ($0.creditCode, $0.id) })
        let m = try (0..<4).map { try #require(claimed[codes[$0]]) }
        try store.record(
            m.map { Transition(messageID: $0, to: .sending, at: at, gateway: "aliyun", countsAsAttempt: true) })
        try store.record([
            Transition(messageID: m[0], to: .accepted, at: at, gateway: "aliyun", providerID: "p0"),
            Transition(messageID: m[1], to: .accepted, at: at, gateway: "aliyun", providerID: "p1"),
            Transition(messageID: m[2], to: .failed, at: at.addingTimeInterval(60), gateway: "aliyun", error: "isv.X"),
            Transition(messageID: m[3], to: .accepted, at: at, gateway: "aliyun", providerID: "p3"),
        ])
        try store.record([
            Transition(messageID: m[0], to: .delivered, at: at.addingTimeInterval(3), gateway: "aliyun"),
            Transition(messageID: m[1], to: .delivered, at: at.addingTimeInterval(40), gateway: "aliyun"),
        ])
        // Opens: enterprise 0 opened its package twice (one open, two views).
        _ = try store.recordOpen(messageID: m[0], campaignID: id, client: .wechat, at: at.addingTimeInterval(600))
        _ = try store.recordOpen(messageID: m[0], campaignID: id, client: .wechat, at: at.addingTimeInterval(900))
        // 跟踪问效: the six pushed enterprises, and two held out as the control group (no message).
        let control = ["91440300MA5F00C01X", "91440300MA5F00C02X"]
        try store.insertGroupAssignments(
            codes.indices.map { n in
                GroupAssignment(
                    campaignID: id, creditCode: codes[n],
                    policyIDs: [0, 3, 5].contains(n)
                        ? ["rd_plus"] + (n == 0 ? ["small_low_profit"] : []) : ["small_low_profit"],
                    control: false, plannedReason: n == 4 ? "no_contact" : n == 5 ? "opted_out" : nil)
            }
                + control.map {
                    GroupAssignment(
                        campaignID: id, creditCode: $0, policyIDs: ["small_low_profit", "rd_plus"], control: true,
                        plannedReason: nil)
                })
        let day = { (text: String) in try #require(LocalDate(iso: text)) }
        _ = try store.upsertUptake(
            [
                UptakeClaim(
                    creditCode: codes[0], policyID: "small_low_profit", claimedOn: try day("2026-03-05"),
                    amountFen: 123_450),
                UptakeClaim(
                    creditCode: codes[1], policyID: "small_low_profit", claimedOn: try day("2026-03-09"), amountFen: nil
                ),
                UptakeClaim(
                    creditCode: control[0], policyID: "small_low_profit", claimedOn: try day("2026-03-20"),
                    amountFen: 5_000),
                UptakeClaim(creditCode: codes[3], policyID: "rd_plus", claimedOn: try day("2026-07-01"), amountFen: 1),
            ], source: "u.csv", at: at)

        let page = cli.file("report.html")
        let html = try await cli.run("campaign", "report", String(id), "--html", page)
        #expect(html.status == 0, "\(html.stderr)")
        #expect(html.stdout.contains("Wrote the HTML report to \(page)."), "\(html.stdout)")
        let json = try await cli.run("campaign", "report", String(id), "--json")
        #expect(json.status == 0, "\(json.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8))
        let text = try String(contentsOfFile: page, encoding: .utf8)

        // Every tagged figure and percentage equals the JSON report's.
        let figures = FigureMarkers.figures(in: text)
        #expect(figures.count > 40)
        for marker in figures {
            let value = FigureMarkers.value(at: marker.path, in: object, snakeCase: true) as? NSNumber
            let shown = FigureMarkers.number(marker.text)
            #expect(value != nil && shown != nil, "\(marker.path)")
            if let value, let shown {
                #expect(abs(value.doubleValue * marker.scale - shown) <= 0.05 + 1e-9, "\(marker.path)")
            }
        }
        for path in FigureMarkers.absences(in: text) {
            #expect(FigureMarkers.value(at: path, in: object, snakeCase: true) == nil, "\(path)")
        }
        for ratio in FigureMarkers.ratios(in: text) {
            let part = try #require(FigureMarkers.value(at: ratio.part, in: object, snakeCase: true) as? NSNumber)
            let whole = try #require(FigureMarkers.value(at: ratio.whole, in: object, snakeCase: true) as? NSNumber)
            let expected = whole.doubleValue > 0 ? part.doubleValue * 100 / whole.doubleValue : nil
            #expect(expected.map { abs($0 - (FigureMarkers.number(ratio.text) ?? -1)) <= 0.05 } ?? (ratio.text == "—"))
        }

        // The new parts of the JSON report, computed from the store.
        func value(_ path: String) -> Int? {
            FigureMarkers.value(at: path, in: object, snakeCase: true) as? Int
        }
        #expect(value("funnel.qualified") == 6 && value("funnel.planned") == 4 && value("funnel.sent") == 4)
        #expect(value("funnel.delivered") == 2 && value("funnel.suppressed[no_contact].count") == 1)
        #expect(value("funnel.undelivered[failed].count") == 1)
        #expect(value("funnel.undelivered[awaiting_receipt].count") == 1)
        #expect(value("coverageByRegion[南山].qualified") == 3 && value("coverageByRegion[南山].delivered") == 2)
        #expect(value("coverageByRegion[福田].qualified") == 2 && value("coverageByRegion[福田].delivered") == 0)
        #expect(value("coverageByPolicy[rd_plus].qualified") == 3 && value("coverageByPolicy[rd_plus].delivered") == 1)
        #expect(value("coverageByPolicy[small_low_profit].delivered") == 2)
        #expect(value("receiptLatencyHistogram[#0].count") == 1 && value("receiptLatencyHistogram[#3].count") == 1)
        #expect(value("failuresByGateway[aliyun].reasons[isv.X].count") == 1)
        #expect(value("timeline.bucketSeconds") == 60)
        #expect(value("timeline.buckets[#0].sent") == 4 && value("timeline.buckets[#0].delivered") == 2)
        #expect(value("timeline.buckets[#1].failed") == 1)
        #expect(value("funnel.opened") == 1 && value("opened.opened") == 1 && value("opened.views") == 2)
        #expect(value("opened.byClientClass.wechat") == 1 && value("opened.byPolicy[#1].opened") == 1)
        let small = "effect.policies[policyID=small_low_profit]"
        #expect(value("effect.windowDays") == 90 && value("\(small).pushed.enterprises") == 4)
        #expect(value("\(small).pushed.claimed") == 2 && value("\(small).pushed.opened") == 1)
        #expect(value("\(small).control.enterprises") == 2 && value("\(small).control.claimed") == 1)
        #expect(value("\(small).pushed.amountFen") == 123_450)
        #expect(value("effect.policies[policyID=rd_plus].pushed.claimed") == 0, "the claim after the window")
        // The effect section shows them, tagged: the page's figures are checked against --json above.
        let tagged = Set(figures.map(\.path))
        for path in [
            "\(small).pushed.claimed", "\(small).control.claimed", "\(small).difference.estimate",
            "\(small).difference.lower", "\(small).pushed.amountFen", "\(small).delivered.enterprises", "funnel.opened",
            "opened.byRegion[#0].delivered", "opened.byChannel[#0].opened",
        ] {
            #expect(tagged.contains(path), "\(path) is not on the page")
        }
        #expect(text.contains("<section id=\"effect\">") && text.contains("<section id=\"opens\">"))
        #expect(!text.contains("不能衡量推送的效果"))
        let narrow = try await cli.run("campaign", "report", String(id), "--json", "--window", "4")
        let narrowed = try JSONSerialization.jsonObject(with: Data(narrow.stdout.utf8))
        #expect(FigureMarkers.value(at: "\(small).pushed.claimed", in: narrowed, snakeCase: true) as? Int == 1)

        // Self-contained and escaped.
        #expect(!text.lowercased().contains("<script") && !text.contains("https://") && !text.contains("http://"))
        #expect(text.contains("一季度 &lt;b&gt;推送&lt;/b&gt;") && text.contains("00112233aabbccdd"))
    }

    @Test func anEmptyFileNameIsAUsageError() async throws {
        let cli = try CLIHarness()
        let result = try await cli.run("campaign", "report", "1", "--html", "")
        #expect(result.status == 64, "\(result.stderr)")
    }
}
