import Foundation
import Report

/// A hand-built report with every part present, names that need escaping, a zero region and
/// effect figures with a control group: the page's worst ordinary day.
enum ReportFixture {
    typealias M = CampaignReportModel

    static func model(effect: Bool = true) -> CampaignReportModel {
        M(
            campaign: M.Campaign(
                id: 42, name: "2026年一季度 <script>alert(1)</script> 小微企业", state: "completed",
                createdAt: "2026-03-01T09:00:00+08:00", createdBy: "zhang.san", approvedBy: "li.si",
                decidedAt: "2026-03-01T10:15:00+08:00", decisionNote: "同意 & 按计划发送",
                startAt: "2026-03-02T09:00:00+08:00",
                finishedAt: "2026-03-02T18:00:00+08:00", campaignDate: "2026-03-02",
                policies: ["vat-small", "rd-plus"],
                channels: ["sms", "wechat"],
                policyVersions: ["vat-small": "0123456789abcdef", "rd-plus": "fedcba9876543210"],
                templateVersion: "a1b2c3d4e5f60718"),
            total: 1520,
            byState: ["delivered": 1180, "failed": 60, "expired": 20, "unconfirmed": 7, "suppressed": 253],
            coverage: M.Coverage(
                qualified: 1500, delivered: 1180, toldBefore: 100, inFlight: 0, notReachedTotal: 220,
                notReached: [
                    .init(name: "failed", count: 60), .init(name: "expired", count: 20),
                    .init(name: "unconfirmed", count: 7), .init(name: "no_contact", count: 90),
                    .init(name: "opted_out", count: 43),
                ]),
            funnel: M.Funnel(
                qualified: 1500, planned: 1267, sent: 1267, delivered: 1180, opened: 600,
                suppressed: [
                    .init(name: "no_contact", count: 90), .init(name: "opted_out", count: 43),
                    .init(name: "told_before", count: 100),
                ],
                notSent: [],
                undelivered: [
                    .init(name: "failed", count: 60), .init(name: "expired", count: 20),
                    .init(name: "unconfirmed", count: 7),
                ]),
            coverageByRegion: [
                .init(name: "", qualified: 20, delivered: 5),
                .init(name: "<b>海淀区</b>", qualified: 400, delivered: 300),
                .init(name: "朝阳区", qualified: 1000, delivered: 875),
                .init(name: "门头沟区", qualified: 80, delivered: 0),
            ],
            coverageByPolicy: [
                .init(name: "rd-plus", qualified: 600, delivered: 500),
                .init(name: "vat-small", qualified: 1200, delivered: 950),
            ],
            receiptLatency: M.Latency(p50Seconds: 2.04, p90Seconds: 8.96, p99Seconds: 61, count: 1180),
            receiptLatencyHistogram: [
                .init(fromSeconds: 0, toSeconds: 5, count: 800), .init(fromSeconds: 5, toSeconds: 10, count: 280),
                .init(fromSeconds: 10, toSeconds: 30, count: 70), .init(fromSeconds: 30, toSeconds: 60, count: 15),
                .init(fromSeconds: 60, toSeconds: 120, count: 10), .init(fromSeconds: 120, toSeconds: 300, count: 5),
                .init(fromSeconds: 300, toSeconds: 600, count: 0), .init(fromSeconds: 600, toSeconds: 1800, count: 0),
                .init(fromSeconds: 1800, toSeconds: 3600, count: 0), .init(fromSeconds: 3600, toSeconds: nil, count: 0),
            ],
            failuresByGateway: [
                .init(
                    name: "aliyun", total: 45,
                    reasons: [
                        .init(name: "isv.MOBILE_NUMBER_ILLEGAL", count: 40), .init(name: "isv.BLACK_KEY", count: 5),
                    ]),
                .init(name: "tencent", total: 15, reasons: [.init(name: "FailedOperation.<x>", count: 15)]),
            ],
            timeline: M.Timeline(
                bucketSeconds: 3600,
                buckets: (0..<10).map { h in
                    .init(
                        start: "2026-03-02T\(String(9 + h).leftPad2):00:00+08:00",
                        sent: [400, 300, 200, 150, 100, 60, 30, 20, 7, 0][h],
                        delivered: [350, 290, 190, 140, 95, 55, 30, 20, 10, 0][h],
                        failed: [10, 12, 8, 10, 8, 6, 4, 2, 0, 0][h])
                }),
            replies: M.Replies(total: 31, optOuts: 12),
            effect: effect
                ? M.Effect(
                    startDay: "2026-03-02", windowDays: 60, windowEnd: "2026-04-30", controlPercent: 10,
                    measuresEffect: true,
                    policies: [
                        .init(
                            policyID: "vat-small",
                            pushed: .init(enterprises: 1100, opened: 610, claimed: 420, amountFen: 123_456_789),
                            delivered: .init(enterprises: 950, claimed: 400, medianDaysFromDelivery: 6.5),
                            control: .init(enterprises: 120, claimed: 30, amountFen: 8_800_000),
                            difference: .init(estimate: 0.1318, lower: 0.0481, upper: 0.2003)),
                        .init(
                            policyID: "rd-plus", pushed: .init(enterprises: 550, opened: 200, claimed: 100),
                            delivered: .init(enterprises: 500, claimed: 98),
                            control: .init(enterprises: 60, claimed: 12),
                            difference: .init(estimate: -0.0182, lower: -0.1203, upper: 0.0602)),
                    ])
                : nil,
            opened: M.Opens(
                delivered: 1180, opened: 640, views: 1010,
                byPolicy: [
                    .init(name: "rd-plus", delivered: 500, opened: 200),
                    .init(name: "vat-small", delivered: 950, opened: 610),
                ],
                byRegion: [
                    .init(name: "<b>海淀区</b>", delivered: 300, opened: 120),
                    .init(name: "朝阳区", delivered: 875, opened: 518), .init(name: nil, delivered: 5, opened: 2),
                ],
                byChannel: [
                    .init(name: "sms", delivered: 1000, opened: 520),
                    .init(name: "wechat", delivered: 180, opened: 120),
                ],
                byClientClass: ["wechat": 300, "mobile": 310, "desktop": 30]),
            policyTitles: ["vat-small": "小规模纳税人增值税减免", "rd-plus": "研发费用加计扣除"])
    }

    /// The model as the JSON report holds it (keys as declared), parsed.
    static func json(_ model: CampaignReportModel) throws -> Any {
        try JSONSerialization.jsonObject(with: JSONEncoder().encode(model))
    }

    static let page = CampaignReportPage(
        bureau: "北京市朝阳区税务局", generatedAt: "2026-03-03 08:00", command: "policypush campaign report 42 --html r.html")
}

extension String {
    fileprivate var leftPad2: String { count < 2 ? "0" + self : self }
}
