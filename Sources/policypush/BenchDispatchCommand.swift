import Daemon
import Delivery
import Foundation
import Glibc
import Kit

/// The dispatch benchmark: N generic-gateway messages over libcurl with no rate limit.
struct BenchDispatchCommand: Command {
    static let spec = CommandSpec(
        path: ["bench-dispatch"],
        summary:
            "Benchmark sending to a gateway: messages/s, CPU µs per message, latency p50/p99 (use a release build).",
        options: [
            .option("--url", "URL", "Gateway URL (default: a generic stub started as a child process)."),
            .option("--count", "N", "Messages to send (default 20000)."),
            .option("--connections", "N", "Concurrent requests and connections (default 64)."),
        ],
        discussion: """
            Each message goes through the generic JSON adapter (Idempotency-Key, JSON body, outcome
            classification) and the libcurl transport, like a real send. Compare with
            ../shared/bench/curl-parallel.sh URL N 64 against the same server (scripts/bench-dispatch
            runs the two in alternating pairs). The last line, `result: messages=… msgs_per_s=…
            cpu_us_per_msg=… accepted=…`, is for scripts.
            """)

    let url: String?
    let count: Int
    let connections: Int

    init(_ arguments: ParsedArguments) throws(UsageError) {
        url = arguments.value("--url")
        count = try arguments.int("--count", default: 20_000, in: 1...10_000_000)!
        connections = try arguments.int("--connections", default: 64, in: 1...1024)!
    }

    func run(_ context: Context) async throws -> Int32 {
        #if DEBUG
            Output.err("warning: this is a debug build; run scripts/bench for meaningful figures")
        #endif
        var child: Process?
        var target = url
        if target == nil {
            let (process, port) = try StubProcess.start(arguments: ["--kind", "generic", "--port", "0"])
            child = process
            target = "http://127.0.0.1:\(port)/sms/send"
        }
        defer { child?.terminate() }
        let transport = CurlTransport(
            configuration: .init(maxConnectionsPerHost: connections, maxConnections: connections * 2))
        let adapter = GenericJSONAdapter(configuration: .init(url: target!, timeout: .seconds(10)))
        let count = self.count
        let connections = self.connections
        let startUsage = CPUTime.now()
        let started = ContinuousClock.now
        let (latencies, accepted) = await withTaskGroup(of: (Duration, Bool).self) { group in
            var latencies: [Duration] = []
            latencies.reserveCapacity(count)
            var accepted = 0
            var next = 0
            func add() {
                let i = next
                next += 1
                group.addTask {
                    let message = OutboundMessage(
                        id: "bench-\(i)", recipient: "138\(String(10_000_000 + i).suffix(8))",
                        text:
                            "【朝阳区税务局】尊敬的示例企业有限公司：贵单位可能符合小型微利企业所得税优惠等3项税费优惠政策，详情https://etax.example.gov.cn/p/abc123。回T退订"
                    )
                    let t0 = ContinuousClock.now
                    let outcome = await adapter.send(message, using: transport)
                    if case .accepted = outcome { return (ContinuousClock.now - t0, true) }
                    return (ContinuousClock.now - t0, false)
                }
            }
            for _ in 0..<min(connections, count) { add() }
            for await (latency, ok) in group {
                latencies.append(latency)
                if ok { accepted += 1 }
                if next < count { add() }
            }
            return (latencies, accepted)
        }
        let wall = ContinuousClock.now - started
        let cpu = CPUTime.now() - startUsage
        await transport.shutdown()
        let seconds = wall.seconds
        let sorted = latencies.sorted()
        func ms(_ d: Duration) -> Double { d.seconds * 1000 }
        Output.out(
            String(
                format:
                    "dispatch: %d messages to %@ over %d connections in %.2f s = %.0f msgs/s, CPU %.0f us/msg, latency p50 %.2f ms p99 %.2f ms, accepted %d",
                count, target!, connections, seconds, Double(count) / seconds, cpu / Double(count) * 1e6,
                ms(sorted[sorted.count / 2]), ms(sorted[min(sorted.count - 1, sorted.count * 99 / 100)]), accepted))
        Output.out(
            String(
                format: "result: messages=%d msgs_per_s=%.0f cpu_us_per_msg=%.1f accepted=%d", count,
                Double(count) / seconds, cpu / Double(count) * 1e6, accepted))
        return accepted == count ? 0 : 1
    }
}

/// User + system CPU seconds of this process.
enum CPUTime {
    static func now() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }
}

/// Runs `policypush stub` as a child process and reads the port it listens on.
enum StubProcess {
    static func start(arguments: [String]) throws -> (Process, Int) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
            .resolvingSymlinksInPath()
        if !FileManager.default.isExecutableFile(atPath: process.executableURL!.path) {
            process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        }
        process.arguments = ["stub"] + arguments
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        // The stub prints "listening on 127.0.0.1:PORT" once it is up.
        var buffer = Data()
        while !buffer.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { throw CommandFailure("the stub gateway exited before listening") }
            buffer += chunk
        }
        let line = String(decoding: buffer, as: UTF8.self)
        guard let range = line.range(of: #"127\.0\.0\.1:(\d+)"#, options: .regularExpression),
            let port = Int(line[range].split(separator: ":").last ?? "")
        else { throw CommandFailure("unexpected stub output: \(line)") }
        return (process, port)
    }
}
