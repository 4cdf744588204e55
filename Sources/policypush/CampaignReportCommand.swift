import Config
import Daemon
import Foundation
import Planning
import Report
import Rules
import Storage

/// `campaign report ID`: what became of a campaign's messages, optionally one CSV row each.
struct CampaignReportCommand: Command {
    static let spec = CommandSpec(
        path: ["campaign", "report"],
        summary: "Report what became of a campaign's messages; --csv writes one row per message.",
        arguments: ["ID"],
        options: [
            .flag("--json", "Print one JSON object for scripts."),
            .option("--csv", "FILE", "Write one row per message (recipients masked) to FILE."),
            .option("--html", "FILE", "Write the report as one self-contained HTML page with charts to FILE."),
            .option(
                "--window", "DAYS",
                "With --json or --html: claims within DAYS days from the start day count in `effect` (default 90)."),
        ])

    let id: Int64
    let json: Bool
    let csv: String?
    let html: String?
    let window: Int

    init(_ arguments: ParsedArguments) throws(UsageError) {
        id = try CampaignSupport.parseID(arguments)
        json = arguments.flag("--json")
        csv = arguments.value("--csv")
        if let csv, csv.isEmpty { throw arguments.usageError("--csv expects a file name") }
        html = arguments.value("--html")
        if let html, html.isEmpty { throw arguments.usageError("--html expects a file name") }
        window = try arguments.int("--window", default: 90, in: 1...3660) ?? 90
    }

    func run(_ context: Context) async throws -> Int32 {
        let workspace = Workspace(configuration: try context.configuration())
        let zone = workspace.configuration.timeZone
        let store = try CampaignSupport.openForReading(workspace)
        let record = try CampaignSupport.campaign(id, in: store)
        let report = try store.report(campaignID: id)
        let fold = try store.coverage(campaignID: id)
        let coverage = fold.counts
        let replies = try store.replies(campaignID: id)
        let replyCounts = ReplyCounts(total: replies.count, optOuts: replies.filter(\.optOut).count)
        let opens = try store.openReport(campaignID: id)
        var rows: Int?
        if let csv {
            rows = try MessageCSV.write(
                store: store, campaignID: id, to: csv, zone: zone, configuration: workspace.configuration)
        }
        // The breakdowns cost a sorted pass over the messages: only for the outputs that show them.
        var document: ReportJSON?
        if json || html != nil {
            let details = ReportDetails(
                report, coverage: fold, breakdown: try store.coverageBreakdown(campaignID: id),
                activity: try store.activity(campaignID: id, utcOffsetSeconds: zone.secondsFromGMT()), zone: zone)
            var doc = ReportJSON(
                record, report, coverage: coverage, replies: replyCounts, opened: opens, details: details, zone: zone)
            doc.funnel.opened = try store.openedEnterprises(campaignID: id).count
            doc.effect = try ReportJSON.effect(record, store: store, windowDays: window, zone: zone)
            let (catalog, _) = workspace.loadPolicies()
            doc.policyTitles = Dictionary(
                uniqueKeysWithValues: record.spec.policyIDs.compactMap { id in
                    catalog.entry(id: id).map { (id, $0.profile.shortTitle) }
                })
            document = doc
        }
        if let html, let document {
            let page = try ReportHTML.render(
                document, bureau: try? workspace.loadTemplates().sms.signature,
                command: "policypush campaign report \(id) --html \(html)", zone: zone)
            try OutputFile.write(to: html, configuration: workspace.configuration) { handle in
                try handle.write(contentsOf: Data(page.utf8))
            }
        }
        if json, let document {
            try Output.json(document)
        } else {
            ReportText.print(record, report, coverage: coverage, replies: replyCounts, opened: opens)
        }
        if let csv, let rows {
            // With --json, stdout holds the JSON alone.
            let note = "Wrote \(rows) message row(s) to \(csv)."
            if json { Output.err(note) } else { Output.out(note) }
        }
        if let html {
            let note = "Wrote the HTML report to \(html)."
            if json { Output.err(note) } else { Output.out(note) }
        }
        return 0
    }
}

/// Replies attached to a campaign: opt-outs, and the rest someone must read (`campaign replies`).
struct ReplyCounts: Encodable {
    var total: Int
    var optOuts: Int
}

/// The report as JSON; keys that come from data (reasons, gateways) are values, not keys,
/// so the encoder's snake-case conversion leaves them as they are.
struct ReportJSON: Encodable {
    struct Count: Encodable {
        var name: String
        var count: Int
    }
    struct Breakdown: Encodable {
        var name: String
        var counts: [String: Int]
    }
    struct Latency: Encodable {
        var p50Seconds: Double
        var p90Seconds: Double
        var p99Seconds: Double
        var count: Int
    }

    var campaign: CampaignJSON
    var total: Int
    var byState: [String: Int]
    var byPolicy: [Breakdown]
    var byChannel: [Breakdown]
    var byGateway: [Breakdown]
    var failureReasons: [Count]
    var suppressedByReason: [Count]
    var receiptLatency: Latency?
    /// Enterprises rather than messages: the same counts as `campaign unreached`.
    var coverage: CoverageJSON
    var replies: ReplyCounts
    /// Packages whose page was opened (see `OpensJSON`).
    var opened: OpensJSON
    var funnel: CampaignReportModel.Funnel
    var coverageByRegion: [CampaignReportModel.GroupCoverage]
    var coverageByPolicy: [CampaignReportModel.GroupCoverage]
    var receiptLatencyHistogram: [CampaignReportModel.LatencyBucket]
    var failuresByGateway: [CampaignReportModel.GatewayFailures]
    var timeline: CampaignReportModel.Timeline?
    /// 跟踪问效 (`campaign effect`'s JSON), when the campaign held out a control group or some
    /// eligible enterprise claimed one of its policies in the window; absent otherwise.
    var effect: CampaignEffect?
    /// Policy short titles by id, from the policy profiles as they are now (the page labels with them).
    var policyTitles: [String: String] = [:]

    init(
        _ record: CampaignRecord, _ r: CampaignReport, coverage: Coverage.Counts, replies: ReplyCounts,
        opened: OpenReport, details: ReportDetails, zone: TimeZone
    ) {
        func breakdown(_ d: [String: [MessageState: Int]]) -> [Breakdown] {
            d.keys.sorted().map { Breakdown(name: $0, counts: CampaignSupport.named(d[$0]!)) }
        }
        func counts(_ d: [String: Int]) -> [Count] {
            d.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { Count(name: $0.key, count: $0.value) }
        }
        campaign = CampaignJSON(record, zone: zone)
        total = r.total
        byState = CampaignSupport.named(r.byState)
        byPolicy = breakdown(r.byPolicy)
        byChannel = breakdown(CampaignSupport.byChannelName(r.byChannel))
        byGateway = breakdown(r.byGateway)
        failureReasons = counts(r.failureReasons)
        suppressedByReason = counts(r.suppressedByReason)
        receiptLatency = r.receiptLatency.map {
            Latency(p50Seconds: $0.p50, p90Seconds: $0.p90, p99Seconds: $0.p99, count: $0.count)
        }
        self.coverage = CoverageJSON(coverage)
        self.replies = replies
        self.opened = OpensJSON(opened)
        funnel = details.funnel
        coverageByRegion = details.coverageByRegion
        coverageByPolicy = details.coverageByPolicy
        receiptLatencyHistogram = details.receiptLatencyHistogram
        failuresByGateway = details.failuresByGateway
        timeline = details.timeline
    }
}

extension ReportJSON {
    /// The campaign's effect figures, or `nil` when there is nothing to show: no control group
    /// and not one claim in the window.
    static func effect(
        _ record: CampaignRecord, store: any PolicyPushStore, windowDays: Int, zone: TimeZone
    ) throws -> CampaignEffect? {
        let effect = try CampaignEffect.load(campaign: record, store: store, windowDays: windowDays, zone: zone)
        let claims = effect.policies.reduce(0) { $0 + $1.pushed.claimed + $1.control.claimed }
        return effect.measuresEffect || claims > 0 ? effect : nil
    }
}

enum ReportText {
    static func print(
        _ record: CampaignRecord, _ r: CampaignReport, coverage: Coverage.Counts, replies: ReplyCounts,
        opened: OpenReport
    ) {
        Output.out(
            "Campaign \(record.id) '\(record.spec.name)': \(CampaignSupport.stateText(record)), \(r.total) message(s)")
        section("By state", r.byState.isEmpty ? [] : [(label: "all", counts: r.byState)])
        section("By policy", r.byPolicy.keys.sorted().map { ($0, r.byPolicy[$0]!) })
        let byChannel = CampaignSupport.byChannelName(r.byChannel)
        section("By channel", byChannel.keys.sorted().map { ($0, byChannel[$0]!) })
        section("By gateway", r.byGateway.keys.sorted().map { ($0, r.byGateway[$0]!) })
        list("Failure reasons", r.failureReasons)
        list("Suppressed", r.suppressedByReason)
        Output.out("Receipt latency (accepted to delivered):")
        if let l = r.receiptLatency {
            Output.out(
                String(format: "  p50 %.1fs  p90 %.1fs  p99 %.1fs  over %d delivered", l.p50, l.p90, l.p99, l.count))
        } else {
            Output.out("  no delivered message with a receipt yet")
        }
        CoverageText.print(coverage)
        OpensText.print(opened)
        Output.out(
            "Replies: \(replies.total), of which \(replies.optOuts) opt-out(s); the others: policypush campaign replies \(record.id)"
        )
    }

    private static func section(_ title: String, _ rows: [(label: String, counts: [MessageState: Int])]) {
        Output.out("\(title):")
        if rows.isEmpty { Output.out("  none") }
        let width = rows.map(\.label.count).max() ?? 0
        for row in rows {
            let total = row.counts.values.reduce(0, +)
            Output.out(
                "  " + row.label.padding(toLength: width, withPad: " ", startingAt: 0) + String(total).leftPadded(8)
                    + "  " + CampaignSupport.countsText(row.counts))
        }
    }

    private static func list(_ title: String, _ counts: [String: Int]) {
        Output.out("\(title):")
        if counts.isEmpty { Output.out("  none") }
        let width = counts.keys.map(\.count).max() ?? 0
        for (name, n) in counts.sorted(by: { ($0.value, $1.key) > ($1.value, $0.key) }) {
            Output.out("  " + name.padding(toLength: width, withPad: " ", startingAt: 0) + String(n).leftPadded(8))
        }
    }
}

/// One CSV row per message, recipients masked.
enum MessageCSV {
    static let header = [
        "id", "idempotency_key", "credit_code", "channel", "recipient", "policies", "state", "gateway", "provider_id",
        "last_error", "suppression_reason", "attempts", "created_at", "first_attempt_at", "next_attempt_at",
        "updated_at",
    ]

    /// Writes the file (through ``OutputFile``: complete or not at all) and returns how many rows it holds.
    static func write(
        store: some OutboxStore, campaignID: Int64, to path: String, zone: TimeZone, configuration: Configuration
    ) throws -> Int {
        var rows = 0
        try OutputFile.write(to: path, configuration: configuration) { handle in
            rows = try write(store: store, campaignID: campaignID, into: handle, zone: zone)
        }
        return rows
    }

    private static func write(
        store: some OutboxStore, campaignID: Int64, into handle: FileHandle, zone: TimeZone
    ) throws -> Int {
        var buffer = header.joined(separator: ",") + "\r\n"
        var rows = 0
        try store.forEachMessage(campaignID: campaignID, withEvents: true) { m, events in
            let fields: [String] = [
                String(m.id), m.idempotencyKey, m.creditCode, CampaignSupport.channelName(m.channel),
                CampaignSupport.maskedRecipient(m.recipient, channel: m.channel), m.policyIDs.joined(separator: ";"),
                m.state.rawValue, m.gateway ?? "", m.providerID ?? "", m.lastError ?? "", m.suppressionReason ?? "",
                String(m.attempts), CampaignSupport.isoTime(events?.first?.at, zone) ?? "",
                CampaignSupport.isoTime(m.firstAttemptAt, zone) ?? "",
                CampaignSupport.isoTime(m.nextAttemptAt, zone) ?? "",
                CampaignSupport.isoTime(events?.last?.at, zone) ?? "",
            ]
            buffer += fields.map(escape).joined(separator: ",") + "\r\n"
            rows += 1
            if buffer.utf8.count > 1 << 16 {
                try handle.write(contentsOf: Data(buffer.utf8))
                buffer = ""
            }
        }
        try handle.write(contentsOf: Data(buffer.utf8))
        return rows
    }

    /// One CSV record (CRLF-terminated) of `fields`, each escaped.
    static func record(_ fields: [String]) -> String {
        fields.map(escape).joined(separator: ",") + "\r\n"
    }

    /// RFC 4180 quoting; a leading `=`, `+`, `-` or `@` is prefixed with `'` so spreadsheets
    /// do not run it as a formula.
    static func escape(_ field: String) -> String {
        var field = field
        if let first = field.first, "=+-@".contains(first) { field = "'" + field }
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
