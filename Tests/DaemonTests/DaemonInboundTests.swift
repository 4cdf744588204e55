import Config
import Daemon
import Foundation
import GatewayStub
import Planning
import Registry
import Storage
import Synchronization
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The whole daemon in process: an opt-out reply pushed to its listener while the campaign's
/// messages wait for 08:00 keeps that number's message from ever leaving; the other messages go.
@Suite("Daemon inbound", .serialized)
struct DaemonInboundTests {
    @Test func anOptOutArrivingWhileMessagesWaitIsHonoured() async throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        let night = calendar.date(from: DateComponents(year: 2026, month: 12, day: 3, hour: 22))!
        let morning = calendar.date(from: DateComponents(year: 2026, month: 12, day: 4, hour: 8))!
        let clock = TestWallClock(start: night, running: false)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pp-inbound-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var stubConfiguration = StubConfiguration(kind: .generic)
        stubConfiguration.genericDeduplicates = false
        let stub = StubGateway(configuration: stubConfiguration, pushClient: nil)
        let port = try stub.start()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let token = "inbound-token-0123456789"
        let file = directory + "/policypush.json5"
        try """
        {
          policies_dir: "\(root)/config/policies", templates_dir: "\(root)/templates", state_dir: "\(directory)",
          channels: { preference: ["sms"], sms: ["gen"], wechat: ["gen"] },
          gateways: { gen: { kind: "generic", base_url: "http://127.0.0.1:\(port)", rate: 200, burst: 20,
            receipts: { token_env: "GEN_TOKEN" }, opt_out_keywords: ["T", "TD", "退订", "STOP"] } },
          planning: { quiet_hours: { start: "08:00", end: "20:00" }, frequency_caps: { sms: { off: true }, wechat: { off: true } }, dedupe_days: 0 },
          receipts: { listen: "127.0.0.1:0" },
          daemon: { grace_s: 2 },
        }
        """.write(toFile: file, atomically: true, encoding: .utf8)

        let store = try SQLiteStore(path: directory + "/policypush.sqlite")
        var generator = EnterpriseGenerator(seed: 11)
        _ = try store.importEnterprises(file: "generated", replace: false) { sink in
            try sink((0..<60).map { _ in generator.next() })
            return RejectedRows(count: 0, creditCodes: [])
        }
        let configuration = try Configuration.load(file: file, environment: [:])
        let catalog = Workspace(configuration: configuration).loadPolicies().0
        let id = try store.createCampaign(
            CampaignSpec(
                name: "Night", policyIDs: catalog.entries.map(\.profile.id), channels: [.sms], fallback: false,
                startAt: night, campaignDate: "2026-12-03", policyVersions: [:], templateVersion: "t"))

        let daemon = try Daemon(configurationFile: file, environment: ["GEN_TOKEN": token], now: { clock.now })
        let (signals, stop) = AsyncStream<Int32>.makeStream()
        let listening = Mutex<Int?>(nil)
        let run = Task { try await daemon.run(signals: signals, ready: { port in listening.withLock { $0 = port } }) }
        defer { stop.yield(SIGTERM) }

        func messages() throws -> [OutboxMessage] {
            var all: [OutboxMessage] = []
            try store.forEachMessage(campaignID: id) { m, _ in all.append(m) }
            return all
        }
        func wait(_ what: String, _ condition: () throws -> Bool) async throws {
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                if try condition() { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("timed out waiting until \(what)")
            throw CancellationError()
        }
        try await wait("planned, waiting for 08:00") { try store.campaign(id: id)?.state == .running }
        let listener = try #require(listening.withLock { $0 })
        let queued = try messages().filter { $0.state == .queued && $0.channel == .sms }
        let target = try #require(queued.first).recipient
        let session = URLSession(configuration: .ephemeral)
        defer { session.invalidateAndCancel() }
        func push(_ body: String, path: String = "/inbound/gen/\(token)") async throws -> Int {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(listener)\(path)")!)
            request.httpMethod = "POST"
            request.httpBody = Data(body.utf8)
            let (_, response) = try await session.data(for: request)
            return (response as? HTTPURLResponse)?.statusCode ?? 0
        }
        // Full-width and punctuated, as phones send it; then the provider's re-push; then a forgery.
        let reply = #"[{"id":"r-1","from":"+86\#(target)","text":"ＴＤ。","time":"2026-12-03T14:00:00Z"}]"#
        #expect(try await push(reply) == 200)
        #expect(try await push(reply) == 200)
        #expect(try await push(reply, path: "/inbound/gen/wrong-token-0123456789") == 403)
        #expect(try await push("[{]") == 400)
        let question = #"[{"id":"r-2","from":"\#(queued[1].recipient)","text":"请问如何申报？"}]"#
        #expect(try await push(question) == 200)

        // Campaigns by state, every state exported (the new approval states included).
        let (metrics, _) = try await session.data(from: URL(string: "http://127.0.0.1:\(listener)/metrics")!)
        let gauges = String(decoding: metrics, as: UTF8.self).split(separator: "\n")
            .filter { $0.hasPrefix("policypush_campaigns{") }
        #expect(gauges.contains { $0.contains("state=\"awaiting_approval\"") }, "\(gauges)")
        let values: [Double] = gauges.compactMap { line in line.split(separator: " ").last.flatMap { Double($0) } }
        #expect(values.reduce(0, +) == 1, "\(gauges)")

        let silenced = try #require(try messages().first { $0.recipient == target })
        #expect(silenced.state == .suppressed && silenced.suppressionReason == "opted_out_reply")
        #expect(try store.replies(campaignID: id).map(\.optOut) == [true, false])
        #expect(try store.suppressionList().map(\.target) == [.address(target)])

        clock.jump(to: morning)
        try await wait("every other message is out") {
            try messages().allSatisfy { $0.state == .suppressed || $0.state == .accepted }
        }
        let reached = Set(stub.stats.acceptedIds ?? [])
        #expect(!reached.contains(silenced.idempotencyKey), "the opted-out number was sent to")
        #expect(reached.count == queued.count - 1)
        stop.yield(SIGTERM)
        #expect(try await run.value == 0)
        await stub.stop()
    }
}
