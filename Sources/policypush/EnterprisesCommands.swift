import Daemon
import Foundation
import Planning
import Registry
import Storage

struct ImportCommand: Command {
    static let spec = CommandSpec(
        path: ["enterprises", "import"],
        summary: "Import enterprises from CSV or JSON Lines into the registry (upsert by credit code).",
        arguments: ["FILE"],
        options: [
            .option("--encoding", "ENC", "auto (default), utf8, gb18030 or gbk: the CSV's text encoding."),
            .option("--format", "FMT", "csv or jsonl (default: by extension, .jsonl/.ndjson are JSON Lines)."),
            .option(
                "--errors", "FILE",
                "Also write every problem as CSV (file,line,column,field,message,severity): errors and warnings."),
            .flag("--replace", "Make the file the whole registry: enterprises absent from it are removed."),
        ],
        discussion: """
            Columns (any order): credit_code, name, taxpayer_type, industry_code, region, registered_on,
            employees, annual_sales, taxable_income, total_assets, credit_rating, high_tech, mobile,
            wechat_openid, sms_opt_out, wechat_opt_out; other columns are kept as custom attributes.
            Bad rows are reported with line, column and reason; good rows are imported. Exit 1 when any
            row was rejected. Rows whose name, region or custom text messages will print changed (control
            or bidi characters, signature brackets, web addresses, over 30 characters) are imported with a
            warning; warnings alone leave the exit status 0.
            """)

    let file: String
    let encoding: TextEncoding
    /// As given, for the audit trail.
    let encodingOption: String
    let format: EnterpriseFileReader.Format?
    let errorsFile: String?
    let replace: Bool

    init(_ arguments: ParsedArguments) throws(UsageError) {
        file = arguments.positionals[0]
        let encodingName = arguments.value("--encoding") ?? "auto"
        guard let encoding = TextEncoding(option: encodingName) else {
            throw arguments.usageError("--encoding expects auto, utf8, gb18030 or gbk, got '\(encodingName)'")
        }
        self.encoding = encoding
        encodingOption = encodingName
        if let name = arguments.value("--format") {
            guard let format = EnterpriseFileReader.Format(rawValue: name) else {
                throw arguments.usageError("--format expects csv or jsonl, got '\(name)'")
            }
            self.format = format
        } else {
            format = nil
        }
        errorsFile = arguments.value("--errors")
        replace = arguments.flag("--replace")
    }

    func run(_ context: Context) async throws -> Int32 {
        let workspace = Workspace(configuration: try context.configuration())
        let reader = EnterpriseFileReader(
            path: file, encoding: encoding, format: format, schema: workspace.schema, today: workspace.today())
        let store = try workspace.openStore()
        let started = Date()
        var summary: ReadSummary?
        // Recorded after the import, with its counts: an import is one long transaction of its own.
        func audit(_ result: String) {
            let entry = AuditEntry.New(
                operatorName: OperatorIdentity.current(), action: "enterprises.import", target: file,
                arguments: AuditArguments.text([
                    ("encoding", encodingOption), ("format", format?.rawValue), ("replace", replace ? "true" : nil),
                ]),
                result: result)
            do { try store.appendAudit(entry) } catch {
                Output.err("warning: the import could not be added to the audit trail: \(error)")
            }
        }
        let counts: ImportCounts
        do {
            counts = try store.importEnterprises(file: file, replace: replace) { sink in
                let read = try reader.read { batch in try sink(batch) }
                summary = read
                return RejectedRows(count: read.rejected, creditCodes: read.rejectedCreditCodes)
            }
        } catch {
            audit("failed: \(error)")
            throw error
        }
        guard let summary else {
            audit("failed: nothing was read")
            throw CommandFailure("\(file): nothing was read")
        }
        audit(
            "ok: read \(summary.rowsRead), inserted \(counts.inserted), updated \(counts.updated), unchanged \(counts.unchanged), rejected \(summary.rejected)"
                + (replace ? ", removed \(counts.removed)" : ""))
        let problems = summary.allDiagnostics
        for diagnostic in problems { Output.err(diagnostic.description) }
        if let errorsFile {
            try OutputFile.write(DiagnosticCSV.csv(problems), to: errorsFile, configuration: workspace.configuration)
        }
        let seconds = Date().timeIntervalSince(started)
        var line = "\(file): \(summary.rowsRead) rows read in \(String(format: "%.2f", seconds)) s: "
        line +=
            "inserted \(counts.inserted), updated \(counts.updated), unchanged \(counts.unchanged), rejected \(summary.rejected)"
        if replace { line += ", removed \(counts.removed)" }
        if summary.rowsWithWarnings > 0 { line += "; \(summary.rowsWithWarnings) row(s) with warnings" }
        Output.out(line)
        if summary.rejected > 0 {
            Output.err(
                "\(summary.rejected) row(s) rejected"
                    + (errorsFile.map { "; details in \($0)" } ?? "; see the messages above"))
            return 1
        }
        return 0
    }
}

struct GenerateCommand: Command {
    static let spec = CommandSpec(
        path: ["enterprises", "generate"],
        summary: "Write realistic synthetic enterprises as CSV (same seed, same file).",
        options: [
            .option("--count", "N", "How many enterprises (required)."),
            .option("--seed", "S", "Random seed (default 1)."),
            .option("--out", "FILE", "Output file (default: standard output)."),
        ])

    let count: Int
    let seed: UInt64
    let out: String?

    init(_ arguments: ParsedArguments) throws(UsageError) {
        guard let count = try arguments.int("--count", in: 0...100_000_000) else {
            throw arguments.usageError("--count is required")
        }
        self.count = count
        let seedText = arguments.value("--seed") ?? "1"
        guard let seed = UInt64(seedText) else {
            throw arguments.usageError("--seed expects a non-negative integer, got '\(seedText)'")
        }
        self.seed = seed
        out = arguments.value("--out")
    }

    func run(_ context: Context) async throws -> Int32 {
        func generate(into handle: FileHandle) throws {
            var generator = EnterpriseGenerator(seed: seed)
            var buffer = EnterpriseCSVWriter.header()
            for _ in 0..<count {
                buffer += EnterpriseCSVWriter.record(generator.next())
                if buffer.utf8.count > 1 << 20 {
                    try handle.write(contentsOf: Data(buffer.utf8))
                    buffer = ""
                }
            }
            try handle.write(contentsOf: Data(buffer.utf8))
        }
        if let out {
            // Complete or not at all, and never over the store (when a configuration names one).
            try OutputFile.write(to: out, configuration: try? context.configuration(), generate)
            Output.err("wrote \(count) enterprises to \(out) (seed \(seed))")
            return 0
        }
        try generate(into: FileHandle.standardOutput)
        return 0
    }
}

struct ShowCommand: Command {
    static let spec = CommandSpec(
        path: ["enterprises", "show"],
        summary: "Print one enterprise of the registry (phone and openid masked).",
        arguments: ["CODE"],
        options: [.flag("--json", "Print as JSON.")])

    let code: String
    let json: Bool

    init(_ arguments: ParsedArguments) throws(UsageError) {
        code = arguments.positionals[0].uppercased()
        json = arguments.flag("--json")
    }

    func run(_ context: Context) async throws -> Int32 {
        let workspace = Workspace(configuration: try context.configuration())
        let store = try workspace.openStore(readOnly: true)
        guard let enterprise = try store.enterprise(creditCode: code) else {
            throw CommandFailure("no enterprise with credit code \(code) in \(workspace.storeDescription)")
        }
        let fields = EnterpriseFields(enterprise, schema: workspace.schema)
        if json {
            try Output.json(Dictionary(uniqueKeysWithValues: fields.rows.map { ($0.0, $0.1) }))
        } else {
            let width = fields.rows.map(\.0.count).max() ?? 0
            for (key, value) in fields.rows {
                // As imported, but a line break or bidi override must not rearrange the terminal.
                Output.out(key.padding(toLength: width + 2, withPad: " ", startingAt: 0) + RegistryText.escaped(value))
            }
        }
        return 0
    }
}

/// An enterprise as printable key/value rows, contacts masked.
struct EnterpriseFields {
    var rows: [(String, String)] = []

    init(_ e: Enterprise, schema: AttributeSchema) {
        rows.append(("credit_code", e.creditCode))
        rows.append(("name", e.name))
        for definition in AttributeSchema.builtins where !["has_mobile", "has_wechat"].contains(definition.name) {
            let value = e.value(of: definition.name, schema: schema)
            rows.append((definition.name, value.map(Self.plain) ?? "(missing)"))
        }
        rows.append(("mobile", e.mobile.map(Mask.mobile) ?? "(none)"))
        rows.append(("wechat_openid", e.wechatOpenID.map(Mask.openID) ?? "(none)"))
        for key in e.custom.keys.sorted() { rows.append((key, e.custom[key]!)) }
    }

    static func plain(_ value: AttributeValue) -> String {
        if case .string(let s) = value { return s }
        return value.description
    }
}
