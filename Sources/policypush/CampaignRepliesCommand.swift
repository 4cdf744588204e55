import Foundation
import Planning
import Registry
import Storage

/// `campaign replies ID`: what recipients answered, attached to the campaign whose message to
/// them went out last.
struct CampaignRepliesCommand: Command {
    static let spec = CommandSpec(
        path: ["campaign", "replies"],
        summary: "List the replies to a campaign's messages: opt-outs and requests for help someone must read.",
        arguments: ["ID"],
        options: [
            .option("--csv", "FILE", "Also write them to FILE (UTF-8 CSV, senders masked, texts in full)."),
            .flag("--json", "Print JSON for scripts."),
        ],
        discussion: """
            A reply is attached to the enterprise and campaign whose message to that number (or
            openid) went out last. Opt-outs (回T退订: T, TD, 退订, N, or the gateway's
            opt_out_keywords) suppress the sender on that channel at once; every other reply is
            listed here for the service team.
            """)

    let id: Int64
    let csv: String?
    let json: Bool

    init(_ arguments: ParsedArguments) throws(UsageError) {
        id = try CampaignSupport.parseID(arguments)
        csv = arguments.value("--csv")
        json = arguments.flag("--json")
    }

    struct Row: Encodable {
        var id: Int64
        var receivedAt: String
        var gateway: String
        var kind: String
        var sender: String
        var creditCode: String?
        var optOut: Bool
        var text: String
    }

    func run(_ context: Context) async throws -> Int32 {
        let workspace = Workspace(configuration: try context.configuration())
        let zone = workspace.configuration.timeZone
        let store = try CampaignSupport.openForReading(workspace)
        let record = try CampaignSupport.campaign(id, in: store)
        let rows = try store.replies(campaignID: id).map { r in
            Row(
                id: r.id, receivedAt: CampaignSupport.isoTime(r.receivedAt, zone) ?? "", gateway: r.gateway,
                kind: r.kind.rawValue, sender: CampaignSupport.maskedRecipient(r.sender, channel: r.channel),
                creditCode: r.creditCode, optOut: r.optOut, text: r.text)
        }
        if let csv {
            let header = "id,received_at,gateway,kind,sender,credit_code,opt_out,text\r\n"
            var text = header
            for r in rows {
                let fields: [String] = [
                    String(r.id), r.receivedAt, r.gateway, r.kind, r.sender, r.creditCode ?? "", r.optOut ? "1" : "0",
                    r.text,
                ]
                text += MessageCSV.record(fields)
            }
            try OutputFile.write(text, to: csv, configuration: workspace.configuration)
        }
        if json {
            try Output.json(rows)
            return 0
        }
        let optOuts = rows.filter(\.optOut).count
        Output.out(
            "Campaign \(id) '\(record.spec.name)': \(rows.count) repl\(rows.count == 1 ? "y" : "ies"), \(optOuts) opt-out(s), \(rows.count - optOuts) to read"
        )
        for r in rows {
            let flag = r.optOut ? "opt-out" : r.kind
            Output.out(
                "  #\(r.id) \(r.receivedAt)  \(r.sender)  \(r.creditCode ?? "-")  \(flag)  \"\(RegistryText.escaped(r.text))\""
            )
        }
        return 0
    }
}
