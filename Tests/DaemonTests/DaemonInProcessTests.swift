import Config
import Daemon
import Foundation
import GatewayStub
import Planning
import Registry
import Storage
import Testing

/// The whole daemon in process, on a clock of the test's own: a campaign that meets 20:00, waits
/// for 08:00, and whose messages, never receipted, expire three days later — in seconds.
@Suite("Daemon in process", .serialized)
struct DaemonInProcessTests {
    @Test func aCampaignThroughQuietHoursAndExpiryOnAManualClock() async throws {
        let zone = TimeZone(identifier: "Asia/Shanghai")!
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let evening = calendar.date(
            from: DateComponents(year: 2026, month: 12, day: 3, hour: 19, minute: 59, second: 57))!
        let closing = evening.addingTimeInterval(3)
        let morning = calendar.date(from: DateComponents(year: 2026, month: 12, day: 4, hour: 8))!
        // The clock stands at 19:59:57 until some messages are out, whatever the machine's load,
        // then stands at 20:00:01: nothing may leave from then on.
        let clock = TestWallClock(start: evening, running: false)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pp-daemon-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let stub = StubGateway(configuration: StubConfiguration(kind: .generic), pushClient: nil)
        let port = try stub.start()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let file = directory + "/policypush.json5"
        try """
        {
          policies_dir: "\(root)/config/policies", templates_dir: "\(root)/templates", state_dir: "\(directory)",
          channels: { preference: ["sms"], sms: ["gen"], wechat: ["gen"] },
          gateways: { gen: { kind: "generic", base_url: "http://127.0.0.1:\(port)", rate: 40, burst: 2 } },
          planning: { quiet_hours: { start: "08:00", end: "20:00" }, frequency_caps: { sms: { off: true }, wechat: { off: true } }, dedupe_days: 0 },
          receipts: { listen: "127.0.0.1:0" },
          daemon: { expire_after_h: 72, grace_s: 2 },
        }
        """.write(toFile: file, atomically: true, encoding: .utf8)

        // The registry and a campaign, written as the CLI would.
        let store = try SQLiteStore(path: directory + "/policypush.sqlite")
        var generator = EnterpriseGenerator(seed: 5)
        _ = try store.importEnterprises(file: "generated", replace: false) { sink in
            try sink((0..<400).map { _ in generator.next() })
            return RejectedRows(count: 0, creditCodes: [])
        }
        let configuration = try Configuration.load(file: file, environment: [:])
        let catalog = Workspace(configuration: configuration).loadPolicies().0
        let id = try store.createCampaign(
            CampaignSpec(
                name: "Evening", policyIDs: catalog.entries.map(\.profile.id), channels: [.sms], fallback: false,
                startAt: evening, campaignDate: "2026-12-03", policyVersions: [:], templateVersion: "t"))
        // Started by alice with approval required, and never approved: the daemon leaves it alone.
        let unapproved = try store.createCampaign(
            CampaignSpec(
                name: "Unapproved", policyIDs: catalog.entries.map(\.profile.id), channels: [.sms], fallback: false,
                startAt: evening, campaignDate: "2026-12-03", policyVersions: [:], templateVersion: "t"),
            awaitingApproval: true, audit: AuditContext(operatorName: "alice"))

        let daemon = try Daemon(configurationFile: file, environment: [:], now: { clock.now })
        let (signals, stop) = AsyncStream<Int32>.makeStream()
        let run = Task { try await daemon.run(signals: signals) }
        func counts() throws -> [MessageState: Int] { try store.campaignCounts(id: id) }
        func events(_ state: MessageState) throws -> [Date] {
            var at: [Date] = []
            try store.forEachMessage(campaignID: id) { _, events in
                at += (events ?? []).filter { $0.to == state }.map(\.at)
            }
            return at
        }
        func wait(_ what: String, _ condition: () throws -> Bool) async throws {
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                if try condition() { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("timed out waiting until \(what): \(try counts())")
            throw CancellationError()
        }
        do {
            try await wait("some messages are accepted before 20:00") { try (counts()[.accepted] ?? 0) >= 20 }
            clock.jump(to: closing.addingTimeInterval(1), running: false)
            try await wait("20:00 passes with the backlog waiting") { try (counts()[.sending] ?? 0) == 0 }
            try await Task.sleep(for: .milliseconds(500))
            let evening = try events(.sending)
            #expect(evening.allSatisfy { $0 < closing }, "\(evening.filter { $0 >= closing }.count) sends after 20:00")
            let waiting = try counts()
            #expect(
                (waiting[.accepted] ?? 0) > 0 && (waiting[.queued] ?? 0) + (waiting[.retryWait] ?? 0) > 0, "\(waiting)")

            clock.jump(to: morning)
            try await wait("the backlog is sent after 08:00") {
                try counts().keys.allSatisfy { $0 == .accepted || $0 == .suppressed }
            }
            #expect(try store.campaign(id: id)?.state == .running, "accepted, awaiting receipts: still running")
            #expect(try store.campaign(id: unapproved)?.state == .awaitingApproval)
            #expect(try store.campaignCounts(id: unapproved).isEmpty, "a campaign awaiting approval is never planned")

            // A reload is audited, by `daemon`.
            stop.yield(SIGHUP)
            try await wait("the reload is in the audit trail") {
                var actions: [String] = []
                try store.forEachAuditEntry(since: nil) {
                    actions.append($0.action)
                    return true
                }
                return actions == ["campaign.start", "config.reload"]
            }
            var reload: AuditEntry?
            try store.forEachAuditEntry(since: nil) { entry in
                if entry.action == "config.reload" { reload = entry }
                return true
            }
            #expect(reload?.operatorName == "daemon")
            #expect(reload?.result.hasPrefix("ok: ") == true)
            #expect(try store.verifyAudit().isIntact)

            // No receipt ever comes: three days later every accepted message expires.
            clock.jump(to: morning.addingTimeInterval(73 * 3600))
            try await wait("the campaign completes by expiry") { try store.campaign(id: id)?.state == .completed }
            let final = try counts()
            #expect(final[.accepted] == nil && (final[.expired] ?? 0) == stub.stats.accepted, "\(final)")
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
