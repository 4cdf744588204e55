import Daemon
import Foundation
import Planning
import Storage

/// `campaign reconcile ID`: the messages whose fate is unknown, and the operator's decision.
struct CampaignReconcileCommand: Command {
    static let spec = CommandSpec(
        path: ["campaign", "reconcile"],
        summary: "List a campaign's unconfirmed and unresolved messages; --resend-unconfirmed sends them again.",
        arguments: ["ID"],
        options: [
            .flag("--resend-unconfirmed", "Queue every unconfirmed message again (it may reach its recipient twice)."),
            .option(
                "--note", "TEXT", "Why, recorded in each resent message's history (required with --resend-unconfirmed)."
            ),
            .flag("--json", "Print one JSON object for scripts."),
        ],
        discussion: """
            A message is unconfirmed when its send was ambiguous (the request may have reached the
            provider, no answer came) and reconciliation could not learn from the provider whether
            it was taken before the deadline (reconcile.deadline_h). It is final and never resent
            by the daemon. Check the recipients another way, or resend them: the resend uses the same
            message id, which a deduplicating gateway recognises, but an SMS provider may deliver it twice.
            Ambiguous messages still being reconciled, and unsent ones (the provider had no record;
            they are sent again automatically), are listed too.
            """)

    let id: Int64
    let resend: Bool
    let note: String?
    let json: Bool

    init(_ arguments: ParsedArguments) throws(UsageError) {
        id = try CampaignSupport.parseID(arguments)
        resend = arguments.flag("--resend-unconfirmed")
        note = arguments.value("--note")?.trimmingCharacters(in: .whitespacesAndNewlines)
        json = arguments.flag("--json")
        if resend, (note ?? "").isEmpty {
            throw arguments.usageError("--resend-unconfirmed needs --note TEXT saying why")
        }
        if !resend, note != nil { throw arguments.usageError("--note goes with --resend-unconfirmed") }
    }

    struct Row: Encodable {
        var id: Int64
        var idempotencyKey: String
        var creditCode: String
        var channel: String
        var recipient: String
        var state: String
        var gateway: String?
        var lastError: String?
        var lastAttemptAt: String?
    }

    func run(_ context: Context) async throws -> Int32 {
        let workspace = Workspace(configuration: try context.configuration())
        let zone = workspace.configuration.timeZone
        let store = resend ? try workspace.openStore() : try CampaignSupport.openForReading(workspace)
        let record = try CampaignSupport.campaign(id, in: store)
        var rows: [Row] = []
        try store.forEachMessage(campaignID: id, withEvents: false) { m, _ in
            guard [.unconfirmed, .ambiguous, .unsent].contains(m.state) else { return }
            rows.append(
                Row(
                    id: m.id, idempotencyKey: m.idempotencyKey, creditCode: m.creditCode,
                    channel: CampaignSupport.channelName(m.channel),
                    recipient: CampaignSupport.maskedRecipient(m.recipient, channel: m.channel),
                    state: m.state.rawValue,
                    gateway: m.gateway, lastError: m.lastError,
                    lastAttemptAt: CampaignSupport.isoTime(m.lastAttemptAt, zone)))
        }
        var resent = 0
        if resend {
            let audit = OperatorIdentity.audit([("resend_unconfirmed", "true"), ("note", note)])
            do {
                resent = try store.resendUnconfirmed(
                    campaignID: id, note: "operator resend after reconciliation: \(note ?? "")", at: Date(),
                    audit: audit)
            } catch let error as StorageError where error.code == .invalidTransition {
                let failure = CommandFailure("cannot resend: \(error.message)")
                throw CampaignAudit.refused(store, audit, action: "campaign.reconcile", id: id, failure)
            }
        }
        if json {
            struct Answer: Encodable {
                var campaign: Int64
                var state: String
                var messages: [Row]
                var resent: Int
            }
            try Output.json(Answer(campaign: id, state: record.state.rawValue, messages: rows, resent: resent))
            return 0
        }
        let byState = Dictionary(grouping: rows, by: \.state).mapValues(\.count)
        Output.out(
            "Campaign \(id) '\(record.spec.name)' (\(record.state.rawValue)): unconfirmed \(byState["unconfirmed"] ?? 0), ambiguous \(byState["ambiguous"] ?? 0), unsent \(byState["unsent"] ?? 0)"
        )
        for row in rows {
            Output.out(
                "  \(row.state.padding(toLength: 11, withPad: " ", startingAt: 0)) \(row.idempotencyKey)  \(row.channel) \(row.recipient)  via \(row.gateway ?? "-")  last attempt \(row.lastAttemptAt ?? "-")  \(row.lastError ?? "")"
            )
        }
        if resend {
            Output.out("Queued \(resent) unconfirmed message(s) again; each one's history records: \(note ?? "").")
            Output.out(CampaignSupport.daemonSentence(workspace, action: "send them", later: "they will be sent") + ".")
        } else if (byState["unconfirmed"] ?? 0) > 0 {
            Output.out(
                "To send the unconfirmed ones again: policypush campaign reconcile \(id) --resend-unconfirmed --note TEXT"
            )
        }
        return 0
    }
}
