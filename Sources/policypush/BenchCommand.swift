import Daemon
import Foundation
import Glibc
import Kit
import Landing
import Messaging
import Planning
import Registry
import Rules
import Storage

/// The foundation benchmark: rule evaluation, preview, import, shard memory and the package page.
///
/// Run it on a release build (`scripts/bench`); figures from a debug build mean nothing.
struct BenchCommand: Command {
    static let spec = CommandSpec(
        path: ["bench"],
        summary:
            "Benchmark rule evaluation, preview, import, shard memory, the package page and planning (use a release build).",
        options: [
            .option(
                "--enterprises", "N|FILE",
                "Enterprises for rule evaluation and memory (default 1000000), or a CSV or JSON Lines file of "
                    + "them (as `enterprises import` reads) for the rules and preview benchmarks."),
            .option(
                "--policies", "M", "Policies for rule evaluation: the shipped ones plus synthetic ones (default 100)."),
            .option(
                "--policies-dir", "DIR",
                "Time these policies (*.json5 profiles) instead of the configured ones, with no synthetic ones added."),
            .option("--preview", "N", "Enterprises for the preview benchmark (default 100000)."),
            .option(
                "--plan", "N",
                "Enterprises for the planning benchmark (default 100000): imported into a new SQLite store, then a "
                    + "campaign on all policies over SMS planned as the daemon plans it."),
            .option("--import-rows", "N", "Rows of the CSV for the import benchmark (default 1000000)."),
            .option(
                "--import-store", "URL",
                "Store the import benchmark writes into: an empty PostgreSQL database (postgres:// URL or libpq "
                    + "string) or SQLite path (default: a new SQLite file in a temporary directory)."),
            .option("--pages", "N", "Package pages rendered per size for the page benchmark (default 10000)."),
            .option("--only", "LIST", "Run only some of: rules, preview, import, page, plan (default: all)."),
            .option("--seed", "S", "Seed of the synthetic data (default 42)."),
        ],
        discussion: """
            A foreign workload times the same predicates and enterprises another engine is timed on:
            --policies-dir DIR replaces the configured policies (and the synthetic ones --policies adds),
            --enterprises FILE the generated enterprises of the rules and preview benchmarks (with a
            file, --only defaults to rules,preview, and import reads that file). A value of
            --enterprises that is a whole number is a count; write ./1000 for a file named 1000. A
            file with rejected rows is refused, each problem named by file, line and field as
            `enterprises import` names it: the figures would be for a different workload.
            """)

    let enterprises: Int
    /// Enterprises to read instead of generating them (`--enterprises FILE`).
    let enterprisesFile: String?
    let policies: Int
    let policiesDirectory: String?
    let previewCount: Int
    /// Enterprises of the planning benchmark (`--plan`).
    let planCount: Int
    let importRows: Int
    let importStore: String?
    let pages: Int
    let only: Set<String>
    let seed: UInt64

    init(_ arguments: ParsedArguments) throws(UsageError) {
        if let value = arguments.value("--enterprises"), Int(value) == nil {
            enterprisesFile = value
            enterprises = 0
            if arguments.value("--preview") != nil {
                throw arguments.usageError("--preview N generates enterprises: not with --enterprises FILE")
            }
        } else {
            enterprisesFile = nil
            enterprises = try arguments.int("--enterprises", default: 1_000_000, in: 1...50_000_000)!
        }
        policiesDirectory = arguments.value("--policies-dir")
        if policiesDirectory != nil && arguments.value("--policies") != nil {
            throw arguments.usageError("--policies M adds synthetic policies: not with --policies-dir")
        }
        policies = try arguments.int("--policies", default: 100, in: 1...10_000)!
        previewCount = try arguments.int("--preview", default: 100_000, in: 1...50_000_000)!
        planCount = try arguments.int("--plan", default: 100_000, in: 1...50_000_000)!
        importRows = try arguments.int("--import-rows", default: 1_000_000, in: 1...50_000_000)!
        importStore = arguments.value("--import-store")
        pages = try arguments.int("--pages", default: 10_000, in: 1...10_000_000)!
        only = Set(
            arguments.list("--only")
                ?? (enterprisesFile == nil ? ["rules", "preview", "import", "page", "plan"] : ["rules", "preview"]))
        for name in only where !["rules", "preview", "import", "page", "plan"].contains(name) {
            throw arguments.usageError("--only expects rules, preview, import, page and/or plan, got '\(name)'")
        }
        seed = UInt64(try arguments.int("--seed", default: 42, in: 0...Int.max)!)
    }

    func run(_ context: Context) async throws -> Int32 {
        let workspace = Workspace(configuration: try context.configuration())
        let (catalog, diagnostics) =
            policiesDirectory.map { PolicyCatalog.load(directory: $0, schema: workspace.schema) }
            ?? workspace.loadPolicies()
        guard diagnostics.isEmpty else {
            for diagnostic in diagnostics { Output.err(diagnostic.description) }
            throw CommandFailure("\(diagnostics.count) policy error(s) in \(policiesDirectory ?? "the policies")")
        }
        guard !catalog.entries.isEmpty else {
            throw CommandFailure("\(policiesDirectory ?? "the policies directory") holds no policy (*.json5)")
        }
        #if DEBUG
            Output.err("warning: this is a debug build; run scripts/bench for meaningful figures")
        #endif
        Output.out(
            "PolicyPush foundation benchmark (\(ProcessInfo.processInfo.activeProcessorCount) cores, \(workspace.configuration.shards) shards)"
        )
        let workload = try enterprisesFile.map { try ForeignEnterprises.read($0, workspace: workspace) }
        if let workload, let policiesDirectory {
            Output.out(
                "workload: \(workload.path) (\(workload.enterprises.count) enterprises), policies of \(policiesDirectory)"
            )
        } else if let workload {
            Output.out("workload: \(workload.path) (\(workload.enterprises.count) enterprises)")
        } else if let policiesDirectory {
            Output.out("workload: policies of \(policiesDirectory)")
        }
        if only.contains("rules") { try await benchRules(workspace: workspace, catalog: catalog, workload: workload) }
        if only.contains("preview") {
            try await benchPreview(workspace: workspace, catalog: catalog, workload: workload)
        }
        if only.contains("import") { try benchImport(workspace: workspace) }
        if only.contains("page") { benchPage(catalog: catalog) }
        if only.contains("plan") { try await benchPlan(workspace: workspace, catalog: catalog) }
        return 0
    }

    private func benchRules(workspace: Workspace, catalog: PolicyCatalog, workload: ForeignEnterprises?) async throws {
        let before = Memory.residentBytes()
        var generator = EnterpriseGenerator(seed: seed)
        let started = Date()
        let registry = ShardedRegistry.build(shardCount: workspace.configuration.shards, schema: workspace.schema) {
            add in
            if let workload {
                workload.enterprises.forEach(add)
            } else {
                for _ in 0..<enterprises { add(generator.next()) }
            }
        }
        let loaded = registry.count
        let loadSeconds = Date().timeIntervalSince(started)
        Memory.trim()
        let after = Memory.residentBytes()
        let perEnterprise = Double(after - before) / Double(loaded)
        Output.out(
            String(
                format:
                    "memory: %d enterprises in %d shards: resident +%.0f MB = %.0f bytes/enterprise (columns and packed strings: %.0f bytes/enterprise); %@ in %.2f s",
                loaded, registry.shards.count, Double(after - before) / 1e6, perEnterprise,
                Double(registry.approximateByteCount) / Double(loaded),
                workload == nil ? "generated and loaded" : "loaded (file read before)", loadSeconds))

        var rules = catalog.entries.map(\.rule)
        if policiesDirectory == nil {
            var synthetic = SyntheticRules(seed: seed)
            while rules.count < policies {
                rules.append(try CompiledRule(source: synthetic.next(), schema: workspace.schema))
            }
            rules = Array(rules.prefix(policies))
        }
        let evaluator = RuleEvaluator(rules: rules)
        var best = Double.infinity
        var matched = 0
        for _ in 0..<5 {
            let t0 = Date()
            let results = await registry.evaluate(evaluator)
            best = min(best, Date().timeIntervalSince(t0))
            matched = results.reduce(0) { $0 + $1.reduce(0) { $0 + $1.popcount } }
        }
        let evaluations = Double(loaded) * Double(rules.count)
        Output.out(
            String(
                format:
                    "rules: %d enterprises x %d policies = %.0f M evaluations in %.1f ms = %.0f M evaluations/s (best of 5; %d matches)",
                loaded, rules.count, evaluations / 1e6, best * 1000, evaluations / best / 1e6, matched))
    }

    private func benchPreview(workspace: Workspace, catalog: PolicyCatalog, workload: ForeignEnterprises?) async throws
    {
        let renderer = PackageRenderer(templates: try workspace.loadTemplates())
        var generator = EnterpriseGenerator(seed: seed &+ 1)
        let registry = ShardedRegistry.build(shardCount: workspace.configuration.shards, schema: workspace.schema) {
            add in
            if let workload {
                workload.enterprises.forEach(add)
            } else {
                for _ in 0..<previewCount { add(generator.next()) }
            }
        }
        let previewed = registry.count
        var times: [Double] = []
        var preview: CampaignPreview?
        for _ in 0..<7 {
            let t0 = Date()
            preview = await registry.preview(
                catalog: catalog, policyIDs: nil, channels: [.wechat, .sms],
                date: LocalDate(year: 2026, month: 6, day: 1)!,
                renderer: renderer)
            times.append(Date().timeIntervalSince(t0))
        }
        times.sort()
        Output.out(
            String(
                format:
                    "preview: %d enterprises, %d policies: median %.1f ms, best %.1f ms (audience %d, %d SMS, %d segments)",
                previewed, catalog.entries.count, times[times.count / 2] * 1000, times[0] * 1000,
                preview!.audience, preview!.smsMessages, preview!.smsSegments))
    }

    private func benchImport(workspace: Workspace) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("policypush-bench-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let csv = enterprisesFile ?? dir + "/enterprises.csv"
        if enterprisesFile == nil { try EnterpriseCSVWriter.generate(count: importRows, seed: seed &+ 2, to: csv) }
        let size = (try FileManager.default.attributesOfItem(atPath: csv)[.size] as? Int) ?? 0

        let reader = EnterpriseFileReader(
            path: csv, encoding: .auto, format: nil, schema: workspace.schema, today: workspace.today())
        let t0 = Date()
        let parsed = try reader.read { _ in }
        let parseSeconds = Date().timeIntervalSince(t0)
        let store = try importStore.map { try Store.open(url: $0) } ?? Store.open(at: dir + "/bench.sqlite")
        let backend = store is PostgresStore ? "PostgreSQL" : "SQLite"
        let t1 = Date()
        let counts = try store.importEnterprises(file: csv, replace: false) { sink in
            RejectedRows(count: try reader.read { try sink($0) }.rejected)
        }
        let importSeconds = Date().timeIntervalSince(t1)
        let t2 = Date()
        var loaded = 0
        try store.forEachEnterprise { _ in loaded += 1 }
        let loadSeconds = Date().timeIntervalSince(t2)
        let parsing = String(
            format: "import: %d rows (%.0f MB %@): parse+validate %.0f rows/s", parsed.rowsRead, Double(size) / 1e6,
            reader.format.rawValue.uppercased(), Double(parsed.rowsRead) / parseSeconds)
        let writing = String(
            format: "%.2f s = %.0f rows/s (inserted %d, rejected %d); reading back %.0f rows/s", importSeconds,
            Double(parsed.rowsRead) / importSeconds, counts.inserted, parsed.rejected, Double(loaded) / loadSeconds)
        Output.out("\(parsing); into \(backend) \(writing)")
    }
}

extension BenchCommand {
    /// The package page as the landing listener renders it per request: bytes and render time for
    /// one policy and for all shipped ones (targets: under 30 KB and 5 ms).
    fileprivate func benchPage(catalog: PolicyCatalog) {
        var generator = EnterpriseGenerator(seed: seed &+ 3)
        let enterprises = (0..<100).map { _ in generator.next() }
        let profiles = catalog.entries.map(\.profile)
        let page = PackagePage(bureau: "国家税务总局北京市朝阳区税务局")
        let date = LocalDate(year: 2026, month: 6, day: 1)!
        for count in Set([1, profiles.count]).sorted() {
            let policies = Array(profiles.prefix(count))
            var times: [Double] = []
            times.reserveCapacity(pages)
            var largest = 0
            for index in 0..<pages {
                let t0 = ContinuousClock.now
                let html = page.render(
                    enterprise: enterprises[index % enterprises.count], policies: policies, date: date)
                times.append((ContinuousClock.now - t0).seconds)
                largest = max(largest, html.utf8.count)
            }
            times.sort()
            Output.out(
                String(
                    format: "page: %d policies: %d bytes (%.1f KB); render median %.3f ms, p99 %.3f ms (%d pages)",
                    count, largest, Double(largest) / 1024, times[times.count / 2] * 1000,
                    times[min(times.count - 1, times.count * 99 / 100)] * 1000, pages))
        }
    }
}

/// The enterprises of a foreign workload (`bench --enterprises FILE`), read once for every benchmark.
struct ForeignEnterprises {
    let path: String
    let enterprises: [Enterprise]

    /// Reads `path` as `enterprises import` would (format by extension, encoding detected).
    ///
    /// - Throws: the file's own problem (unreadable, missing columns) as import reports it, or,
    ///   after printing each rejected row's problems (file, line, column, field), a failure:
    ///   timing what is left would time a different workload than the other engine's.
    static func read(_ path: String, workspace: Workspace) throws -> ForeignEnterprises {
        let reader = EnterpriseFileReader(
            path: path, encoding: .auto, format: nil, schema: workspace.schema, today: workspace.today())
        var enterprises: [Enterprise] = []
        let summary = try reader.read { enterprises.append(contentsOf: $0) }
        for diagnostic in summary.allDiagnostics { Output.err(diagnostic.description) }
        guard summary.rejected == 0 else {
            throw CommandFailure("\(path): \(summary.rejected) row(s) rejected (see above); fix them to time this file")
        }
        guard !enterprises.isEmpty else { throw CommandFailure("\(path): no enterprise in the file") }
        return ForeignEnterprises(path: path, enterprises: enterprises)
    }
}

/// Random rules of the same shape as the shipped profiles.
struct SyntheticRules {
    private var state: UInt64

    init(seed: UInt64) { state = seed ^ 0x9E37_79B9_7F4A_7C15 }

    private mutating func random(_ n: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(n))
    }

    mutating func next() -> String {
        let types = ["general", "small_scale", "individual"]
        let letters = ["C", "F", "I", "M", "G", "D", "H", "K", "L", "E"]
        var clauses: [String] = []
        clauses.append(
            random(3) == 0
                ? "taxpayer_type in [\"\(types[random(3)])\", \"\(types[random(3)])\"]"
                : "taxpayer_type == \"\(types[random(3)])\"")
        let extra = 2 + random(3)
        for _ in 0..<extra {
            switch random(8) {
            case 0: clauses.append("annual_sales <= \((1 + random(100)) * 100_000)")
            case 1: clauses.append("employees <= \((1 + random(30)) * 10)")
            case 2: clauses.append("total_assets <= \((1 + random(100)) * 1_000_000)")
            case 3: clauses.append("taxable_income > 0 and taxable_income <= \((1 + random(50)) * 100_000)")
            case 4: clauses.append("industry_code startswith \"\(letters[random(letters.count)])\"")
            case 5: clauses.append("credit_rating in [\"A\", \"B\"]")
            case 6: clauses.append(random(2) == 0 ? "high_tech" : "not high_tech")
            default: clauses.append("registered_on >= \(2000 + random(25))-01-01")
            }
        }
        if random(4) == 0 {
            let last = clauses.removeLast()
            clauses[clauses.count - 1] = "(\(clauses[clauses.count - 1]) or \(last))"
        }
        return clauses.joined(separator: " and ")
    }
}

enum Memory {
    /// Resident set size from /proc/self/statm.
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Returns freed heap to the system so RSS reflects live data.
    static func trim() { _ = mallocTrim(0) }
}

/// glibc's malloc_trim; <malloc.h> is not part of the Glibc module.
@_silgen_name("malloc_trim")
private func mallocTrim(_ pad: Int) -> Int32
