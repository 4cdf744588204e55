import Daemon
import Foundation
import Kit
import Planning
import Registry
import Storage

/// `uptake import FILE`: the tax system's export of who claimed which relief.
struct UptakeImportCommand: Command {
    static let spec = CommandSpec(
        path: ["uptake", "import"],
        summary: "Import who claimed which relief (CSV or JSON Lines): the uptake `campaign effect` measures.",
        arguments: ["FILE"],
        options: [
            .option("--encoding", "ENC", "auto (default), utf8, gb18030 or gbk: the file's text encoding."),
            .option("--format", "FMT", "csv or jsonl (default: by extension, .jsonl/.ndjson are JSON Lines)."),
        ],
        discussion: """
            Columns (any order): credit_code, policy_id, claimed_on (YYYY-MM-DD), and optionally amount
            (yuan, at most two decimals); other columns are ignored. Bad rows are reported with line,
            column and reason; rows naming a credit code not in the registry or a policy id not in
            config/policies are counted and listed (the first 10 of each) and not stored. Good rows are
            stored; a row for the same credit code, policy and day as a stored one replaces its amount.
            Exit 1 when any row was refused.
            """)

    /// How many unknown credit codes and policy ids are listed.
    static let listed = 10

    let file: String
    let encoding: TextEncoding
    let format: EnterpriseFileReader.Format?

    init(_ arguments: ParsedArguments) throws(UsageError) {
        file = arguments.positionals[0]
        let encodingName = arguments.value("--encoding") ?? "auto"
        guard let encoding = TextEncoding(option: encodingName) else {
            throw arguments.usageError("--encoding expects auto, utf8, gb18030 or gbk, got '\(encodingName)'")
        }
        self.encoding = encoding
        if let name = arguments.value("--format") {
            guard let format = EnterpriseFileReader.Format(rawValue: name) else {
                throw arguments.usageError("--format expects csv or jsonl, got '\(name)'")
            }
            self.format = format
        } else {
            format = nil
        }
    }

    func run(_ context: Context) async throws -> Int32 {
        let workspace = Workspace(configuration: try context.configuration())
        let (catalog, diagnostics) = workspace.loadPolicies()
        if !diagnostics.isEmpty {
            for diagnostic in diagnostics { Output.err("error: \(diagnostic)") }
            throw CommandFailure("the policy profiles have errors; run 'policypush policies check'")
        }
        let (rows, summary) = try UptakeFileReader(path: file, encoding: encoding, format: format).read()
        let store = try workspace.openStore()
        let known = try store.enterprises(creditCodes: Set(rows.map(\.creditCode)))
        var unknownCodes: [(line: Int, value: String)] = []
        var unknownPolicies: [(line: Int, value: String)] = []
        var claims: [UptakeClaim] = []
        for row in rows {
            let codeKnown = known[row.creditCode] != nil
            let policyKnown = catalog.entry(id: row.policyID) != nil
            if !codeKnown { unknownCodes.append((row.line, row.creditCode)) }
            if !policyKnown { unknownPolicies.append((row.line, row.policyID)) }
            guard codeKnown, policyKnown else { continue }
            claims.append(
                UptakeClaim(
                    creditCode: row.creditCode, policyID: row.policyID, claimedOn: row.claimedOn,
                    amountFen: row.amountFen))
        }
        let outcome = try store.upsertUptake(claims, source: file, at: Date())
        let refused = summary.rejected + (summary.accepted - claims.count)
        do {
            try store.appendAudit(
                AuditEntry.New(
                    operatorName: OperatorIdentity.current(), action: "uptake.import", target: file,
                    arguments: AuditArguments.text([("encoding", encoding.rawValue), ("format", format?.rawValue)]),
                    result:
                        "ok: read \(summary.rowsRead), inserted \(outcome.inserted), updated \(outcome.updated), unchanged \(outcome.unchanged), refused \(refused)"
                ))
        } catch {
            Output.err("warning: the import could not be added to the audit trail: \(error)")
        }
        for diagnostic in summary.diagnostics { Output.err(diagnostic.description) }
        func list(_ what: String, _ field: String, _ items: [(line: Int, value: String)]) {
            guard !items.isEmpty else { return }
            Output.err("\(items.count) row(s) name \(what):")
            for item in items.prefix(Self.listed) {
                Output.err(
                    Diagnostic(file: file, line: item.line, field: field, message: "unknown: \(item.value)").description
                )
            }
            if items.count > Self.listed { Output.err("  … and \(items.count - Self.listed) more") }
        }
        list("a credit code not in the registry", "credit_code", unknownCodes)
        list("a policy id not in config/policies", "policy_id", unknownPolicies)
        Output.out(
            "\(file): \(summary.rowsRead) rows read: inserted \(outcome.inserted), updated \(outcome.updated), unchanged \(outcome.unchanged), rejected \(summary.rejected), unknown credit code \(unknownCodes.count), unknown policy \(unknownPolicies.count)"
        )
        if refused > 0 {
            Output.err("\(refused) row(s) refused; see the messages above")
            return 1
        }
        return 0
    }
}

/// `uptake generate`: a synthetic uptake export for a campaign, for demos and tests.
struct UptakeGenerateCommand: Command {
    static let spec = CommandSpec(
        path: ["uptake", "generate"],
        summary: "Write a synthetic uptake export for a campaign (same seed, same file), with a chosen true effect.",
        options: [
            .option("--campaign", "ID", "The campaign (required)."),
            .option("--out", "FILE", "Output CSV file (required)."),
            .option("--base-rate", "P", "Share that claims without the push (default 0.2)."),
            .option("--effect", "P", "Added share among enterprises delivered to (default 0.15)."),
            .option("--seed", "N", "Random seed (default 1)."),
        ],
        discussion: """
            For each eligible enterprise of the campaign and each campaign policy it qualified for, a
            claim with probability base rate (control group, or no message delivered) or base rate +
            effect (delivered), on a day within 60 days of the campaign's start, for 500–50,000 yuan.
            """)

    let campaign: Int64
    let out: String
    let baseRate: Double
    let effect: Double
    let seed: UInt64

    init(_ arguments: ParsedArguments) throws(UsageError) {
        guard let text = arguments.value("--campaign"), let id = Int64(text), id > 0 else {
            throw arguments.usageError("--campaign expects a campaign id")
        }
        campaign = id
        guard let out = arguments.value("--out"), !out.isEmpty else { throw arguments.usageError("--out is required") }
        self.out = out
        func rate(_ name: String, _ fallback: Double) throws(UsageError) -> Double {
            guard let text = arguments.value(name) else { return fallback }
            guard let value = Double(text), (0...1).contains(value) else {
                throw arguments.usageError("\(name) expects a share from 0 to 1, got '\(text)'")
            }
            return value
        }
        baseRate = try rate("--base-rate", 0.2)
        effect = try rate("--effect", 0.15)
        guard baseRate + effect <= 1 else { throw arguments.usageError("--base-rate plus --effect exceeds 1") }
        guard let seed = UInt64(arguments.value("--seed") ?? "1") else {
            throw arguments.usageError("--seed expects a non-negative integer")
        }
        self.seed = seed
    }

    func run(_ context: Context) async throws -> Int32 {
        let workspace = Workspace(configuration: try context.configuration())
        let store = try CampaignSupport.openForReading(workspace)
        let record = try CampaignSupport.campaign(campaign, in: store)
        let inputs = try EffectInputs.read(campaign: record, store: store)
        let (start, _) = CampaignEffect.window(record, days: 60, zone: workspace.configuration.timeZone)
        var random = SplitMix64(seed: seed)
        var text = "credit_code,policy_id,claimed_on,amount\n"
        var rows = 0
        for a in inputs.assignments {
            for policy in record.spec.policyIDs where a.policyIDs.contains(policy) {
                let delivered = !a.control && inputs.deliveries[a.creditCode]?[policy] != nil
                // Three draws for every pair, claimed or not, so one pair's outcome never shifts another's.
                let (draw, day, amount) = (random.unit(), random.next() % 60, random.next() % 4_950_001)
                guard draw < baseRate + (delivered ? effect : 0) else { continue }
                let claimed = LocalDate(daysSinceEpoch: start.daysSinceEpoch + Int32(day))
                text += "\(a.creditCode),\(policy),\(claimed),\(CampaignEffect.yuan(50_000 + Int64(amount)))\n"
                rows += 1
            }
        }
        try OutputFile.write(text, to: out, configuration: workspace.configuration)
        Output.out("Wrote \(rows) claim(s) for campaign \(campaign) to \(out).")
        return 0
    }
}
