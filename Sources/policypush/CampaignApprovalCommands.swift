import Daemon
import Foundation
import Messaging
import Planning
import Registry
import Storage

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// `campaign approve ID`: the second pair of eyes. Shows what the campaign will send, then
/// approves it (on a terminal after a confirmation, or at once with `--yes`).
struct CampaignApproveCommand: Command {
    static let spec = CommandSpec(
        path: ["campaign", "approve"],
        summary: "Approve a campaign awaiting approval (four eyes: not the operator who started it).",
        arguments: ["ID"],
        options: [
            .flag("--yes", "Approve without showing the preview or asking (for scripts)."),
            .option("--note", "TEXT", "A note recorded with the approval."),
        ],
        discussion: """
            Without --yes, prints the campaign and its preview (audience, counts per policy and channel,
            suppressions, SMS cost, sample messages, computed now on the stored campaign's policies,
            channels and date) and asks for confirmation on a terminal; without a terminal it approves
            nothing and exits 1. Approved, the campaign becomes pending and the daemon plans and sends it.
            The operator is the Unix user (SUDO_USER under sudo, POLICYPUSH_OPERATOR when set); the one
            who started the campaign cannot approve it (exit 1).
            """)

    let id: Int64
    let yes: Bool
    let note: String?

    init(_ arguments: ParsedArguments) throws(UsageError) {
        id = try CampaignSupport.parseID(arguments)
        yes = arguments.flag("--yes")
        note = arguments.value("--note")?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let note, note.isEmpty { throw arguments.usageError("--note is empty") }
    }

    func run(_ context: Context) async throws -> Int32 {
        let workspace = Workspace(configuration: try context.configuration())
        let store = try workspace.openStore()
        let audit = OperatorIdentity.audit([("note", note), ("yes", yes ? "true" : nil)])
        let record = try CampaignDecision.check(id, approve: true, store: store, audit: audit)
        if !yes {
            CampaignDecision.describe(record, workspace: workspace)
            try await CampaignDecision.preview(record, workspace: workspace, store: store)
            guard isatty(STDIN_FILENO) == 1 else {
                Output.err(
                    "error: campaign \(id) was not approved: confirm on a terminal, or run 'policypush campaign approve \(id) --yes'"
                )
                return 1
            }
            FileHandle.standardOutput.write(Data("Approve campaign \(id) as \(audit.operatorName)? [y/N] ".utf8))
            let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased()
            guard answer == "y" || answer == "yes" else {
                Output.err("Campaign \(id) was not approved; it still awaits approval.")
                return 1
            }
        }
        try CampaignDecision.decide(id, approve: true, note: note, store: store, audit: audit)
        Output.out("Campaign \(id) '\(record.spec.name)' approved by \(audit.operatorName); it is pending.")
        Output.out(CampaignSupport.daemonSentence(workspace, action: "plan it", later: "it will be planned") + ".")
        return 0
    }
}

/// `campaign reject ID --reason TEXT`.
struct CampaignRejectCommand: Command {
    static let spec = CommandSpec(
        path: ["campaign", "reject"],
        summary: "Reject a campaign awaiting approval; it is never planned (not by the operator who started it).",
        arguments: ["ID"],
        options: [.option("--reason", "TEXT", "Why (required): recorded with the campaign and in the audit trail.")],
        discussion: """
            The operator who started a campaign cannot reject it either (four eyes); they can cancel it
            with `policypush campaign cancel ID`.
            """)

    let id: Int64
    let reason: String

    init(_ arguments: ParsedArguments) throws(UsageError) {
        id = try CampaignSupport.parseID(arguments)
        guard let reason = arguments.value("--reason")?.trimmingCharacters(in: .whitespacesAndNewlines), !reason.isEmpty
        else { throw arguments.usageError("--reason TEXT is required") }
        self.reason = reason
    }

    func run(_ context: Context) async throws -> Int32 {
        let workspace = Workspace(configuration: try context.configuration())
        let store = try workspace.openStore()
        let audit = OperatorIdentity.audit([("reason", reason)])
        let record = try CampaignDecision.check(id, approve: false, store: store, audit: audit)
        try CampaignDecision.decide(id, approve: false, note: reason, store: store, audit: audit)
        Output.out("Campaign \(id) '\(record.spec.name)' rejected by \(audit.operatorName): \(reason)")
        return 0
    }
}

/// What approve and reject share: the checks, the decision, the approver's view.
enum CampaignDecision {
    /// The campaign, if `audit`'s operator may decide on it now; otherwise the refusal is
    /// audited and thrown.
    static func check(
        _ id: Int64, approve: Bool, store: some PolicyPushStore, audit: AuditContext
    ) throws
        -> CampaignRecord
    {
        let action = approve ? "campaign.approve" : "campaign.reject"
        let verb = approve ? "approve" : "reject"
        guard let record = try store.campaign(id: id) else {
            throw CampaignAudit.refused(store, audit, action: action, id: id, CommandFailure("no campaign \(id)"))
        }
        guard record.state == .awaitingApproval else {
            let failure = CommandFailure(
                "cannot \(verb) campaign \(id): it is \(CampaignSupport.stateText(record)), not awaiting approval")
            throw CampaignAudit.refused(store, audit, action: action, id: id, failure)
        }
        guard let creator = record.createdBy, creator != audit.operatorName else {
            throw CampaignAudit.refused(
                store, audit, action: action, id: id, fourEyes(record, verb: verb, audit: audit))
        }
        return record
    }

    /// Records the decision; a refusal by the store (the campaign changed meanwhile) is audited.
    static func decide(
        _ id: Int64, approve: Bool, note: String?, store: some PolicyPushStore, audit: AuditContext
    ) throws {
        let action = approve ? "campaign.approve" : "campaign.reject"
        do {
            try store.decideCampaign(id: id, approve: approve, note: note, audit: audit)
        } catch let error as StorageError where [.notPermitted, .invalidTransition, .notFound].contains(error.code) {
            throw CampaignAudit.refused(store, audit, action: action, id: id, CommandFailure(error.message))
        }
    }

    static func fourEyes(_ record: CampaignRecord, verb: String, audit: AuditContext) -> CommandFailure {
        let who = record.createdBy.map { "it was started by \($0)" } ?? "who started it is not recorded"
        return CommandFailure(
            "\(audit.operatorName) cannot \(verb) campaign \(record.id): \(who), and the four-eyes rule (approval.required) needs an operator other than the one who started it"
        )
    }

    /// The campaign as stored, for the approver.
    static func describe(_ r: CampaignRecord, workspace: Workspace) {
        let zone = workspace.configuration.timeZone
        let s = r.spec
        Output.out("Campaign \(r.id) '\(s.name)': \(r.state.rawValue)")
        Output.out("  started by  \(r.createdBy ?? "unknown") at \(CampaignSupport.localTime(r.createdAt, zone))")
        Output.out("  date        \(s.campaignDate)")
        Output.out("  starts      \(CampaignSupport.localTime(s.startAt, zone))")
        Output.out("  policies    " + s.policyIDs.joined(separator: ", "))
        Output.out(
            "  channels    \(s.channels.map(\.rawValue).joined(separator: ","))\(s.fallback ? " (fallback on)" : "")")
        if let max = s.maxMessages { Output.out("  max         \(max) messages") }
        Output.out("")
    }

    /// The preview of the stored campaign, computed now, and what changed since it was started.
    static func preview(_ r: CampaignRecord, workspace: Workspace, store: some PolicyPushStore) async throws {
        let (catalog, diagnostics) = workspace.loadPolicies()
        if !diagnostics.isEmpty {
            for diagnostic in diagnostics { Output.err("error: \(diagnostic)") }
            throw CommandFailure("the policy profiles have errors; run 'policypush policies check'")
        }
        guard let date = LocalDate(iso: r.spec.campaignDate) else {
            throw CommandFailure("campaign \(r.id) has an unreadable date '\(r.spec.campaignDate)'")
        }
        let renderer = PackageRenderer(
            templates: try workspace.loadTemplates(), link: try workspace.linkTokens().link(campaign: r.id))
        let registry = try workspace.loadShards(from: store)
        let preview = await registry.preview(
            catalog: catalog, policyIDs: r.spec.policyIDs, channels: r.spec.channels, date: date, renderer: renderer)
        PreviewText.print(preview)
        Output.out("")
        Output.out(
            "The preview is computed now from the registry; the daemon also applies frequency caps, de-duplication, opt-outs recorded since and the campaign's maximum."
        )
        let changed = CampaignVersions.policyVersions(catalog, ids: r.spec.policyIDs).filter {
            r.spec.policyVersions[$0.key] != $0.value
        }.keys.sorted()
        if !changed.isEmpty {
            Output.out(
                "Changed since the campaign was started (the daemon plans with the current ones): policies \(changed.joined(separator: ", "))."
            )
        }
        if CampaignVersions.templateVersion(directory: workspace.configuration.templatesDirectory)
            != r.spec.templateVersion
        {
            Output.out("The templates changed since the campaign was started (the daemon plans with the current ones).")
        }
        Output.out("")
    }
}

/// Audit entries for operator actions the store refused or that failed before any write.
enum CampaignAudit {
    /// Appends `action` on campaign `id` with result `refused: …`, and returns `failure` to throw.
    ///
    /// The refusal is worth keeping (someone tried to approve their own campaign), but a store
    /// that cannot take it must not hide the failure itself: that one is only reported on stderr.
    static func refused(
        _ store: some AuditStore, _ audit: AuditContext, action: String, id: Int64, _ failure: CommandFailure
    ) -> CommandFailure {
        do {
            try store.appendAudit(
                AuditEntry.New(
                    operatorName: audit.operatorName, action: action, target: "campaign \(id)",
                    arguments: audit.arguments, result: "refused: \(failure.description)"))
        } catch {
            Output.err("warning: the refusal could not be added to the audit trail: \(error)")
        }
        return failure
    }

    /// The same for a pause, resume or cancel request.
    static func refused(
        _ store: some AuditStore, _ audit: AuditContext, action target: CampaignState, id: Int64,
        _ failure: CommandFailure
    ) {
        _ = refused(store, audit, action: requestAction(target), id: id, failure)
    }

    static func requestAction(_ target: CampaignState) -> String {
        switch target {
        case .paused: "campaign.pause"
        case .running: "campaign.resume"
        case .cancelled: "campaign.cancel"
        default: "campaign.\(target.rawValue)"
        }
    }
}
