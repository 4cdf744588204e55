import Foundation
import Planning
import Registry
import Storage

/// `campaign unreached ID`: every enterprise of the audience the campaign did not deliver to,
/// why, and how to reach it, in the order a service team follows them up.
struct CampaignUnreachedCommand: Command {
    static let spec = CommandSpec(
        path: ["campaign", "unreached"],
        summary: "List the enterprises a campaign qualified but did not deliver to, by reason, for follow-up.",
        arguments: ["ID"],
        options: [
            .option("--csv", "FILE", "Also write them to FILE (UTF-8 CSV, contacts masked)."),
            .flag("--include-control", "Also list the control group (held out on purpose, not a miss)."),
            .flag("--json", "Print JSON for scripts."),
        ],
        discussion: """
            An enterprise is reached when one of its messages was delivered. Otherwise its most
            advanced message says why: still in flight (pending, awaiting_receipt), unconfirmed,
            expired, failed (with the error), cancelled, or the planner's suppression (no_contact,
            opted_out with how: a 回T退订 reply, a WeChat unsubscribe, an operator, or the registry
            flag; frequency_cap, no_policy_for_channel, campaign_max). Enterprises already told
            these policies within the de-duplication window are listed apart as told_before.
            Sorted by reason (failures first), then region, then credit code. Enterprises held out
            as the control group (`campaign start --control`) are listed, last, only with
            --include-control.
            """)

    let id: Int64
    let csv: String?
    let includeControl: Bool
    let json: Bool

    init(_ arguments: ParsedArguments) throws(UsageError) {
        id = try CampaignSupport.parseID(arguments)
        csv = arguments.value("--csv")
        includeControl = arguments.flag("--include-control")
        json = arguments.flag("--json")
        if let csv, csv.isEmpty { throw arguments.usageError("--csv expects a file name") }
    }

    static let csvHeader = ["reason", "credit_code", "name", "region", "policies", "mobile", "wechat_openid", "detail"]

    struct Row: Encodable {
        var reason: String
        var creditCode: String
        var name: String?
        var region: String?
        var policies: [String]
        var mobile: String?
        var wechatOpenid: String?
        var detail: String?

        init(_ e: UnreachedEntry) {
            reason = e.reason.rawValue
            creditCode = e.creditCode
            name = e.name.map(RegistryText.escaped)
            region = e.region.map(RegistryText.escaped)
            policies = e.policyIDs
            mobile = e.maskedMobile
            wechatOpenid = e.maskedOpenID
            detail = e.detail.map(RegistryText.escaped)
        }

        var fields: [String] {
            [
                reason, creditCode, name ?? "", region ?? "", policies.joined(separator: ";"), mobile ?? "",
                wechatOpenid ?? "", detail ?? "",
            ]
        }
    }

    func run(_ context: Context) async throws -> Int32 {
        let workspace = Workspace(configuration: try context.configuration())
        let store = try CampaignSupport.openForReading(workspace)
        let record = try CampaignSupport.campaign(id, in: store)
        let (coverage, all) = try store.unreached(campaignID: id, channels: record.spec.channels)
        let entries = includeControl ? all : all.filter { $0.reason != .controlGroup }
        let rows = entries.map(Row.init)
        if let csv {
            var text = MessageCSV.record(Self.csvHeader)
            for row in rows { text += MessageCSV.record(row.fields) }
            try OutputFile.write(text, to: csv, configuration: workspace.configuration)
        }
        let counts = coverage.counts
        if json {
            struct Answer: Encodable {
                var campaign: Int64
                var name: String
                var state: String
                var coverage: CoverageJSON
                var enterprises: [Row]
            }
            try Output.json(
                Answer(
                    campaign: id, name: record.spec.name, state: record.state.rawValue, coverage: CoverageJSON(counts),
                    enterprises: rows))
            if let csv { Output.err("Wrote \(rows.count) enterprise row(s) to \(csv).") }
            return 0
        }
        Output.out(
            "Campaign \(id) '\(RegistryText.escaped(record.spec.name))' (\(CampaignSupport.stateText(record))): "
                + CoverageText.summary(counts))
        var start = rows.startIndex
        while start < rows.endIndex {
            let reason = entries[start].reason
            let end = entries[start...].firstIndex { $0.reason != reason } ?? entries.endIndex
            let note =
                reason == .toldBefore ? ", reached earlier: not a miss" : reason.isInFlight ? ", still in flight" : ""
            Output.out("\(reason.rawValue) (\(end - start)\(note)):")
            for row in rows[start..<end] {
                Output.out(
                    "  \(row.creditCode)  \(row.region ?? "-")  \(row.name ?? "-")  policies \(row.policies.joined(separator: ","))"
                        + "  sms \(row.mobile ?? "-")  wechat \(row.wechatOpenid ?? "-")"
                        + (row.detail.map { "  \($0)" } ?? ""))
            }
            start = end
        }
        if let csv { Output.out("Wrote \(rows.count) enterprise row(s) to \(csv).") }
        return 0
    }
}

/// Coverage counts as `report --json` and `unreached --json` print them.
struct CoverageJSON: Encodable {
    struct Count: Encodable {
        var name: String
        var count: Int
    }

    var qualified: Int
    var delivered: Int
    var toldBefore: Int
    var inFlight: Int
    var controlGroup: Int
    var notReachedTotal: Int
    /// In follow-up order, reasons without enterprises left out.
    var notReached: [Count]

    init(_ c: Coverage.Counts) {
        qualified = c.qualified
        delivered = c.delivered
        toldBefore = c.toldBefore
        inFlight = c.inFlight
        controlGroup = c.controlGroup
        notReachedTotal = c.notReachedTotal
        notReached = CoverageText.misses(c).map { Count(name: $0.reason.rawValue, count: $0.count) }
    }
}

/// Coverage counts as text, the same in `report` and `unreached`.
enum CoverageText {
    /// Misses in follow-up order.
    static func misses(_ c: Coverage.Counts) -> [(reason: ReachReason, count: Int)] {
        c.notReached.sorted { $0.key.followUpRank < $1.key.followUpRank }.map { ($0.key, $0.value) }
    }

    /// `7 qualified, 1 delivered, 1 told before, 1 in flight, 4 not reached`.
    static func summary(_ c: Coverage.Counts) -> String {
        "\(c.qualified) qualified, \(c.delivered) delivered, \(c.toldBefore) told before, \(c.inFlight) in flight, "
            + (c.controlGroup > 0 ? "\(c.controlGroup) control group, " : "") + "\(c.notReachedTotal) not reached"
    }

    /// The report's block: one line per count, misses by reason.
    static func print(_ c: Coverage.Counts) {
        Output.out("Coverage (enterprises):")
        let lines: [(String, Int)] =
            [
                ("qualified", c.qualified), ("delivered", c.delivered), ("told before", c.toldBefore),
                ("in flight", c.inFlight),
            ]
            + (c.controlGroup > 0 ? [("control", c.controlGroup)] : []) + [("not reached", c.notReachedTotal)]
        for (label, n) in lines {
            var line = "  " + label.padding(toLength: 11, withPad: " ", startingAt: 0) + String(n).leftPadded(8)
            if label == "not reached", n > 0 {
                line += "  " + misses(c).map { "\($0.reason.rawValue) \($0.count)" }.joined(separator: ", ")
            }
            Output.out(line)
        }
    }
}
