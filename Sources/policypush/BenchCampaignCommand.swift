import Config
import Daemon
import Delivery
import Foundation
import Glibc
import Kit
import Planning
import Registry
import Storage

/// The daemon benchmark: a whole campaign through `policypush serve`, and a restart with a full outbox.
///
/// Everything runs in a scratch directory with its own config and store; the stub gateway and
/// the daemon are child processes, stopped (and the directory removed) also when a step fails.
struct BenchCampaignCommand: Command {
    static let spec = CommandSpec(
        path: ["bench-campaign"],
        summary: "Benchmark the daemon: a campaign end to end, and a restart with a full outbox (use a release build).",
        options: [
            .option("--enterprises", "N", "Enterprises of the end-to-end campaign (default 100000)."),
            .option(
                "--restart-messages", "M", "Messages queued in the outbox for the restart benchmark (default 1000000)."),
            .option("--only", "LIST", "Run only some of: e2e, restart (default: both)."),
            .option("--seed", "S", "Seed of the generated enterprises (default 1)."),
            .option("--store", "KIND", "sqlite (default) or postgres."),
            .option(
                "--store-url", "URL",
                "With --store postgres: an empty PostgreSQL database (default $POLICYPUSH_BENCH_PG; scripts/bench-campaign starts a private cluster)."
            ),
            .option(
                "--nodes", "N", "With --store postgres: daemons sharing the store in the e2e campaign (default 1)."),
            .option(
                "--url", "URL",
                "e2e: the gateway URL the daemon posts to (default: a generic stub started as a child process)."),
        ],
        discussion: """
            e2e: imports N generated enterprises, starts `policypush serve` and a generic stub gateway
            (no rate limit, 64 in flight; quiet hours, frequency caps and de-duplication off) as child
            processes, starts a campaign on all policies over SMS and reports the time from the start
            to the last acknowledgement, messages per second and the daemon's peak memory.
            restart: queues M messages of a running campaign directly in the store, then reports the
            time from starting `policypush serve` to the first request the stub gateway receives,
            then the sends of the next 5 s.
            With --store postgres the store is the database --store-url names (it must hold no campaign),
            and e2e runs --nodes daemons on it; the CPU of the database server's processes is reported
            beside the daemons'.
            With --url the e2e daemon's generic gateway posts to URL (e.g. the nginx stand-in of
            ../shared/bench), which sends no receipts: `accepted` is the end of a message, as with the
            stub. The restart benchmark always uses the stub (it reads the stub's request count).
            The last e2e line, `result: messages=… msgs_per_s=… cpu_us_per_msg=…`, is for scripts:
            the sending rate and the daemon's CPU per message once the campaign is planned.
            """)

    let enterprises: Int
    let restartMessages: Int
    let only: Set<String>
    let seed: Int
    /// The PostgreSQL store, or nil for a scratch SQLite file.
    let storeURL: String?
    let nodes: Int
    /// Where the e2e daemon's gateway posts; nil for a stub child process.
    let url: String?

    init(_ arguments: ParsedArguments) throws(UsageError) {
        enterprises = try arguments.int("--enterprises", default: 100_000, in: 1...10_000_000)!
        restartMessages = try arguments.int("--restart-messages", default: 1_000_000, in: 1...50_000_000)!
        only = Set(arguments.list("--only") ?? ["e2e", "restart"])
        for name in only where !["e2e", "restart"].contains(name) {
            throw arguments.usageError("--only expects e2e and/or restart, got '\(name)'")
        }
        seed = try arguments.int("--seed", default: 1, in: 0...Int.max)!
        switch arguments.value("--store") ?? "sqlite" {
        case "sqlite":
            storeURL = nil
        case "postgres":
            guard
                let url = arguments.value("--store-url")
                    ?? ProcessInfo.processInfo.environment["POLICYPUSH_BENCH_PG"], !url.isEmpty
            else {
                throw arguments.usageError("--store postgres needs --store-url (or POLICYPUSH_BENCH_PG)")
            }
            storeURL = url
        case let other:
            throw arguments.usageError("--store expects sqlite or postgres, got '\(other)'")
        }
        nodes = try arguments.int("--nodes", default: 1, in: 1...8)!
        if nodes > 1 && storeURL == nil {
            throw arguments.usageError("--nodes above 1 needs --store postgres: SQLite has one daemon per store")
        }
        url = arguments.value("--url")
        if let url, GatewayURL(url) == nil {
            throw arguments.usageError("--url expects an http:// or https:// URL with a host, got '\(url)'")
        }
    }

    func run(_ context: Context) async throws -> Int32 {
        #if DEBUG
            Output.err("warning: this is a debug build; run scripts/bench-campaign for meaningful figures")
        #endif
        // Policies and templates come from the usual config; the rest of the config is the benchmark's.
        let base = try context.configuration()
        Output.out("PolicyPush daemon benchmark (\(ProcessInfo.processInfo.activeProcessorCount) cores)")
        var ok = true
        if only.contains("e2e") { ok = try await endToEnd(base) && ok }
        if only.contains("restart") { ok = try await restart(base) && ok }
        return ok ? 0 : 1
    }

    // MARK: End to end

    private func endToEnd(_ base: Configuration) async throws -> Bool {
        let scratch = try Scratch(storeURL: storeURL)
        defer { scratch.remove() }
        try scratch.checkEmpty()
        var stub: Process?
        defer { stub.map(ChildProcess.stop) }
        let gateway: GatewayURL
        if let url {
            gateway = GatewayURL(url)!
        } else {
            let (process, port) = try StubProcess.start(arguments: ["--kind", "generic", "--port", "0"])
            stub = process
            gateway = GatewayURL(stubPort: port)
        }
        let landingPort = try LoopbackPort.free()
        for node in 1...nodes {
            try scratch.writeConfig(
                base: base, gateway: gateway, landingPort: node == 1 ? landingPort : nil, node: node)
        }

        let csv = scratch.directory + "/enterprises.csv"
        var t = ContinuousClock.now
        try await ChildProcess.run(
            ["enterprises", "generate", "--count", String(enterprises), "--seed", String(seed), "--out", csv],
            scratch: scratch)
        try await ChildProcess.run(["enterprises", "import", csv], scratch: scratch)
        Output.out(
            String(
                format: "e2e: %d enterprises generated and imported in %.2f s", enterprises,
                (ContinuousClock.now - t).seconds))

        var daemons: [Process] = []
        defer { daemons.forEach(ChildProcess.stop) }
        for node in 1...nodes {
            let daemon = try ChildProcess.startDaemon(scratch: scratch, node: node)
            daemons.append(daemon)
            try await ChildProcess.waitUntilReady(daemon, scratch: scratch, node: node)
        }
        let database = DatabaseCPU(active: storeURL != nil)
        let databaseBefore = database.seconds()

        let started = Date()
        t = ContinuousClock.now
        let output = try await ChildProcess.run(
            ["campaign", "start", "--name", "bench", "--all", "--channels", "sms"], scratch: scratch)
        guard let id = Int64(output.split(separator: "\n").first ?? "") else {
            throw CommandFailure("campaign start printed no id: \(output)")
        }
        let store = try Store.open(url: scratch.storeLocation, readOnly: true)
        var plannedAfter: Double?
        var cpuWhenPlanned = 0.0
        var counts: [MessageState: Int] = [:]
        var state = CampaignState.pending
        let open: Set<MessageState> = [.planned, .queued, .sending, .retryWait, .ambiguous, .unsent]
        while true {
            for (index, daemon) in daemons.enumerated() where !daemon.isRunning {
                throw CommandFailure(
                    "daemon \(index + 1) exited with status \(daemon.terminationStatus)\(scratch.logTail(node: index + 1))"
                )
            }
            guard let record = try store.campaign(id: id) else { throw CommandFailure("campaign \(id) vanished") }
            state = record.state
            if plannedAfter == nil, state == .running || state == .completed {
                plannedAfter = (record.plannedAt ?? Date()).timeIntervalSince(started)
                cpuWhenPlanned = daemons.map { ProcStatus.cpuSeconds(pid: $0.processIdentifier) }.reduce(0, +)
            }
            if plannedAfter != nil {
                counts = record.counts
                if counts.filter({ open.contains($0.key) }).values.reduce(0, +) == 0 { break }
            }
            if state.isFinal && plannedAfter == nil {
                throw CommandFailure("campaign \(id) ended \(state.rawValue) before running")
            }
            // Counting a PostgreSQL outbox costs the server a heap visit per message (15 ms per
            // state at 20,000 messages): polled as often as SQLite, the benchmark's own counting
            // was most of the database's CPU. The campaign's end is read to within a second.
            try await Task.sleep(for: .milliseconds(storeURL == nil ? 20 : 1000))
        }
        let total = (ContinuousClock.now - t).seconds
        let suppressed = counts[.suppressed] ?? 0
        let sent = counts.filter { $0.key != .suppressed }.values.reduce(0, +)
        let accepted = counts[.accepted] ?? 0
        let memory = daemons.map { ProcStatus.peakResidentBytes(pid: $0.processIdentifier) }.max() ?? 0
        let cpu = daemons.map { ProcStatus.cpuSeconds(pid: $0.processIdentifier) }.reduce(0, +)
        let databaseSeconds = database.seconds() - databaseBefore
        let pages = try await servePages(campaign: id, store: store, scratch: scratch, port: landingPort)
        daemons.forEach(ChildProcess.stop)
        let planned = plannedAfter ?? 0
        if url != nil { Output.out("e2e: gateway \(gateway.base + gateway.path) (no receipts: accepted is final)") }
        if storeURL != nil {
            Output.out("e2e: store PostgreSQL, \(nodes) node\(nodes == 1 ? "" : "s") sharing it")
        }

        Output.out(
            String(
                format: "e2e: campaign %lld planned %d messages (%d suppressed) %.2f s after start", id, sent,
                suppressed, planned))
        Output.out(
            String(
                format: "e2e: start to last acknowledgement %.2f s (%d accepted, %d other final)", total, accepted,
                sent - accepted))
        Output.out(
            String(
                format: "e2e: %.0f msgs/s over the whole campaign, %.0f msgs/s once planned", Double(sent) / total,
                Double(sent) / max(0.001, total - planned)))
        Output.out(
            String(
                format: "e2e: daemon peak memory (VmHWM) %.1f MB, CPU %.2f s (%.0f us/msg)%@",
                Double(memory) / 1_048_576, cpu, cpu / Double(max(1, sent)) * 1e6,
                nodes > 1 ? " over \(nodes) daemons" : ""))
        // Sending once planned is what compares with another sender given the same messages
        // (scripts/bench-campaign sets it beside curl --parallel); the CPU is read when the poll
        // first sees the campaign planned, so it is late by up to one poll's sends.
        let sendingSeconds = max(0.001, total - planned)
        Output.out(
            String(
                format:
                    "result: messages=%d msgs_per_s=%.0f cpu_us_per_msg=%.1f whole_msgs_per_s=%.0f whole_cpu_us_per_msg=%.1f",
                sent, Double(sent) / sendingSeconds, (cpu - cpuWhenPlanned) / Double(max(1, sent)) * 1e6,
                Double(sent) / total, cpu / Double(max(1, sent)) * 1e6))
        if database.active {
            Output.out(
                String(
                    format: "e2e: database server CPU %.2f s (%.0f us/msg), %.0f%% of daemons + database",
                    databaseSeconds, databaseSeconds / Double(max(1, sent)) * 1e6,
                    100 * databaseSeconds / max(0.001, databaseSeconds + cpu)))
        }
        Output.out(
            String(
                format:
                    "e2e: package page GET /p/<token> over loopback, first opens recorded: median %.2f ms, p99 %.2f ms, %.1f KB median (%d pages, %d of them 200)",
                pages.median * 1000, pages.p99 * 1000, Double(pages.bytes) / 1024, pages.count, pages.ok))
        return accepted == sent && sent > 0 && pages.ok == pages.count
    }

    /// Asks the daemon's landing listener for up to 2,000 of the campaign's package pages, one
    /// after another on one connection, as the enterprises' phones would open them: the time a
    /// client sees for each (the store lookup, the render and the open's write included).
    private func servePages(
        campaign: Int64, store: any PolicyPushStore, scratch: Scratch, port: Int
    ) async throws -> (count: Int, ok: Int, median: Double, p99: Double, bytes: Int) {
        var settings = LandingSettings()
        settings.secretFile = scratch.stateDirectory + "/landing.secret"
        settings.secretFileConfigured = true
        let tokens = try LinkTokens.load(settings)
        var codes: [String] = []
        try store.forEachMessage(campaignID: campaign, withEvents: false) { message, _ in
            if message.state != .suppressed && codes.count < 2000 { codes.append(message.creditCode) }
        }
        let transport = CurlTransport(configuration: .init())
        var times: [Double] = []
        var sizes: [Int] = []
        var ok = 0
        for code in codes {
            let url = "http://127.0.0.1:\(port)/p/" + tokens.token(campaign: campaign, creditCode: code)
            let request = HTTPRequest(
                method: .get, url: url, headers: ["User-Agent": "Mozilla/5.0 (iPhone) MicroMessenger/8.0"],
                timeout: .seconds(5), allowsTransportResend: true)
            let started = ContinuousClock.now
            let response = try? await transport.send(request)
            times.append((ContinuousClock.now - started).seconds)
            if let response, response.status == 200 {
                ok += 1
                sizes.append(response.body.count)
            }
        }
        await transport.shutdown()
        times.sort()
        sizes.sort()
        guard !times.isEmpty else { return (0, 0, 0, 0, 0) }
        return (
            times.count, ok, times[times.count / 2], times[min(times.count - 1, times.count * 99 / 100)],
            sizes.isEmpty ? 0 : sizes[sizes.count / 2]
        )
    }

    // MARK: Restart

    private func restart(_ base: Configuration) async throws -> Bool {
        let scratch = try Scratch(storeURL: storeURL)
        defer { scratch.remove() }
        try scratch.checkEmpty()
        let stub = try StubProcess.start(arguments: ["--kind", "generic", "--port", "0"])
        defer { ChildProcess.stop(stub.0) }
        try scratch.writeConfig(base: base, gateway: GatewayURL(stubPort: stub.1))

        var t = ContinuousClock.now
        try fillOutbox(location: scratch.storeLocation, count: restartMessages)
        Output.out(
            String(
                format: "restart: %d messages queued in the outbox in %.2f s", restartMessages,
                (ContinuousClock.now - t).seconds))

        let stats = "http://127.0.0.1:\(stub.1)/_stub/stats"
        let transport = CurlTransport(configuration: .init())
        t = ContinuousClock.now
        let daemon = try ChildProcess.startDaemon(scratch: scratch)
        defer { ChildProcess.stop(daemon) }
        var firstSend: Double?
        while firstSend == nil {
            guard daemon.isRunning else {
                await transport.shutdown()
                throw CommandFailure("the daemon exited with status \(daemon.terminationStatus)\(scratch.logTail())")
            }
            if ContinuousClock.now - t > .seconds(120) { break }
            if let received = try? await stubReceived(transport, stats), received > 0 {
                firstSend = (ContinuousClock.now - t).seconds
            } else {
                try await Task.sleep(for: .milliseconds(5))
            }
        }
        // Then the pace with a full outbox: sends the stub received over the next 5 s.
        var sustained: (count: Int, seconds: Double)?
        if firstSend != nil, let before = try? await stubReceived(transport, stats) {
            let window = ContinuousClock.now
            try await Task.sleep(for: .seconds(5))
            if let after = try? await stubReceived(transport, stats) {
                sustained = (after - before, (ContinuousClock.now - window).seconds)
            }
        }
        await transport.shutdown()
        let memory = ProcStatus.peakResidentBytes(pid: daemon.processIdentifier)
        t = ContinuousClock.now
        ChildProcess.stop(daemon)
        let stopped = (ContinuousClock.now - t).seconds
        guard let firstSend else {
            Output.out("restart: no send within 120 s of starting the daemon\(scratch.logTail())")
            return false
        }
        Output.out(
            String(
                format: "restart: daemon start to first send %.3f s with %d messages queued (target < 1 s)", firstSend,
                restartMessages))
        if let sustained {
            Output.out(
                String(
                    format: "restart: then %d sends in %.1f s = %.0f msgs/s", sustained.count, sustained.seconds,
                    Double(sustained.count) / sustained.seconds))
        }
        Output.out(
            String(
                format: "restart: daemon peak memory (VmHWM) %.1f MB; SIGTERM to exit %.2f s",
                Double(memory) / 1_048_576, stopped))
        return firstSend < 1
    }

    /// The stub's count of send requests received.
    private func stubReceived(_ transport: CurlTransport, _ url: String) async throws -> Int {
        let response = try await transport.send(HTTPRequest(method: .get, url: url, timeout: .seconds(2)))
        guard let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
            let received = object["received"] as? Int
        else { throw CommandFailure("unexpected /_stub/stats answer (\(response.status))") }
        return received
    }

    /// A running campaign with `count` queued SMS messages, written straight to the store.
    private func fillOutbox(location: String, count: Int) throws {
        let store = try Store.open(url: location)
        let now = Date()
        let id = try store.createCampaign(
            CampaignSpec(
                name: "restart-bench", policyIDs: ["bench"], channels: [.sms], fallback: false, startAt: now,
                maxMessages: nil,
                campaignDate: "2026-01-01", policyVersions: [:], templateVersion: ""))
        try store.applyCampaignState(id: id, .running, at: now)
        let json =
            #"{"sms":{"text":"【朝阳区税务局】尊敬的示例企业有限公司：贵单位可能符合小型微利企业所得税优惠等3项税费优惠政策，详情https://etax.example.gov.cn/p/abc123。回T退订","length":80,"segments":2,"includedPolicies":1}}"#
        let payload = try MessagePayload.decode(Array(json.utf8)).encoded()
        var batch: [NewMessage] = []
        batch.reserveCapacity(10_000)
        for i in 0..<count {
            let code = "91110000" + String(100_000_000 + i).suffix(9) + "X"
            batch.append(
                NewMessage(
                    campaignID: id, creditCode: code, channel: .sms,
                    recipient: "138" + String(100_000_000 + i).suffix(8),
                    policyIDs: ["bench"], payload: payload,
                    idempotencyKey: CampaignPlanner.key(campaign: id, secret: nil, creditCode: code, channel: "sms"),
                    state: .queued, suppressionReason: nil, notBefore: now))
            if batch.count == 10_000 || i == count - 1 {
                try store.insertMessages(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
    }
}

/// A scratch directory with the benchmark's config and each node's state directory; removed by
/// ``remove()``. The store is a SQLite file in node 1's state directory, or the PostgreSQL
/// database given.
private struct Scratch {
    let directory: String
    let storeURL: String?

    init(storeURL: String?) throws {
        self.storeURL = storeURL
        // mkdtemp replaces the six trailing template characters.
        var template = Array(
            (NSTemporaryDirectory() + "/policypush-bench-" + String(repeating: "X", count: 6)).utf8CString)
        guard let made = mkdtemp(&template) else {
            throw CommandFailure("cannot create a scratch directory in \(NSTemporaryDirectory())")
        }
        directory = String(cString: made)
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
    }

    func configPath(node: Int = 1) -> String { directory + (node == 1 ? "/policypush.json5" : "/node\(node).json5") }
    func stateDirectory(node: Int) -> String { directory + (node == 1 ? "/state" : "/state-node\(node)") }
    var stateDirectory: String { stateDirectory(node: 1) }
    /// What `Store.open(url:)` opens.
    var storeLocation: String { storeURL ?? stateDirectory + "/policypush.sqlite" }
    func logPath(node: Int = 1) -> String { directory + (node == 1 ? "/daemon.log" : "/daemon-node\(node).log") }

    /// A PostgreSQL store must hold no campaign: the figures count one campaign's messages, and
    /// daemons would send whatever else is queued.
    func checkEmpty() throws {
        guard storeURL != nil else { return }
        let store = try Store.open(url: storeLocation)
        guard try store.campaigns().isEmpty else {
            throw CommandFailure("--store-url names a database that holds campaigns already: give an empty one")
        }
    }

    func environment(node: Int = 1) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["POLICYPUSH_CONFIG"] = configPath(node: node)
        environment["POLICYPUSH_STATE_DIR"] = stateDirectory(node: node)
        environment.removeValue(forKey: "NOTIFY_SOCKET")
        environment.removeValue(forKey: "STATE_DIRECTORY")
        return environment
    }

    var environment: [String: String] { environment(node: 1) }

    /// One generic gateway without a rate limit; planning rules that would hold messages back are off.
    func writeConfig(base: Configuration, gateway: GatewayURL, landingPort: Int? = nil, node: Int = 1) throws {
        func quoted(_ text: String) -> String {
            "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        try FileManager.default.createDirectory(atPath: stateDirectory(node: node), withIntermediateDirectories: true)
        let store = storeURL.map { "\n  store: { url: \(quoted($0)) }," } ?? ""
        let text = """
            {
              state_dir: \(quoted(stateDirectory(node: node))),\(store)
              policies_dir: \(quoted(base.policiesDirectory)),
              templates_dir: \(quoted(base.templatesDirectory)),
              time_zone: \(quoted(base.timeZone.identifier)),
              channels: { preference: ["sms"], sms: ["gen"], wechat: ["gen"] },
              gateways: {
                gen: {
                  kind: "generic", base_url: \(quoted(gateway.base)), rate: 0, max_in_flight: 64,
                  options: { path: \(quoted(gateway.path)) },
                },
              },
              planning: {
                quiet_hours: { start: "00:00", end: "00:00" },
                frequency_caps: { sms: { off: true }, wechat: { off: true } },
                dedupe_days: 0,
              },\(landingPort.map { "\n  landing: { listen: \"127.0.0.1:\($0)\", rate_per_minute: 0 }," } ?? "")
            }

            """
        try text.write(toFile: configPath(node: node), atomically: true, encoding: .utf8)
    }

    /// A daemon log's last lines, for an error message.
    func logTail(node: Int = 1) -> String {
        guard let text = try? String(contentsOfFile: logPath(node: node), encoding: .utf8), !text.isEmpty else {
            return ""
        }
        return "; daemon log:\n" + text.split(separator: "\n").suffix(10).joined(separator: "\n")
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

/// A gateway URL as the generic gateway's config takes it: `base_url` and `options.path`.
private struct GatewayURL {
    /// Scheme, host and port, e.g. `http://127.0.0.1:18080`.
    let base: String
    /// Path and query, e.g. `/sms/send`.
    let path: String

    init?(_ url: String) {
        guard let components = URLComponents(string: url), let scheme = components.scheme,
            ["http", "https"].contains(scheme.lowercased()), let host = components.host, !host.isEmpty
        else { return nil }
        base = "\(scheme)://\(host)" + (components.port.map { ":\($0)" } ?? "")
        let query = components.percentEncodedQuery.map { "?" + $0 } ?? ""
        path = (components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath) + query
    }

    /// The generic stub child process on a loopback port.
    init(stubPort: Int) {
        base = "http://127.0.0.1:\(stubPort)"
        path = "/sms/send"
    }
}

/// CPU seconds of the PostgreSQL server on this machine: the postmaster's own and its reaped
/// backends' (`cutime`, `cstime`), plus the backends still running. Zero when not `active`.
private struct DatabaseCPU {
    let active: Bool

    func seconds() -> Double {
        guard active, let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return 0 }
        var total = 0.0
        for entry in entries {
            guard let pid = Int32(entry),
                let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8),
                comm.hasPrefix("postgres")
            else { continue }
            let parentIsServer =
                (try? String(contentsOfFile: "/proc/\(ProcStatus.parent(pid: pid))/comm", encoding: .utf8))?
                .hasPrefix("postgres") ?? false
            total += ProcStatus.cpuSeconds(pid: pid, children: !parentIsServer)
        }
        return total
    }
}

/// This executable run as a child process.
private enum ChildProcess {
    static var executable: URL {
        let url = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.resolvingSymlinksInPath()
        if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        return URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    }

    /// Runs a CLI command against the scratch config to the end; returns its stdout.
    @discardableResult
    static func run(_ arguments: [String], scratch: Scratch) async throws -> String {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = scratch.environment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes to the end before waiting, so a chatty child cannot block on a full pipe.
        async let stdout = out.fileHandleForReading.readToEnd()
        async let stderr = err.fileHandleForReading.readToEnd()
        let (output, errors) = try await (stdout ?? Data(), stderr ?? Data())
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CommandFailure(
                "policypush \(arguments.prefix(2).joined(separator: " ")) failed (\(process.terminationStatus)): \(String(decoding: errors, as: UTF8.self))"
            )
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Starts `policypush serve` with the scratch config; its log goes to the scratch directory.
    static func startDaemon(scratch: Scratch, node: Int = 1) throws -> Process {
        _ = FileManager.default.createFile(atPath: scratch.logPath(node: node), contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch.logPath(node: node)))
        defer { try? log.close() }
        let process = Process()
        process.executableURL = executable
        process.arguments = ["serve"]
        process.environment = scratch.environment(node: node)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = log
        try process.run()
        return process
    }

    /// Waits for the daemon's `ready` log line.
    static func waitUntilReady(_ daemon: Process, scratch: Scratch, node: Int = 1) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            guard daemon.isRunning else {
                throw CommandFailure(
                    "the daemon exited with status \(daemon.terminationStatus)\(scratch.logTail(node: node))")
            }
            if let text = try? String(contentsOfFile: scratch.logPath(node: node), encoding: .utf8),
                text.contains("msg=ready")
            {
                return
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw CommandFailure("the daemon was not ready within 60 s\(scratch.logTail(node: node))")
    }

    /// SIGTERM, then waits for the exit (SIGKILL after 60 s). Does nothing for a process that ended.
    static func stop(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// Figures of another process from /proc.
private enum ProcStatus {
    /// `VmHWM`: the peak resident set size, in bytes (0 if unreadable).
    static func peakResidentBytes(pid: Int32) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return 0 }
        return kb * 1024
    }

    /// User + system CPU seconds so far (0 if unreadable), with those of its waited-for children
    /// (`cutime`, `cstime`) when `children`.
    static func cpuSeconds(pid: Int32, children: Bool = false) -> Double {
        let fields = stat(pid)
        // After "pid (comm)": state is field 3; utime, stime, cutime, cstime are fields 14-17.
        guard fields.count > 14, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        let waited = children ? (Double(fields[13]) ?? 0) + (Double(fields[14]) ?? 0) : 0
        return (user + system + waited) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// The parent's pid (0 if unreadable).
    static func parent(pid: Int32) -> Int32 {
        let fields = stat(pid)
        return fields.count > 1 ? Int32(fields[1]) ?? 0 : 0
    }

    /// The fields of `/proc/PID/stat` after "pid (comm)": the state first.
    private static func stat(_ pid: Int32) -> [Substring] {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return [] }
        return text[text.index(after: close)...].split(separator: " ")
    }
}

/// A loopback port nobody listens on, for a child process's listener.
enum LoopbackPort {
    /// Binds port 0 on 127.0.0.1, reads the port the kernel chose, closes.
    static func free() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CommandFailure("socket() failed: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 ? getsockname(fd, $0, &length) : -1
            }
        }
        guard named == 0 else { throw CommandFailure("cannot bind a loopback port: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
