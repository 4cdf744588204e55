import Foundation
import Planning
import Registry
import Storage

/// Who a suppression command names: `--mobile`, `--openid` or `--enterprise`, and the channel.
private struct SuppressionArguments {
    var target: SuppressionTarget
    var channel: Channel

    static let options: [OptionSpec] = [
        .option(
            "--mobile", "NUMBER", "A mobile number (11 digits): suppresses SMS to it, whichever enterprise holds it."),
        .option("--openid", "OPENID", "A WeChat openid: suppresses WeChat messages to it."),
        .option("--enterprise", "CODE", "A credit code: suppresses the enterprise on --channel."),
        .option("--channel", "CHANNEL", "sms or wechat (implied by --mobile and --openid)."),
    ]

    init(_ arguments: ParsedArguments) throws(UsageError) {
        let names: [(String, Channel?)] = [("--mobile", .sms), ("--openid", .wechat), ("--enterprise", nil)]
        let given = names.compactMap { name, channel in arguments.value(name).map { (name, $0, channel) } }
        guard given.count == 1, let (name, value, implied) = given.first else {
            throw arguments.usageError("give exactly one of --mobile, --openid, --enterprise")
        }
        let named = arguments.value("--channel").map { Channel(rawValue: $0) }
        if case .some(nil) = named { throw arguments.usageError("--channel expects sms or wechat") }
        guard let channel = implied ?? named ?? nil else {
            throw arguments.usageError("--enterprise needs --channel sms or wechat")
        }
        if let implied, let named = named ?? nil, named != implied {
            throw arguments.usageError(
                "\(name) is a \(implied.rawValue) address; --channel \(named.rawValue) contradicts it")
        }
        switch name {
        case "--mobile":
            guard value.utf8.count == 11, value.utf8.allSatisfy({ (0x30...0x39).contains($0) }), value.hasPrefix("1")
            else {
                throw arguments.usageError("--mobile expects an 11-digit mainland mobile number")
            }
            target = .address(value)
        case "--openid":
            guard (1...128).contains(value.utf8.count), !value.contains(where: \.isWhitespace) else {
                throw arguments.usageError("--openid expects an openid (1 to 128 characters, no spaces)")
            }
            target = .address(value)
        default:
            guard CreditCode.isValid(value) else {
                throw arguments.usageError("--enterprise expects a valid credit code")
            }
            target = .enterprise(value)
        }
        self.channel = channel
    }

    static func reason(_ arguments: ParsedArguments) throws(UsageError) -> String {
        let reason = arguments.value("--reason")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard !reason.isEmpty else {
            throw arguments.usageError("--reason TEXT is required: it is recorded with the change")
        }
        guard reason.count <= 500 else { throw arguments.usageError("--reason is limited to 500 characters") }
        return reason
    }
}

/// A suppression's target as the audit trail names it, the address masked like every output.
private func auditTarget(_ who: SuppressionArguments) -> String {
    switch who.target {
    case .enterprise(let code): "enterprise:\(code)/\(who.channel.rawValue)"
    case .address(let address):
        "address:\(who.channel == .sms ? Mask.mobile(address) : Mask.openID(address))/\(who.channel.rawValue)"
    }
}

/// A suppression's target as the CLI prints it: addresses masked.
private func describe(_ record: SuppressionRecord) -> String {
    switch record.target {
    case .enterprise(let code): "enterprise \(code)"
    case .address(let address):
        record.channel == .sms ? "mobile \(Mask.mobile(address))" : "openid \(Mask.openID(address))"
    }
}

/// `suppressions list`: who is not sent to, why, and on what evidence.
struct SuppressionsListCommand: Command {
    static let spec = CommandSpec(
        path: ["suppressions", "list"],
        summary: "List suppressions: opt-out replies, WeChat unsubscribes and operators' entries, with their evidence.",
        options: [
            .option("--csv", "FILE", "Also write every suppression to FILE (UTF-8 CSV, addresses masked)."),
            .flag("--json", "Print JSON for scripts."),
        ])

    let csv: String?
    let json: Bool

    init(_ arguments: ParsedArguments) throws(UsageError) {
        csv = arguments.value("--csv")
        json = arguments.flag("--json")
    }

    struct Row: Encodable {
        var target: String
        var channel: String
        var reason: String
        var replyID: Int64?
        var replyText: String?
        var operatorName: String?
        var note: String?
        var at: String
    }

    func run(_ context: Context) async throws -> Int32 {
        let workspace = Workspace(configuration: try context.configuration())
        let zone = workspace.configuration.timeZone
        let store = try CampaignSupport.openForReading(workspace)
        let replies = Dictionary(
            try store.replies(campaignID: nil).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let rows = try store.suppressionList().map { s in
            Row(
                target: describe(s), channel: s.channel.rawValue, reason: s.reason, replyID: s.replyID,
                replyText: s.replyID.flatMap { replies[$0]?.text }, operatorName: s.operatorName, note: s.note,
                at: CampaignSupport.isoTime(s.at, zone) ?? "")
        }
        if let csv {
            let header = "target,channel,reason,reply_id,reply_text,operator,note,at\r\n"
            var text = header
            for r in rows {
                let fields: [String] = [
                    r.target, r.channel, r.reason, r.replyID.map { String($0) } ?? "", r.replyText ?? "",
                    r.operatorName ?? "", r.note ?? "", r.at,
                ]
                text += MessageCSV.record(fields)
            }
            try OutputFile.write(text, to: csv, configuration: workspace.configuration)
        }
        if json {
            try Output.json(rows)
            return 0
        }
        Output.out("\(rows.count) suppression(s)")
        for r in rows {
            var line = "  \(r.at)  \(r.target)  \(r.channel)  \(r.reason)"
            if let text = r.replyText { line += "  reply #\(r.replyID ?? 0) \"\(RegistryText.escaped(text))\"" }
            if let who = r.operatorName { line += "  by \(who)" }
            if let note = r.note { line += ": \(RegistryText.escaped(note))" }
            Output.out(line)
        }
        return 0
    }
}

/// `suppressions add`: stop sending to an address or an enterprise on a channel.
struct SuppressionsAddCommand: Command {
    static let spec = CommandSpec(
        path: ["suppressions", "add"],
        summary:
            "Stop sending to a mobile number, an openid or an enterprise on a channel, now and in later campaigns.",
        options: SuppressionArguments.options + [
            .option("--reason", "TEXT", "Why (required; recorded with the entry).")
        ],
        discussion: """
            An address suppression also suppresses every message to it that has not gone out yet
            (state suppressed, reason operator). The daemon need not be restarted.
            """)

    private let who: SuppressionArguments
    let reason: String

    init(_ arguments: ParsedArguments) throws(UsageError) {
        who = try SuppressionArguments(arguments)
        reason = try SuppressionArguments.reason(arguments)
    }

    func run(_ context: Context) async throws -> Int32 {
        let workspace = Workspace(configuration: try context.configuration())
        let store = try workspace.openStore()
        let record = SuppressionRecord(
            target: who.target, channel: who.channel, reason: SuppressionRecord.byOperator,
            operatorName: OperatorIdentity.current(), note: reason, at: Date())
        let audit = AuditEntry.New(
            operatorName: record.operatorName ?? "", action: "suppressions.add", target: auditTarget(who),
            arguments: AuditArguments.text([("reason", reason)]))
        let (added, suppressed) = try store.addSuppression(record, audit: audit)
        guard added else {
            Output.out("Already suppressed: \(describe(record)) on \(who.channel.rawValue); nothing changed.")
            return 0
        }
        Output.out(
            "Suppressed \(describe(record)) on \(who.channel.rawValue); \(suppressed) waiting message(s) will not be sent."
        )
        return 0
    }
}

/// `suppressions remove`: send to an address or an enterprise again.
struct SuppressionsRemoveCommand: Command {
    static let spec = CommandSpec(
        path: ["suppressions", "remove"],
        summary: "Lift a suppression (an opt-out only with the recipient's consent).",
        options: SuppressionArguments.options + [.option("--reason", "TEXT", "Why (required; recorded).")],
        discussion: """
            Messages already suppressed stay suppressed; later campaigns reach the target again.
            Lifting an opt-out that came from the recipient's own reply needs their consent: say
            in --reason how it was given.
            """)

    private let who: SuppressionArguments
    let reason: String

    init(_ arguments: ParsedArguments) throws(UsageError) {
        who = try SuppressionArguments(arguments)
        reason = try SuppressionArguments.reason(arguments)
    }

    func run(_ context: Context) async throws -> Int32 {
        let workspace = Workspace(configuration: try context.configuration())
        let store = try workspace.openStore()
        let audit = AuditEntry.New(
            operatorName: OperatorIdentity.current(), action: "suppressions.remove", target: auditTarget(who),
            arguments: AuditArguments.text([("reason", reason)]))
        guard let removed = try store.removeSuppression(who.target, channel: who.channel, audit: audit) else {
            throw CommandFailure("no suppression for \(who.target) on \(who.channel.rawValue)")
        }
        Output.out(
            "Removed: \(describe(removed)) on \(removed.channel.rawValue) (was \(removed.reason)); reason: \(reason)")
        return 0
    }
}
