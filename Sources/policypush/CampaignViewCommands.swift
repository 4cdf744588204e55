import Daemon
import Foundation
import Planning
import Storage

#if canImport(Glibc)
    import Glibc
#endif

/// `campaign list`.
struct CampaignListCommand: Command {
    static let spec = CommandSpec(
        path: ["campaign", "list"], summary: "List campaigns with their state and message counts.",
        options: [.flag("--json", "Print a JSON array for scripts.")])

    let json: Bool

    init(_ arguments: ParsedArguments) throws(UsageError) { json = arguments.flag("--json") }

    func run(_ context: Context) async throws -> Int32 {
        let workspace = Workspace(configuration: try context.configuration())
        let zone = workspace.configuration.timeZone
        let records = try CampaignSupport.openForReading(workspace).campaigns()
        if json {
            try Output.json(records.map { CampaignJSON($0, zone: zone) })
            return 0
        }
        if records.isEmpty {
            Output.out("No campaigns. Start one with `policypush campaign start`.")
            return 0
        }
        let nameWidth = min(30, max(4, records.map(\.spec.name.count).max() ?? 0))
        let decidedWidth = min(20, max(11, records.compactMap { $0.approvedBy?.count }.max() ?? 0))
        func decided(_ r: CampaignRecord) -> String {
            let text = r.approvedBy ?? "-"
            return text.count > decidedWidth ? String(text.prefix(decidedWidth - 1)) + "…" : text
        }
        Output.out(
            "ID".leftPadded(5) + "  " + "NAME".padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  "
                + "STATE".padding(toLength: 28, withPad: " ", startingAt: 0) + "  "
                + "APPROVED BY".padding(toLength: decidedWidth, withPad: " ", startingAt: 0)
                + "  CREATED              MESSAGES")
        for r in records {
            let (final, total) = CampaignSupport.progress(r.counts)
            let name = r.spec.name.count > nameWidth ? String(r.spec.name.prefix(nameWidth - 1)) + "…" : r.spec.name
            Output.out(
                String(r.id).leftPadded(5) + "  " + name.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
                    + "  "
                    + CampaignSupport.stateText(r).padding(toLength: 28, withPad: " ", startingAt: 0) + "  "
                    + decided(r).padding(toLength: decidedWidth, withPad: " ", startingAt: 0) + "  "
                    + CampaignSupport.localTime(r.createdAt, zone) + "  "
                    + (total == 0 ? "none" : "\(final)/\(total) final: \(CampaignSupport.countsText(r.counts))"))
        }
        return 0
    }
}

/// `campaign status ID`.
struct CampaignStatusCommand: Command {
    static let spec = CommandSpec(
        path: ["campaign", "status"], summary: "Show a campaign's state, spec, counts, progress and the daemon.",
        arguments: ["ID"], options: [.flag("--json", "Print one JSON object for scripts.")])

    let id: Int64
    let json: Bool

    init(_ arguments: ParsedArguments) throws(UsageError) {
        id = try CampaignSupport.parseID(arguments)
        json = arguments.flag("--json")
    }

    func run(_ context: Context) async throws -> Int32 {
        let workspace = Workspace(configuration: try context.configuration())
        let zone = workspace.configuration.timeZone
        let store = try CampaignSupport.openForReading(workspace)
        let r = try CampaignSupport.campaign(id, in: store)
        let opened = try store.openedCount(campaignID: id)
        let daemon = CampaignSupport.daemonStatus(workspace)
        if json {
            struct Status: Encodable {
                var campaign: CampaignJSON
                /// Packages whose page was opened at least once.
                var opened: Int
                var daemonRunning: Bool
                var daemonPid: Int32?
            }
            try Output.json(
                Status(
                    campaign: CampaignJSON(r, zone: zone), opened: opened, daemonRunning: daemon.pid != nil,
                    daemonPid: daemon.pid))
            return 0
        }
        let (final, total) = CampaignSupport.progress(r.counts)
        let s = r.spec
        Output.out("Campaign \(r.id) '\(s.name)': \(CampaignSupport.stateText(r))")
        Output.out(
            "  created     \(CampaignSupport.localTime(r.createdAt, zone))\(r.createdBy.map { " by \($0)" } ?? "")")
        if r.state == .awaitingApproval {
            Output.out(
                "  approval    awaiting an operator other than \(r.createdBy ?? "its creator") (policypush campaign approve \(r.id))"
            )
        } else if let decider = r.approvedBy {
            let when = r.decidedAt.map { " at \(CampaignSupport.localTime($0, zone))" } ?? ""
            let verb = r.state == .rejected ? "rejected" : "approved"
            Output.out(
                "  \(verb.padding(toLength: 11, withPad: " ", startingAt: 0)) by \(decider)\(when)\(r.decisionNote.map { ": \($0)" } ?? "")"
            )
        }
        if let planned = r.plannedAt { Output.out("  planned     \(CampaignSupport.localTime(planned, zone))") }
        if let finished = r.finishedAt { Output.out("  finished    \(CampaignSupport.localTime(finished, zone))") }
        Output.out("  date        \(s.campaignDate)")
        Output.out("  starts      \(CampaignSupport.localTime(s.startAt, zone))")
        Output.out(
            "  policies    "
                + s.policyIDs.map { id in s.policyVersions[id].map { "\(id)@\($0)" } ?? id }.joined(separator: ", "))
        Output.out(
            "  channels    \(s.channels.map(\.rawValue).joined(separator: ","))\(s.fallback ? " (fallback on)" : "")")
        if let max = s.maxMessages { Output.out("  max         \(max) messages") }
        Output.out("  templates   \(s.templateVersion)")
        Output.out("  messages    \(CampaignSupport.countsText(r.counts))")
        let percent = total == 0 ? 0 : Int((Double(final) / Double(total) * 100).rounded(.down))
        Output.out("  progress    \(final)/\(total) final (\(percent)%)")
        Output.out("  opened      \(opened) package(s) (policypush campaign report \(r.id))")
        let unconfirmed = r.counts[.unconfirmed] ?? 0
        let unresolved = (r.counts[.ambiguous] ?? 0) + (r.counts[.unsent] ?? 0)
        if unconfirmed > 0 {
            Output.out(
                "  attention   \(unconfirmed) unconfirmed: an operator decides (policypush campaign reconcile \(r.id))")
        } else if unresolved > 0 {
            Output.out(
                "  reconciling \(unresolved) message(s) whose send was ambiguous (policypush campaign reconcile \(r.id))"
            )
        }
        Output.out("  daemon      \(daemon.text)")
        return 0
    }
}

/// `campaign watch ID`: follows a campaign until it is completed or cancelled.
struct CampaignWatchCommand: Command {
    static let spec = CommandSpec(
        path: ["campaign", "watch"],
        summary: "Follow a campaign's progress until it is completed or cancelled.",
        arguments: ["ID"],
        options: [
            .option("--interval", "S", "Seconds between reads (default: 1)."),
            .flag("--quiet", "Plain lines instead of a live progress bar."),
        ],
        discussion:
            "On a terminal (and without NO_COLOR) the progress bar is redrawn in place; otherwise a line is printed whenever the counts change."
    )

    let id: Int64
    let interval: Double
    let quiet: Bool

    init(_ arguments: ParsedArguments) throws(UsageError) {
        id = try CampaignSupport.parseID(arguments)
        if let text = arguments.value("--interval") {
            guard let seconds = Double(text), seconds >= 0.05, seconds <= 3600 else {
                throw arguments.usageError("--interval expects seconds between 0.05 and 3600, got '\(text)'")
            }
            interval = seconds
        } else {
            interval = 1
        }
        quiet = arguments.flag("--quiet")
    }

    func run(_ context: Context) async throws -> Int32 {
        let workspace = Workspace(configuration: try context.configuration())
        let store = try CampaignSupport.openForReading(workspace)
        var record = try CampaignSupport.campaign(id, in: store)
        let live = !quiet && isatty(1) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
        var meter = ProgressMeter()
        var lastLine = ""
        var version = try store.dataVersion()
        meter.observe(record.counts, at: Date())
        while true {
            let line = meter.line(record)
            if live {
                FileHandle.standardOutput.write(Data(("\r\u{1B}[2K" + line).utf8))
            } else if line != lastLine {
                Output.out(line)
            }
            lastLine = line
            if record.state.isFinal { break }
            try await Task.sleep(for: .seconds(interval))
            let now = try store.dataVersion()
            if now != version {
                version = now
                record = try CampaignSupport.campaign(id, in: store)
            }
            meter.observe(record.counts, at: Date())
        }
        if live { FileHandle.standardOutput.write(Data("\n".utf8)) }
        Output.out("Campaign \(id) is \(record.state.rawValue): \(CampaignSupport.countsText(record.counts)).")
        return 0
    }
}

/// Progress as `watch` prints it: a bar, counts, a rate over the last interval and time left.
struct ProgressMeter {
    private var previous: (final: Int, at: Date)?
    private var rate: Double?

    /// Takes a new reading; the rate is messages reaching a final state per second.
    mutating func observe(_ counts: [MessageState: Int], at now: Date) {
        let final = CampaignSupport.progress(counts).final
        if let previous, now.timeIntervalSince(previous.at) > 0 {
            rate = Double(final - previous.final) / now.timeIntervalSince(previous.at)
        }
        previous = (final, now)
    }

    func line(_ record: CampaignRecord) -> String {
        let (final, total) = CampaignSupport.progress(record.counts)
        let fraction = total == 0 ? 0 : Double(final) / Double(total)
        let width = 20
        let filled = min(width, Int((fraction * Double(width)).rounded(.down)))
        let bar = "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "]"
        var text = "\(bar) \(Int(fraction * 100))% \(final)/\(total) \(CampaignSupport.stateText(record))"
        let open = MessageState.allCases.filter { !$0.isFinal }.compactMap { s in
            record.counts[s].map { "\(s.rawValue) \($0)" }
        }
        let done = MessageState.allCases.filter(\.isFinal).compactMap { s in
            record.counts[s].map { "\(s.rawValue) \($0)" }
        }
        if !(open + done).isEmpty { text += " | " + (open + done).joined(separator: " ") }
        if let rate, !record.state.isFinal {
            text += String(format: " | %.1f/s", rate)
            if rate > 0, total > final {
                let left = Int((Double(total - final) / rate).rounded(.up))
                text +=
                    " | ETA "
                    + (left >= 3600
                        ? "\(left / 3600)h\(String(format: "%02d", left % 3600 / 60))m"
                        : "\(left / 60)m\(String(format: "%02d", left % 60))s")
            }
        }
        return text
    }
}
