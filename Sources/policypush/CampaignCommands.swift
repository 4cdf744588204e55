import Daemon
import Foundation
import Messaging
import Planning
import Registry
import Rules

struct PreviewCommand: Command {
    static let spec = CommandSpec(
        path: ["campaign", "preview"],
        summary: "Dry run: audience, counts per policy and channel, suppressions, SMS cost and sample messages.",
        options: [
            .option("--policies", "ID,...", "Policies to push (default: all)."),
            .flag("--all", "All policies (the default)."),
            .option("--channels", "LIST", "Channels in order of preference (default: wechat,sms)."),
            .option("--on", "DATE", "Campaign date; policies not in force then are left out (default: today)."),
            .flag("--json", "Print one JSON object for scripts."),
        ])

    let policies: [String]?
    let channels: [Channel]?
    let date: LocalDate?
    let json: Bool

    init(_ arguments: ParsedArguments) throws(UsageError) {
        if arguments.flag("--all"), arguments.value("--policies") != nil {
            throw arguments.usageError("give either --policies or --all, not both")
        }
        policies = arguments.list("--policies")
        if let names = arguments.list("--channels") {
            var channels: [Channel] = []
            for name in names {
                guard let channel = Channel(rawValue: name) else {
                    throw arguments.usageError("--channels expects wechat and/or sms, got '\(name)'")
                }
                if !channels.contains(channel) { channels.append(channel) }
            }
            guard !channels.isEmpty else { throw arguments.usageError("--channels is empty") }
            self.channels = channels
        } else {
            channels = nil
        }
        date = try parseDate(arguments, "--on")
        json = arguments.flag("--json")
    }

    func run(_ context: Context) async throws -> Int32 {
        let workspace = Workspace(configuration: try context.configuration())
        let (catalog, diagnostics) = workspace.loadPolicies()
        if !diagnostics.isEmpty {
            for diagnostic in diagnostics { Output.err("error: \(diagnostic)") }
            throw CommandFailure("the policy profiles have errors; run 'policypush policies check'")
        }
        if let policies {
            let unknown = policies.filter { catalog.entry(id: $0) == nil }
            if !unknown.isEmpty {
                throw CommandFailure(
                    "unknown policy id(s): \(unknown.joined(separator: ", ")); known: \(catalog.entries.map(\.profile.id).joined(separator: ", "))"
                )
            }
        }
        // No campaign yet: the preview's links are campaign 0's.
        let renderer = PackageRenderer(
            templates: try workspace.loadTemplates(), link: try workspace.linkTokens().link(campaign: 0))
        let store = try workspace.openStore(readOnly: true)
        let registry = try workspace.loadShards(from: store)
        let preview = await registry.preview(
            catalog: catalog, policyIDs: policies, channels: channels ?? workspace.configuration.channelPreference,
            date: date ?? workspace.today(), renderer: renderer)
        if json {
            try Output.json(preview)
        } else {
            PreviewText.print(preview)
        }
        return 0
    }
}

enum PreviewText {
    static func print(_ p: CampaignPreview) {
        func row(_ label: String, _ value: Int, width: Int = 34) -> String {
            "  " + label.padding(toLength: width, withPad: " ", startingAt: 0) + String(value).leftPadded(8)
        }
        Output.out("Campaign preview on \(p.date) (dry run: nothing is written or sent)")
        Output.out(row("enterprises in the registry", p.enterprises))
        Output.out(row("audience (qualify for ≥ 1 policy)", p.audience))
        Output.out("")
        Output.out("Policies (enterprises that qualify):")
        for policy in p.policies { Output.out(row("\(policy.id)", policy.matched) + "  " + policy.title) }
        if !p.inactivePolicies.isEmpty {
            Output.out("  not in force on \(p.date), left out: \(p.inactivePolicies.joined(separator: ", "))")
        }
        Output.out("")
        Output.out("Channels:")
        for (channel, n) in p.channels.sorted(by: { $0.key > $1.key }) { Output.out(row(channel, n)) }
        Output.out("Suppressed:")
        if p.suppressed.isEmpty { Output.out("  none") }
        for (reason, n) in p.suppressed.sorted(by: { $0.key < $1.key }) { Output.out(row(reason, n)) }
        Output.out("")
        Output.out("SMS cost basis: \(p.smsSegments) segments for \(p.smsMessages) messages")
        Output.out("")
        Output.out("Samples:")
        for (i, s) in p.samples.enumerated() {
            Output.out(
                "\(i + 1). \(s.channel.rawValue) to \(s.to): \(RegistryText.escaped(s.name)) (\(s.creditCode)), policies \(s.policies.joined(separator: ", "))"
            )
            if let sms = s.sms {
                Output.out("   \(sms.text)")
                Output.out(
                    "   [\(sms.length) characters, \(sms.segments) segment(s), \(sms.includedPolicies) of \(s.policies.count) policies named]"
                )
            }
            if let wechat = s.wechat {
                Output.out("   template \(wechat.templateID)" + (wechat.url.map { ", url \($0)" } ?? ""))
                for field in wechat.fields { Output.out("   \(field.key): \(field.value)") }
            }
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }

    /// Terminal columns the text takes: two for each CJK character and full-width form, one
    /// otherwise (what lines up Chinese names in a table).
    var columns: Int {
        unicodeScalars.reduce(0) { width, scalar in
            let wide =
                (0x1100...0x115F).contains(scalar.value) || (0x2E80...0xA4CF).contains(scalar.value)
                || (0xAC00...0xD7A3).contains(scalar.value) || (0xF900...0xFAFF).contains(scalar.value)
                || (0xFF00...0xFF60).contains(scalar.value) || (0xFFE0...0xFFE6).contains(scalar.value)
            return width + (wide ? 2 : 1)
        }
    }

    /// The text followed by spaces up to `width` terminal columns (see ``columns``).
    func padded(toColumns width: Int) -> String {
        self + String(repeating: " ", count: max(0, width - columns))
    }
}
