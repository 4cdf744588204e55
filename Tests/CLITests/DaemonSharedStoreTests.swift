import Config
import Daemon
import Foundation
import GatewayStub
import Planning
import Registry
import Testing

@testable import Storage

/// The daemon on a PostgreSQL store (`store.url`): it plans and sends a campaign, and the CLI's
/// pause and resume reach it through `NOTIFY` within a second, though it looks on its own only every
/// 5 s (`daemon.sharedStoreFallback`).
@Suite("Daemon on PostgreSQL", .serialized)
struct DaemonSharedStoreTests {
    @Test func aCampaignEndToEndWithTheCLIHeardThroughNotify() async throws {
        let base = try #require(
            ProcessInfo.processInfo.environment["POLICYPUSH_TEST_PG"].flatMap { $0.isEmpty ? nil : $0 },
            "POLICYPUSH_TEST_PG is not set: start a private cluster (scripts/pg-cluster env DIR)")
        let schema = "daemon_\(UUID().uuidString.lowercased().filter(\.isHexDigit).prefix(16))"
        try PGConnection(base).execute("CREATE SCHEMA \(schema)")
        defer { _ = try? PGConnection(base).execute("DROP SCHEMA \(schema) CASCADE") }
        let location = base + " options='-csearch_path=\(schema)'"
        #expect(DaemonSettings().sharedStoreFallback >= .seconds(5), "a wake within 1 s is NOTIFY's, not the poll's")

        var cli = try CLIHarness()
        let stub = StubGateway(configuration: StubConfiguration(kind: .generic), pushClient: nil)
        let port = try stub.start()
        let root = CLIHarness.packageRoot.path
        cli.config = try cli.write(
            "policypush.json5",
            """
            {
              policies_dir: "\(root)/config/policies", templates_dir: "\(root)/templates",
              state_dir: "\(cli.stateDirectory.path)",
              store: { url: "\(location)" },
              channels: { preference: ["sms"], sms: ["gen"], wechat: ["gen"] },
              gateways: { gen: { kind: "generic", base_url: "http://127.0.0.1:\(port)", rate: 20, burst: 2 } },
              planning: { frequency_caps: { sms: { off: true }, wechat: { off: true } }, dedupe_days: 0 },
              daemon: { grace_s: 2 },
            }
            """)

        // Midday in Shanghai, whatever the hour here: quiet hours never hold the sends.
        let zone = TimeZone(identifier: "Asia/Shanghai")!
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let noon = calendar.date(bySettingHour: 12, minute: 0, second: 0, of: Date())!
        let offset = noon.timeIntervalSinceNow
        let now: @Sendable () -> Date = { Date().addingTimeInterval(offset) }

        let store = try Store.open(url: location)
        var generator = EnterpriseGenerator(seed: 5)
        _ = try store.importEnterprises(file: "generated", replace: false) { sink in
            try sink((0..<400).map { _ in generator.next() })
            return RejectedRows(count: 0, creditCodes: [])
        }
        let configuration = try Configuration.load(file: cli.config, environment: [:])
        let catalog = Workspace(configuration: configuration).loadPolicies().0

        let daemon = try Daemon(configurationFile: cli.config, environment: [:], now: now)
        let (signals, stop) = AsyncStream<Int32>.makeStream()
        let (ready, serving) = AsyncStream<Void>.makeStream()
        let run = Task { try await daemon.run(signals: signals, ready: { _ in serving.yield() }) }
        func wait(
            _ what: String, within limit: Duration = .seconds(30), _ condition: () throws -> Bool
        ) async throws
            -> Duration
        {
            let start = ContinuousClock.now
            while ContinuousClock.now - start < limit {
                if try condition() { return ContinuousClock.now - start }
                try await Task.sleep(for: .milliseconds(10))
            }
            Issue.record("timed out after \(limit) waiting until \(what)")
            throw CancellationError()
        }
        do {
            var started = ready.makeAsyncIterator()
            _ = await started.next()
            // Created as the CLI creates it, once the daemon serves: the NOTIFY wakes the planner at once.
            let id = try store.createCampaign(
                CampaignSpec(
                    name: "Shared", policyIDs: catalog.entries.map(\.profile.id), channels: [.sms], fallback: false,
                    startAt: now(), maxMessages: 60, campaignDate: "2026-12-03", policyVersions: [:],
                    templateVersion: "t"))
            let planned = try await wait("the campaign is planned") { try store.campaign(id: id)?.state == .running }
            #expect(planned < .seconds(3), "planned \(planned) after it was created")
            _ = try await wait("some messages are accepted") { try (store.campaignCounts(id: id)[.accepted] ?? 0) >= 5 }

            let pause = try await cli.run("campaign", "pause", String(id))
            #expect(pause.status == 0, "\(pause.stderr)")
            // The daemon may have applied it before the command read the campaign back.
            #expect(
                pause.stdout.contains("the daemons sharing this store will")
                    || pause.stdout.contains("is paused: the daemon applied the pause request at once"),
                "\(pause.stdout)")
            let paused = try await wait("the daemon applies the pause") { try store.campaign(id: id)?.state == .paused }
            #expect(paused < .seconds(1), "the pause was applied \(paused) after the CLI returned")

            let resume = try await cli.run("campaign", "resume", String(id))
            #expect(resume.status == 0, "\(resume.stderr)")
            let resumed = try await wait("the daemon applies the resume") {
                try store.campaign(id: id)?.state == .running
            }
            #expect(resumed < .seconds(1), "the resume was applied \(resumed) after the CLI returned")
            print("pause applied after \(paused), resume after \(resumed), planned after \(planned)")

            _ = try await wait("every message is sent") {
                try store.campaignCounts(id: id).keys.allSatisfy { $0 == .accepted || $0 == .suppressed }
            }
            let counts = try store.campaignCounts(id: id)
            #expect(counts[.accepted] == stub.stats.accepted, "\(counts) against \(stub.stats.accepted) accepted")
            #expect((counts[.accepted] ?? 0) > 5)
        } catch {
            stop.yield(SIGTERM)
            _ = try? await run.value
            await stub.stop()
            throw error
        }
        stop.yield(SIGTERM)
        #expect(try await run.value == 0)
        await stub.stop()
    }
}
