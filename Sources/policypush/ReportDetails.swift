import Foundation
import Report
import Storage

/// The parts of `campaign report` the JSON and the HTML page share beyond the message counts:
/// the funnel, coverage by region and policy, the latency histogram, failures by gateway, the
/// timeline. Typed as the page's model, so `--json` prints what `--html` draws.
struct ReportDetails {
    var funnel: CampaignReportModel.Funnel
    var coverageByRegion: [CampaignReportModel.GroupCoverage]
    var coverageByPolicy: [CampaignReportModel.GroupCoverage]
    var receiptLatencyHistogram: [CampaignReportModel.LatencyBucket]
    var failuresByGateway: [CampaignReportModel.GatewayFailures]
    var timeline: CampaignReportModel.Timeline?

    init(
        _ report: CampaignReport, coverage: Coverage, breakdown: CoverageBreakdown, activity: ActivityTimeline?,
        zone: TimeZone
    ) {
        let f = CoverageFunnel(byReason: coverage.byReason)
        func counts(_ d: [ReachReason: Int]) -> [CampaignReportModel.Count] {
            d.sorted { $0.key.followUpRank < $1.key.followUpRank }.map { .init(name: $0.key.rawValue, count: $0.value) }
        }
        funnel = .init(
            qualified: f.qualified, planned: f.planned, sent: f.sent, delivered: f.delivered,
            suppressed: counts(f.suppressed), notSent: counts(f.notSent), undelivered: counts(f.undelivered))
        func groups(_ d: [String: Coverage.Counts]) -> [CampaignReportModel.GroupCoverage] {
            d.keys.sorted().map { .init(name: $0, qualified: d[$0]!.qualified, delivered: d[$0]!.delivered) }
        }
        coverageByRegion = groups(breakdown.byRegion)
        coverageByPolicy = groups(breakdown.byPolicy)
        receiptLatencyHistogram = report.latencyHistogram.map {
            .init(fromSeconds: $0.fromSeconds, toSeconds: $0.toSeconds, count: $0.count)
        }
        failuresByGateway = report.failuresByGateway.keys.sorted().map { gateway in
            let reasons = report.failuresByGateway[gateway]!
            return .init(
                name: gateway, total: reasons.values.reduce(0, +),
                reasons: reasons.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map {
                    .init(name: $0.key, count: $0.value)
                })
        }
        timeline = activity.map { a in
            .init(
                bucketSeconds: a.bucketSeconds,
                buckets: a.buckets.map {
                    .init(
                        start: CampaignSupport.isoTime($0.start, zone) ?? "", sent: $0.sent, delivered: $0.delivered,
                        failed: $0.failed)
                })
        }
    }
}

/// `campaign report --html FILE`: the page, rendered from the JSON report's own bytes.
enum ReportHTML {
    /// Encodes `report` as `--json` does (keys left as declared) and decodes it as the page's
    /// model, so a figure on the page cannot differ from the JSON's.
    static func render(_ report: ReportJSON, bureau: String?, command: String, zone: TimeZone) throws -> String {
        let model = try JSONDecoder().decode(CampaignReportModel.self, from: JSONEncoder().encode(report))
        let page = CampaignReportPage(
            bureau: bureau, generatedAt: CampaignSupport.isoTime(Date(), zone) ?? "",
            command: command)
        return page.render(model)
    }
}
