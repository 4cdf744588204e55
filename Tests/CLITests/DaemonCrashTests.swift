import Foundation
import Testing

/// `kill -9` of `policypush serve` in the middle of a campaign, four times, on the shapes a bureau
/// runs: nothing is lost, nothing is accepted twice, every message ends final.
///
/// The stubs record every acceptance (witness mode: the generic stub does not deduplicate either),
/// so a double send shows as an id accepted twice, by one stub or by two. Each kill lands while
/// requests flow, and at least one restart must find messages that were `sending`.
@Suite("DaemonCrash: kill -9 of serve during a campaign", .serialized)
struct DaemonCrashTests {
    /// Latency keeps requests in flight at the moment of a kill; the accept-then-drop fault makes
    /// libcurl's own resend on a reused connection possible (it must not happen).
    static let flowing = [
        "--latency-ms", "15", "--jitter-ms", "10", "--receipt-delay-ms", "50", "--drop-after-accept-rate", "0.01",
    ]

    func run(
        _ name: String, gateways: [DaemonHarness.Gateway], sms: [String], enterprises: Int, seed: UInt64,
        rate: Int, allowUnconfirmed: Bool = false,
        reconcile: String = "settle_min: 0.02, receipt_check_min: 0.05, deadline_h: 0.01, interval_s: 0.2"
    ) async throws {
        let clock = ContinuousClock()
        let begun = clock.now
        // A small burst keeps sending smooth (a large one sends in waves with idle gaps between).
        let rig = try DaemonHarness(
            gateways: gateways, sms: sms, gatewayTimeoutMs: 1000, maxInFlight: 64, rate: rate, burst: 5,
            reconcile: reconcile)
        do {
            try await rig.importEnterprises(count: enterprises, seed: Int(seed))
            try await rig.startStub()
            let serve = try await rig.startServe()
            let id = try await rig.startCampaign(name: name)
            try await rig.waitUntil("sending began", timeout: .seconds(30)) { try await rig.received() > 50 }
            let (last, recovered) = try await rig.killRepeatedly(serve, campaign: id, kills: 4, seed: seed)
            #expect(recovered.contains { $0 > 0 }, "no restart found a message in flight: \(recovered)")
            let report = try await rig.finishAndVerify(
                id, minimumMessages: enterprises / 2, watchTimeout: .seconds(90), receiptTimeout: .seconds(30),
                allowFailed: false, allowUnconfirmed: allowUnconfirmed)
            // Claims are held in memory until a gateway admits them, so a kill strands only sends
            // the gateway had admitted whose requests had not reached the stub yet: 0-23 over four
            // kills here. Marking whole claims `sending` up front stranded 212-228. (The rule
            // itself is tested in process: OutboxDispatcherTests.)
            let stranded = try rig.stranded(id)
            #expect(stranded <= 100, "\(stranded) messages were interrupted before any gateway took them")
            print("\(name): \(report.byState), stranded \(stranded)")
            let status = await last.stop(SIGTERM)
            #expect(
                status == 0, "serve exited \(status.map(String.init) ?? "only after SIGKILL") on SIGTERM\n\(rig.logs())"
            )
            print("\(name) took \(clock.now - begun)")
        } catch {
            await rig.stopAll()
            throw error
        }
        await rig.stopAll()
    }

    @Test func oneAliyunGateway() async throws {
        try await run(
            "Crash on Aliyun",
            gateways: [.init(name: "aliyun", kind: "aliyun", stubArguments: ["--seed", "11"] + Self.flowing)],
            sms: ["aliyun"], enterprises: 3_600, seed: 20_261_201, rate: 500)
    }

    @Test func aliyunAndTencent() async throws {
        try await run(
            "Crash on Aliyun and Tencent",
            gateways: [
                .init(name: "aliyun", kind: "aliyun", stubArguments: ["--seed", "12"] + Self.flowing),
                .init(name: "tencent", kind: "tencent", stubArguments: ["--seed", "13"] + Self.flowing),
            ],
            sms: ["aliyun", "tencent"], enterprises: 4_800, seed: 20_261_202, rate: 300)
    }

    /// A generic provider that ignores Idempotency-Key: no resend, no query API. Interrupted sends
    /// it never received end `unconfirmed` (an operator decides); every one it took is recorded.
    @Test func oneGenericGatewayThatDoesNotDeduplicate() async throws {
        try await run(
            "Crash on a generic gateway",
            gateways: [
                .init(
                    name: "gen", kind: "generic",
                    stubArguments: [
                        "--seed", "14", "--no-dedupe", "--latency-ms", "15", "--jitter-ms", "10", "--receipt-delay-ms",
                        "50",
                    ],
                    config: "options: { deduplicates: \"false\" },")
            ],
            sms: ["gen"], enterprises: 3_600, seed: 20_261_203, rate: 500, allowUnconfirmed: true,
            // Receipts of sends taken while serve was down come within the stub's re-pushes (≤ 3.5 s).
            reconcile: "settle_min: 0.02, deadline_h: 0.002, interval_s: 0.2")
    }
}
