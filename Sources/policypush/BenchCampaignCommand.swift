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
        ],
        discussion: """
            e2e: imports N generated enterprises, starts `policypush serve` and a generic stub gateway
            (no rate limit, 64 in flight; quiet hours, frequency caps and de-duplication off) as child
            processes, starts a campaign on all policies over SMS and reports the time from the start
            to the last acknowledgement, messages per second and the daemon's peak memory.
            restart: queues M messages of a running campaign directly in the store, then reports the
            time from starting `policypush serve` to the first request the stub gateway receives,
            then the sends of the next 5 s.
            """)

    let enterprises: Int
    let restartMessages: Int
    let only: Set<String>
    let seed: Int

    init(_ arguments: ParsedArguments) throws(UsageError) {
        enterprises = try arguments.int("--enterprises", default: 100_000, in: 1...10_000_000)!
        restartMessages = try arguments.int("--restart-messages", default: 1_000_000, in: 1...50_000_000)!
        only = Set(arguments.list("--only") ?? ["e2e", "restart"])
        for name in only where !["e2e", "restart"].contains(name) {
            throw arguments.usageError("--only expects e2e and/or restart, got '\(name)'")
        }
        seed = try arguments.int("--seed", default: 1, in: 0...Int.max)!
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
        let scratch = try Scratch()
        defer { scratch.remove() }
        let stub = try StubProcess.start(arguments: ["--kind", "generic", "--port", "0"])
        defer { ChildProcess.stop(stub.0) }
        let landingPort = try LoopbackPort.free()
        try scratch.writeConfig(base: base, stubPort: stub.1, landingPort: landingPort)

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

        let daemon = try ChildProcess.startDaemon(scratch: scratch)
        defer { ChildProcess.stop(daemon) }
        try await ChildProcess.waitUntilReady(daemon, scratch: scratch)

        let started = Date()
        t = ContinuousClock.now
        let output = try await ChildProcess.run(
            ["campaign", "start", "--name", "bench", "--all", "--channels", "sms"], scratch: scratch)
        guard let id = Int64(output.split(separator: "\n").first ?? "") else {
            throw CommandFailure("campaign start printed no id: \(output)")
        }
        let store = try Store.open(at: scratch.storePath, readOnly: true)
        var plannedAfter: Double?
        var counts: [MessageState: Int] = [:]
        var state = CampaignState.pending
        let open: Set<MessageState> = [.planned, .queued, .sending, .retryWait, .ambiguous, .unsent]
        while true {
            guard daemon.isRunning else {
                throw CommandFailure("the daemon exited with status \(daemon.terminationStatus)\(scratch.logTail())")
            }
            guard let record = try store.campaign(id: id) else { throw CommandFailure("campaign \(id) vanished") }
            state = record.state
            if plannedAfter == nil, state == .running || state == .completed {
                plannedAfter = (record.plannedAt ?? Date()).timeIntervalSince(started)
            }
            if plannedAfter != nil {
                counts = record.counts
                if counts.filter({ open.contains($0.key) }).values.reduce(0, +) == 0 { break }
            }
            if state.isFinal && plannedAfter == nil {
                throw CommandFailure("campaign \(id) ended \(state.rawValue) before running")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let total = (ContinuousClock.now - t).seconds
        let suppressed = counts[.suppressed] ?? 0
        let sent = counts.filter { $0.key != .suppressed }.values.reduce(0, +)
        let accepted = counts[.accepted] ?? 0
        let memory = ProcStatus.peakResidentBytes(pid: daemon.processIdentifier)
        let cpu = ProcStatus.cpuSeconds(pid: daemon.processIdentifier)
        let pages = try await servePages(campaign: id, store: store, scratch: scratch, port: landingPort)
        ChildProcess.stop(daemon)
        let planned = plannedAfter ?? 0

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
                format: "e2e: daemon peak memory (VmHWM) %.1f MB, CPU %.2f s (%.0f us/msg)", Double(memory) / 1_048_576,
                cpu, cpu / Double(max(1, sent)) * 1e6))
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
        let scratch = try Scratch()
        defer { scratch.remove() }
        let stub = try StubProcess.start(arguments: ["--kind", "generic", "--port", "0"])
        defer { ChildProcess.stop(stub.0) }
        try scratch.writeConfig(base: base, stubPort: stub.1)

        var t = ContinuousClock.now
        try fillOutbox(path: scratch.storePath, count: restartMessages)
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
    private func fillOutbox(path: String, count: Int) throws {
        let store = try Store.open(at: path)
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

/// A scratch directory with the benchmark's config and state directory; removed by ``remove()``.
private struct Scratch {
    let directory: String

    init() throws {
        // mkdtemp replaces the six trailing template characters.
        var template = Array(
            (NSTemporaryDirectory() + "/policypush-bench-" + String(repeating: "X", count: 6)).utf8CString)
        guard let made = mkdtemp(&template) else {
            throw CommandFailure("cannot create a scratch directory in \(NSTemporaryDirectory())")
        }
        directory = String(cString: made)
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
    }

    var configPath: String { directory + "/policypush.json5" }
    var stateDirectory: String { directory + "/state" }
    var storePath: String { stateDirectory + "/policypush.sqlite" }
    var logPath: String { directory + "/daemon.log" }

    var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["POLICYPUSH_CONFIG"] = configPath
        environment["POLICYPUSH_STATE_DIR"] = stateDirectory
        environment.removeValue(forKey: "NOTIFY_SOCKET")
        environment.removeValue(forKey: "STATE_DIRECTORY")
        return environment
    }

    /// One generic gateway without a rate limit; planning rules that would hold messages back are off.
    func writeConfig(base: Configuration, stubPort: Int, landingPort: Int? = nil) throws {
        func quoted(_ text: String) -> String {
            "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        let text = """
            {
              state_dir: \(quoted(stateDirectory)),
              policies_dir: \(quoted(base.policiesDirectory)),
              templates_dir: \(quoted(base.templatesDirectory)),
              time_zone: \(quoted(base.timeZone.identifier)),
              channels: { preference: ["sms"], sms: ["gen"], wechat: ["gen"] },
              gateways: {
                gen: { kind: "generic", base_url: "http://127.0.0.1:\(stubPort)", rate: 0, max_in_flight: 64 },
              },
              planning: {
                quiet_hours: { start: "00:00", end: "00:00" },
                frequency_caps: { sms: { off: true }, wechat: { off: true } },
                dedupe_days: 0,
              },\(landingPort.map { "\n  landing: { listen: \"127.0.0.1:\($0)\", rate_per_minute: 0 }," } ?? "")
            }

            """
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// The daemon log's last lines, for an error message.
    func logTail() -> String {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8), !text.isEmpty else { return "" }
        return "; daemon log:\n" + text.split(separator: "\n").suffix(10).joined(separator: "\n")
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
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
    static func startDaemon(scratch: Scratch) throws -> Process {
        _ = FileManager.default.createFile(atPath: scratch.logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch.logPath))
        defer { try? log.close() }
        let process = Process()
        process.executableURL = executable
        process.arguments = ["serve"]
        process.environment = scratch.environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = log
        try process.run()
        return process
    }

    /// Waits for the daemon's `ready` log line.
    static func waitUntilReady(_ daemon: Process, scratch: Scratch) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            guard daemon.isRunning else {
                throw CommandFailure("the daemon exited with status \(daemon.terminationStatus)\(scratch.logTail())")
            }
            if let text = try? String(contentsOfFile: scratch.logPath, encoding: .utf8), text.contains("msg=ready") {
                return
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw CommandFailure("the daemon was not ready within 60 s\(scratch.logTail())")
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

    /// User + system CPU seconds so far (0 if unreadable).
    static func cpuSeconds(pid: Int32) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return 0 }
        // After "pid (comm)": state is field 3; utime and stime are fields 14 and 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
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
