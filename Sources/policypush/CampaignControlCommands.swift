import Daemon
import Foundation
import Messaging
import Planning
import Registry
import Rules
import Storage

/// `campaign start`: validates a campaign and writes it for the daemon to plan and send.
struct CampaignStartCommand: Command {
    static let spec = CommandSpec(
        path: ["campaign", "start"],
        summary: "Start a campaign: validate it and write it for the daemon to plan and send.",
        options: [
            .option("--name", "NAME", "A name for the campaign (required, at most 100 characters)."),
            .option("--policies", "ID,...", "Policies to push."),
            .flag("--all", "Every policy in force on the campaign date."),
            .option("--channels", "LIST", "Channels in order of preference (default: the configured preference)."),
            .flag("--fallback", "A permanent failure on the first channel sends on the next one."),
            .option(
                "--at", "TIME", "Start time: ISO 8601 or 'YYYY-MM-DD HH:MM' in the configured time zone (default: now)."
            ),
            .option("--max", "N", "Plan at most N messages."),
            .option(
                "--on", "DATE", "Campaign date for validity windows and idempotency keys (default: the day of --at)."),
            .option(
                "--control", "PCT",
                "Hold out PCT % of the eligible enterprises as a control group (0–50, decimals allowed; default 0)."),
        ],
        discussion: """
            Give either --policies or --all. The campaign is written in one transaction in state
            'pending'; the daemon (`policypush serve`) plans and sends it. With approval.required in the
            config it is written 'awaiting_approval' instead, and waits until an operator other than the
            one who started it approves it (`campaign approve ID`). Prints the new campaign's id on the
            first line of stdout. With --control, each eligible enterprise is held out when a hash of
            the campaign's random seed and its credit code falls below PCT % (see README, 跟踪问效):
            it gets no message, and `campaign effect ID` compares its uptake with the pushed group's.
            """)

    let name: String
    let policies: [String]?
    let channels: [Channel]?
    let fallback: Bool
    let at: String?
    let maxMessages: Int?
    let date: LocalDate?
    let controlPercent: Double

    init(_ arguments: ParsedArguments) throws(UsageError) {
        guard let name = arguments.value("--name")?.trimmingCharacters(in: .whitespacesAndNewlines), !name.isEmpty
        else { throw arguments.usageError("--name is required and must not be empty") }
        guard name.count <= 100 else { throw arguments.usageError("--name is longer than 100 characters") }
        self.name = name
        switch (arguments.list("--policies"), arguments.flag("--all")) {
        case (.some, true): throw arguments.usageError("give either --policies or --all, not both")
        case (nil, false): throw arguments.usageError("give --policies ID,... or --all")
        case (.some(let ids), false):
            guard !ids.isEmpty else { throw arguments.usageError("--policies is empty") }
            var unique: [String] = []
            for id in ids where !unique.contains(id) { unique.append(id) }
            policies = unique
        case (nil, true): policies = nil
        }
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
        fallback = arguments.flag("--fallback")
        at = arguments.value("--at")
        if let at, StartTime.parse(at, zone: TimeZone(identifier: "UTC")!) == nil {
            throw arguments.usageError(
                "--at expects ISO 8601 (2026-12-01T09:00:00+08:00) or 'YYYY-MM-DD HH:MM', got '\(at)'")
        }
        maxMessages = try arguments.int("--max", in: 1...Int.max)
        date = try parseDate(arguments, "--on")
        if let text = arguments.value("--control") {
            guard let percent = Double(text), percent.isFinite, (0...50).contains(percent) else {
                throw arguments.usageError(
                    "--control expects a percentage from 0 to 50 (e.g. 10 or 12.5), got '\(text)'")
            }
            controlPercent = percent
        } else {
            controlPercent = 0
        }
    }

    func run(_ context: Context) async throws -> Int32 {
        let workspace = Workspace(configuration: try context.configuration())
        let zone = workspace.configuration.timeZone
        let now = Date()
        let startAt = at.flatMap { StartTime.parse($0, zone: zone) } ?? now
        let campaignDate = date ?? workspace.today(now: startAt)

        let (catalog, diagnostics) = workspace.loadPolicies()
        if !diagnostics.isEmpty {
            for diagnostic in diagnostics { Output.err("error: \(diagnostic)") }
            throw CommandFailure("the policy profiles have errors; run 'policypush policies check'")
        }
        let ids: [String]
        if let policies {
            let unknown = policies.filter { catalog.entry(id: $0) == nil }
            if !unknown.isEmpty {
                throw CommandFailure(
                    "unknown policy id(s): \(unknown.joined(separator: ", ")); known: \(catalog.entries.map(\.profile.id).joined(separator: ", "))"
                )
            }
            let inactive = policies.filter { catalog.entry(id: $0)?.profile.isActive(on: campaignDate) == false }
            if !inactive.isEmpty {
                throw CommandFailure("policy(ies) not in force on \(campaignDate): \(inactive.joined(separator: ", "))")
            }
            ids = policies
        } else {
            ids = catalog.entries.filter { $0.profile.isActive(on: campaignDate) }.map(\.profile.id)
            guard !ids.isEmpty else { throw CommandFailure("no policy is in force on \(campaignDate)") }
        }
        // The package page shows each policy's summary, guide and official link.
        let unguided = catalog.guidanceProblems(ids: ids)
        if !unguided.isEmpty {
            for diagnostic in unguided { Output.err("error: \(diagnostic)") }
            let named = ids.compactMap { id in
                catalog.entry(id: id).flatMap { entry in
                    let missing = entry.profile.missingGuidance
                    return missing.isEmpty ? nil : "\(id) (no \(missing.joined(separator: ", ")))"
                }
            }
            throw CommandFailure(
                "policy(ies) without guidance: \(named.joined(separator: "; ")); every policy in a campaign needs summary, guide and official_link"
            )
        }
        do {
            _ = try workspace.loadTemplates()
        } catch let error as TemplateError {
            for diagnostic in error.diagnostics { Output.err("error: \(diagnostic)") }
            throw CommandFailure("the templates have errors; run 'policypush policies check'")
        }

        let spec = CampaignSpec(
            name: name, policyIDs: ids,
            channels: channels ?? workspace.configuration.channelPreference,
            fallback: fallback, startAt: startAt, maxMessages: maxMessages, campaignDate: campaignDate.description,
            policyVersions: CampaignVersions.policyVersions(catalog, ids: ids),
            templateVersion: CampaignVersions.templateVersion(directory: workspace.configuration.templatesDirectory),
            controlPercent: controlPercent)
        let store = try workspace.openStore()
        let approval = workspace.configuration.approval.required
        let audit = OperatorIdentity.audit([
            ("name", name), ("policies", ids.joined(separator: ",")),
            ("channels", spec.channels.map(\.rawValue).joined(separator: ",")), ("fallback", fallback ? "true" : nil),
            ("at", at), ("max", maxMessages.map(String.init)), ("on", campaignDate.description),
            ("control", controlPercent > 0 ? ControlText.percent(controlPercent) : nil),
        ])
        let id = try store.createCampaign(spec, awaitingApproval: approval, audit: audit)

        Output.out(String(id))
        let when = startAt > now ? "from \(CampaignSupport.localTime(startAt, zone))" : "now"
        let state = approval ? CampaignState.awaitingApproval : .pending
        Output.out(
            "Campaign \(id) '\(name)' is \(state.rawValue): policies \(ids.joined(separator: ", ")) on \(campaignDate), channels \(spec.channels.map(\.rawValue).joined(separator: ","))\(fallback ? " with fallback" : ""), starting \(when)\(maxMessages.map { ", at most \($0) messages" } ?? "")\(controlPercent > 0 ? ", \(ControlText.percent(controlPercent)) % held out as a control group" : "")."
        )
        if approval {
            Output.out(
                "It awaits approval by an operator other than \(audit.operatorName): `policypush campaign approve \(id)` (or `reject \(id) --reason TEXT`); nothing is planned or sent before."
            )
        } else {
            Output.out(CampaignSupport.daemonSentence(workspace, action: "start it", later: "it will be planned") + ".")
        }
        return 0
    }
}

/// Start times as operators write them.
enum StartTime {
    /// ISO 8601 with a zone (`2026-12-01T09:00:00+08:00`, `…Z`), or a local time in `zone`:
    /// `YYYY-MM-DD HH:MM`, `YYYY-MM-DDTHH:MM` or either with seconds.
    static func parse(_ text: String, zone: TimeZone) -> Date? {
        let text = text.trimmingCharacters(in: .whitespaces)
        let iso = ISO8601DateFormatter()
        if let date = iso.date(from: text) { return date }
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = iso.date(from: text) { return date }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.isLenient = false
        for format in ["yyyy-MM-dd HH:mm", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }
}

/// What pause, resume and cancel share: record a request for the daemon to apply.
enum CampaignRequest {
    static func run(_ id: Int64, _ target: CampaignState, _ context: Context) throws -> Int32 {
        let workspace = Workspace(configuration: try context.configuration())
        let store = try workspace.openStore()
        let audit = OperatorIdentity.audit([])
        let before: CampaignRecord
        do {
            before = try CampaignSupport.campaign(id, in: store)
            try store.requestCampaign(id: id, target, audit: audit)
        } catch let failure as CommandFailure {
            CampaignAudit.refused(store, audit, action: target, id: id, failure)
            throw failure
        } catch let error as StorageError where error.code == .notFound {
            let failure = CommandFailure("no campaign \(id)")
            CampaignAudit.refused(store, audit, action: target, id: id, failure)
            throw failure
        } catch let error as StorageError where error.code == .invalidTransition {
            let state = try CampaignSupport.campaign(id, in: store).state
            let why =
                state.isFinal || state == .awaitingApproval
                ? "it is \(state.rawValue)"
                : "it is \(state.rawValue), not \(target == .running ? "paused" : "running")"
            let failure = CommandFailure("cannot \(CampaignSupport.requestWord(target)) campaign \(id): \(why)")
            CampaignAudit.refused(store, audit, action: target, id: id, failure)
            throw failure
        }
        let after = try CampaignSupport.campaign(id, in: store)
        let word = CampaignSupport.requestWord(target)
        if after.requestedState == nil {
            if after.state == target, before.state == .awaitingApproval {
                Output.out("Campaign \(id) is cancelled (it was awaiting approval; nothing was planned).")
            } else if after.state == target, before.state == target {
                Output.out("Campaign \(id) is already \(target.rawValue).")
            } else if after.state == target {
                // Heard through NOTIFY, a daemon may apply the request before this command reads it back.
                Output.out("Campaign \(id) is \(target.rawValue): the daemon applied the \(word) request at once.")
            } else {
                Output.out(
                    "Campaign \(id): the \(CampaignSupport.requestWord(before.requestedState ?? target)) request not yet applied is withdrawn; it stays \(after.state.rawValue)."
                )
            }
            return 0
        }
        Output.out("Campaign \(id) (\(after.state.rawValue)): \(word) requested.")
        Output.out(CampaignSupport.daemonSentence(workspace, action: "apply it", later: "it will be applied") + ".")
        return 0
    }
}

/// `campaign pause ID`.
struct CampaignPauseCommand: Command {
    static let spec = CommandSpec(
        path: ["campaign", "pause"], summary: "Ask the daemon to hold a campaign's dispatch.", arguments: ["ID"])
    let id: Int64
    init(_ arguments: ParsedArguments) throws(UsageError) { id = try CampaignSupport.parseID(arguments) }
    func run(_ context: Context) async throws -> Int32 { try CampaignRequest.run(id, .paused, context) }
}

/// `campaign resume ID`.
struct CampaignResumeCommand: Command {
    static let spec = CommandSpec(
        path: ["campaign", "resume"], summary: "Ask the daemon to resume a paused campaign.", arguments: ["ID"])
    let id: Int64
    init(_ arguments: ParsedArguments) throws(UsageError) { id = try CampaignSupport.parseID(arguments) }
    func run(_ context: Context) async throws -> Int32 { try CampaignRequest.run(id, .running, context) }
}

/// `campaign cancel ID`.
struct CampaignCancelCommand: Command {
    static let spec = CommandSpec(
        path: ["campaign", "cancel"],
        summary: "Ask the daemon to cancel a campaign; messages not yet sent are cancelled.", arguments: ["ID"])
    let id: Int64
    init(_ arguments: ParsedArguments) throws(UsageError) { id = try CampaignSupport.parseID(arguments) }
    func run(_ context: Context) async throws -> Int32 { try CampaignRequest.run(id, .cancelled, context) }
}
