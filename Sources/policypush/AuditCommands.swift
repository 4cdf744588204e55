import Daemon
import Foundation
import Planning
import Storage

/// `audit list`: the operator actions recorded, oldest first.
struct AuditListCommand: Command {
    static let spec = CommandSpec(
        path: ["audit", "list"],
        summary: "List the audit trail: every operator action with its time, operator, target, arguments and result.",
        options: [
            .option(
                "--since", "DATE",
                "Only entries from DATE on: YYYY-MM-DD (midnight in the configured time zone), 'YYYY-MM-DD HH:MM' or ISO 8601."
            ),
            .flag("--json", "Print a JSON array for scripts (with each entry's prev_hash and hash)."),
        ])

    let since: String?
    let json: Bool

    init(_ arguments: ParsedArguments) throws(UsageError) {
        since = arguments.value("--since")
        if let since, AuditTime.parse(since, zone: TimeZone(identifier: "UTC")!) == nil {
            throw arguments.usageError("--since expects YYYY-MM-DD, 'YYYY-MM-DD HH:MM' or ISO 8601, got '\(since)'")
        }
        json = arguments.flag("--json")
    }

    struct Row: Encodable {
        var seq: Int64
        var at: String?
        var `operator`: String
        var action: String
        var target: String
        var arguments: String
        var result: String
        var prevHash: String
        var hash: String
    }

    func run(_ context: Context) async throws -> Int32 {
        let workspace = Workspace(configuration: try context.configuration())
        let zone = workspace.configuration.timeZone
        let store = try CampaignSupport.openForReading(workspace)
        let from = since.flatMap { AuditTime.parse($0, zone: zone) }
        var rows: [Row] = []
        try store.forEachAuditEntry(since: from) { e in
            rows.append(
                Row(
                    seq: e.seq, at: CampaignSupport.isoTime(e.at, zone), operator: e.operatorName, action: e.action,
                    target: e.target, arguments: e.arguments, result: e.result, prevHash: e.prevHash, hash: e.hash))
            return true
        }
        if json {
            try Output.json(rows)
            return 0
        }
        if rows.isEmpty {
            Output.out(since == nil ? "The audit trail is empty." : "No audit entries since \(since ?? "").")
            return 0
        }
        let operatorWidth = min(20, max(8, rows.map(\.operator.columns).max() ?? 0))
        let actionWidth = max(6, rows.map(\.action.count).max() ?? 0)
        let targetWidth = min(30, max(6, rows.map(\.target.count).max() ?? 0))
        func pad(_ text: String, _ width: Int) -> String {
            text.columns > width ? String(text.prefix(width - 1)) + "…" : text.padded(toColumns: width)
        }
        Output.out(
            "SEQ".leftPadded(5) + "  TIME                 " + pad("OPERATOR", operatorWidth) + "  "
                + pad("ACTION", actionWidth)
                + "  " + pad("TARGET", targetWidth) + "  RESULT  ARGUMENTS")
        for r in rows {
            Output.out(
                String(r.seq).leftPadded(5) + "  "
                    + (r.at.map(Self.shortTime) ?? "-").padding(toLength: 19, withPad: " ", startingAt: 0)
                    + "  " + pad(r.operator, operatorWidth) + "  " + pad(r.action, actionWidth) + "  "
                    + pad(r.target, targetWidth) + "  " + r.result + (r.arguments.isEmpty ? "" : "  " + r.arguments))
        }
        return 0
    }

    /// `2026-12-03T20:10:00+08:00` as `2026-12-03 20:10:00`.
    static func shortTime(_ iso: String) -> String {
        String(iso.prefix(19)).replacingOccurrences(of: "T", with: " ")
    }
}

/// `audit verify`: checks the audit trail's hash chain.
struct AuditVerifyCommand: Command {
    static let spec = CommandSpec(
        path: ["audit", "verify"],
        summary: "Check the audit trail's hash chain; exit 1 naming the first entry changed, removed or reordered.",
        options: [
            .option(
                "--anchor", "HASH",
                "Also require an entry with this hash (one exported earlier): a truncated or rewritten trail lacks it."),
            .flag("--json", "Print one JSON object for scripts."),
        ],
        discussion: """
            Walks the entries in seq order: seqs must run 1, 2, 3, … without gaps, each entry's prev_hash
            must be the hash of the one before (64 zeros for the first) and each hash must match the
            entry's content. On success prints the number of entries and the last entry's seq and hash:
            keep that hash somewhere the store's writers cannot reach and pass it as --anchor later. The
            chain alone cannot reveal entries removed from the end, nor a chain rewritten whole by someone
            with write access to the store.
            """)

    let anchor: String?
    let json: Bool

    init(_ arguments: ParsedArguments) throws(UsageError) {
        anchor = arguments.value("--anchor")?.lowercased()
        if let anchor, anchor.count != 64 || !anchor.allSatisfy(\.isHexDigit) {
            throw arguments.usageError("--anchor expects a SHA-256 hash (64 hexadecimal digits), got '\(anchor)'")
        }
        json = arguments.flag("--json")
    }

    func run(_ context: Context) async throws -> Int32 {
        let workspace = Workspace(configuration: try context.configuration())
        let store = try CampaignSupport.openForReading(workspace)
        var verifier = AuditChain.Verifier()
        var anchorSeq: Int64?
        var broken: AuditEntry?
        try store.forEachAuditEntry(since: nil) { entry in
            guard verifier.check(entry) else {
                broken = entry
                return false
            }
            if entry.hash == anchor { anchorSeq = entry.seq }
            return true
        }
        let result = verifier.finish()
        var problem = result.problem.map { "entry \($0.seq): \($0.reason)" }
        if problem == nil, let anchor, anchorSeq == nil {
            problem =
                "no entry has the anchor hash \(anchor): entries were removed from the end, or the trail was rewritten"
        }
        if json {
            struct Answer: Encodable {
                var intact: Bool
                var entries: Int
                var lastSeq: Int64
                var lastHash: String
                var brokenSeq: Int64?
                var problem: String?
                var anchorSeq: Int64?
            }
            try Output.json(
                Answer(
                    intact: problem == nil, entries: result.checked, lastSeq: result.lastSeq, lastHash: result.lastHash,
                    brokenSeq: result.problem?.seq, problem: problem, anchorSeq: anchorSeq))
            return problem == nil ? 0 : 1
        }
        if let problem {
            Output.err(result.problem == nil ? "error: \(problem)" : "error: the audit trail is broken at \(problem)")
            if let e = broken {
                let time = CampaignSupport.localTime(e.at, workspace.configuration.timeZone)
                Output.err(
                    "  as stored: seq \(e.seq), \(time), \(e.operatorName), \(e.action), \(e.target.isEmpty ? "-" : e.target), \(e.result)\(e.arguments.isEmpty ? "" : ", \(e.arguments)")"
                )
            }
            if result.lastSeq > 0 {
                let intact = result.lastSeq == 1 ? "entry 1 is intact" : "entries 1–\(result.lastSeq) are intact"
                Output.err("\(intact); the last intact hash is \(result.lastHash)")
            }
            return 1
        }
        Output.out(
            "The audit trail is intact: \(result.checked) entries; last seq \(result.lastSeq), hash \(result.lastHash)"
                + (anchorSeq.map { "; the anchor is entry \($0)" } ?? ""))
        return 0
    }
}

/// Times as `--since` takes them: a date alone is midnight in the configured zone.
enum AuditTime {
    static func parse(_ text: String, zone: TimeZone) -> Date? {
        let text = text.trimmingCharacters(in: .whitespaces)
        if text.count == 10, let date = StartTime.parse(text + " 00:00", zone: zone) { return date }
        return StartTime.parse(text, zone: zone)
    }
}
