import Foundation
import Kit
import Planning
import Registry
import Rules
import Storage

/// `campaign effect ID`: 跟踪问效, whether the push made eligible enterprises claim the relief.
struct CampaignEffectCommand: Command {
    static let spec = CommandSpec(
        path: ["campaign", "effect"],
        summary: "跟踪问效: uptake per policy, pushed vs control, with the difference and its 95% interval.",
        arguments: ["ID"],
        options: [
            .option("--window", "DAYS", "Claims within DAYS days from the campaign's start day count (default 90)."),
            .flag("--json", "Print JSON for scripts."),
        ],
        discussion: """
            Per policy, among the enterprises eligible for it when the campaign was planned: the share
            that claimed it (`uptake import`) from the start day through the window, in the pushed
            group (all of it, then split: delivered / not delivered; with how many opened their package
            page) and in the control group held out
            with `campaign start --control`. The difference pushed − control comes with a 95% interval
            by Newcombe's hybrid score method (Wilson intervals of each share). Also the median days
            from delivery to claim, the relief amount claimed, and how many of each group planning
            suppressed (frequency caps, de-duplication, opt-outs). Without a control group the figures
            are descriptive and do not measure an effect.
            """)

    let id: Int64
    let window: Int
    let json: Bool

    init(_ arguments: ParsedArguments) throws(UsageError) {
        id = try CampaignSupport.parseID(arguments)
        window = try arguments.int("--window", default: 90, in: 1...3660) ?? 90
        json = arguments.flag("--json")
    }

    func run(_ context: Context) async throws -> Int32 {
        let workspace = Workspace(configuration: try context.configuration())
        let store = try CampaignSupport.openForReading(workspace)
        let record = try CampaignSupport.campaign(id, in: store)
        let effect = try CampaignEffect.load(
            campaign: record, store: store, windowDays: window, zone: workspace.configuration.timeZone)
        if json {
            try Output.json(effect)
            return 0
        }
        let (catalog, _) = workspace.loadPolicies()
        EffectText.print(effect, titles: { catalog.entry(id: $0)?.profile.title })
        return 0
    }
}

/// The effect as text.
enum EffectText {
    static func print(_ e: CampaignEffect, titles: (String) -> String?) {
        Output.out(
            "跟踪问效 Campaign \(e.campaign) '\(RegistryText.escaped(e.name))': claims \(e.startDay) to \(e.windowEnd) (\(e.windowDays) days)"
                + (e.controlPercent > 0 ? ", control group \(ControlText.percent(e.controlPercent)) %" : ""))
        Output.out(e.note)
        for p in e.policies {
            Output.out("")
            Output.out("\(p.policyID)  \(titles(p.policyID).map(RegistryText.escaped) ?? "")  (eligible \(p.eligible))")
            Output.out(
                "  " + "group".padding(toLength: 22, withPad: " ", startingAt: 0) + "enterprises".leftPadded(12)
                    + "opened".leftPadded(8) + "claimed".leftPadded(9) + "share".leftPadded(8)
                    + "  95% CI".padding(toLength: 17, withPad: " ", startingAt: 0)
                    + "amount (yuan)".leftPadded(16) + "  median days")
            let rows: [(String, CampaignEffect.Group, Bool)] = [
                ("pushed 推送组", p.pushed, false), ("  delivered 已送达", p.delivered, true),
                ("  not delivered 未送达", p.notDelivered, false), ("control 对照组", p.control, false),
            ]
            for (label, g, fromDelivery) in rows where !(label.hasPrefix("control") && !e.measuresEffect) {
                let ci = g.interval.map { "\(percent($0.lower))–\(percent($0.upper))" } ?? "-"
                let days =
                    (fromDelivery ? g.medianDaysFromDelivery : g.medianDaysFromStart).map {
                        number($0) + (fromDelivery ? " from delivery" : " from start")
                    } ?? "-"
                Output.out(
                    "  " + label.padded(toColumns: 22)
                        + String(g.enterprises).leftPadded(12)
                        + (label.hasPrefix("control") ? "-" : String(g.opened)).leftPadded(8)
                        + String(g.claimed).leftPadded(9) + (g.share.map(percent) ?? "-").leftPadded(8) + "  "
                        + ci.padding(toLength: 15, withPad: " ", startingAt: 0) + g.amountYuan.leftPadded(16) + "  "
                        + days)
            }
            if let d = p.difference {
                Output.out(
                    "  difference pushed − control: \(signed(d.estimate)) points, 95% CI \(signed(d.lower)) to \(signed(d.upper)) (Newcombe hybrid score)"
                )
            }
            for (label, g) in [("pushed", p.pushed), ("control", p.control)] where !g.planningSuppressed.isEmpty {
                let text = g.planningSuppressed.map { "\($0.reason) \($0.count)" }.joined(separator: ", ")
                Output.out(
                    "  planning suppressed in \(label)\(label == "control" ? " (would have)" : ""): \(text)")
            }
        }
    }

    /// `0.2` → `20.0%`.
    static func percent(_ share: Double) -> String {
        String(format: "%.1f%%", share * 100)
    }

    /// `0.2` → `+20.0`, in percentage points.
    static func signed(_ share: Double) -> String {
        String(format: "%+.1f", share * 100)
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }
}

/// Control percentages as operators write them.
enum ControlText {
    /// `10` → `10`, `12.5` → `12.5`.
    static func percent(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
