import Foundation
import Storage
import Testing

/// Pause, resume and cancel from the CLI while the daemon runs, and SIGHUP reloads.
@Suite("DaemonControl: pause, resume, cancel and reload", .serialized)
struct DaemonControlTests {
    /// Once the daemon has applied a pause, no message of the campaign becomes `sending` (the store
    /// refuses it), whatever the machine's load; sends already in flight land, the queue is kept,
    /// and resume finishes the campaign.
    @Test func afterThePauseIsAppliedNothingIsSentAndResumeFinishes() async throws {
        let rig = try DaemonHarness(stubArguments: ["--receipt-delay-ms", "50", "--latency-ms", "5"], rate: 150)
        do {
            try await rig.importEnterprises(count: 900, seed: 11)
            _ = try await rig.startStub()
            _ = try await rig.startServe()
            let id = try await rig.startCampaign(name: "Pause test")
            try await rig.waitUntil("sending began", timeout: .seconds(20)) {
                try await rig.stubStats(ids: false).received > 50
            }
            let paused = try await rig.cli.run("campaign", "pause", String(id))
            #expect(paused.status == 0)
            #expect(paused.stdout.contains("daemon"), "says whether the daemon runs: \(paused.stdout)")
            try await rig.waitUntil("the daemon applies the pause", timeout: .seconds(20)) {
                try await rig.report(id).campaignState == "paused"
            }
            let pausedAt = Date()
            try await rig.waitUntil("sends in flight land", timeout: .seconds(20)) {
                try await rig.report(id).count("sending") == 0
            }
            let before = try await rig.stubStats(ids: false).received
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await rig.stubStats(ids: false).received == before, "the stub kept receiving while paused")
            let report = try await rig.report(id)
            #expect(report.count("queued") + report.count("retry_wait") > 0, "the queue is kept")
            let resumedAt = Date()
            let resumed = try await rig.cli.run("campaign", "resume", String(id))
            #expect(resumed.status == 0)
            try await rig.finishAndVerify(
                id, minimumMessages: 500, watchTimeout: .seconds(60), receiptTimeout: .seconds(20))
            // The store's history: no send began between the applied pause and the resume.
            let store = try SQLiteStore(path: rig.cli.stateDirectory.path + "/policypush.sqlite", readOnly: true)
            var late: [String] = []
            try store.forEachMessage(campaignID: id) { message, events in
                for event in events ?? [] where event.to == .sending && event.at > pausedAt && event.at < resumedAt {
                    late.append(message.idempotencyKey)
                }
            }
            #expect(late.isEmpty, "sent while paused: \(late.prefix(5)) (\(late.count))")
        } catch {
            await rig.stopAll()
            throw error
        }
        await rig.stopAll()
    }

    @Test func cancelEndsTheCampaignAndMarksUnsentMessages() async throws {
        let rig = try DaemonHarness(stubArguments: ["--receipt-delay-ms", "50"], rate: 100)
        do {
            try await rig.importEnterprises(count: 900, seed: 12)
            _ = try await rig.startStub()
            _ = try await rig.startServe()
            let id = try await rig.startCampaign(name: "Cancel test")
            try await rig.waitUntil("sending began", timeout: .seconds(20)) {
                try await rig.stubStats(ids: false).received > 20
            }
            #expect(try await rig.cli.run("campaign", "cancel", String(id)).status == 0)
            try await rig.watch(id, timeout: .seconds(20))
            let report = try await rig.report(id)
            #expect(report.campaignState == "cancelled")
            #expect(report.count("cancelled") > 0)
            #expect(report.count("queued") == 0 && report.count("retry_wait") == 0)
        } catch {
            await rig.stopAll()
            throw error
        }
        await rig.stopAll()
    }

    /// A second daemon on the same store would recover the first one's sends in flight as if it
    /// had crashed: it must refuse to start.
    @Test func aSecondServeOnTheSameStoreExitsNamingTheFirst() async throws {
        let rig = try DaemonHarness(stubArguments: [])
        do {
            _ = try await rig.startStub()
            let first = try await rig.startServe()
            let second = try rig.launchChild("serve-second", ["serve"])
            try await rig.waitUntil("the second serve exits", timeout: .seconds(15)) { !second.isRunning }
            #expect(second.process.terminationStatus == 1)
            #expect(second.tail().contains("another policypush serve (pid \(first.pid)) holds"), "\(second.tail())")
            #expect(first.isRunning)
            #expect((try? await rig.get(port: rig.receiptsPort, path: "/healthz")) != nil, "the first still serves")
            #expect(await first.stop(SIGTERM) == 0)
            // Once the first is gone, a new one starts.
            let third = try await rig.startServe()
            #expect(await third.stop(SIGTERM) == 0)
        } catch {
            await rig.stopAll()
            throw error
        }
        await rig.stopAll()
    }

    @Test func aBadReloadKeepsTheOldConfiguration() async throws {
        let rig = try DaemonHarness(stubArguments: [])
        do {
            _ = try await rig.startStub()
            let serve = try await rig.startServe()
            let good = try String(contentsOfFile: rig.cli.config, encoding: .utf8)
            try "{ this is not json5".write(toFile: rig.cli.config, atomically: true, encoding: .utf8)
            kill(serve.pid, SIGHUP)
            try await rig.waitUntil("the reload is rejected", timeout: .seconds(10)) {
                serve.tail(50).contains("reload rejected")
            }
            #expect(serve.isRunning)
            #expect((try? await rig.get(port: rig.receiptsPort, path: "/healthz")) != nil, "still serving")
            // A number that once trapped the daemon on SIGHUP.
            try good.replacingOccurrences(of: "rate: 0,", with: "rate: 1e19,").write(
                toFile: rig.cli.config, atomically: true, encoding: .utf8)
            kill(serve.pid, SIGHUP)
            try await rig.waitUntil("the second reload is rejected", timeout: .seconds(10)) {
                serve.tail(50).contains("gateways.gen.rate: expected a number from 0 to 100000")
            }
            #expect(serve.isRunning)
            try good.write(toFile: rig.cli.config, atomically: true, encoding: .utf8)
            kill(serve.pid, SIGHUP)
            try await rig.waitUntil("the reload succeeds", timeout: .seconds(10)) {
                serve.tail(50).contains("msg=reloaded")
            }
            let metrics = String(decoding: try await rig.get(port: rig.receiptsPort, path: "/metrics"), as: UTF8.self)
            #expect(metrics.contains("policypush_queue_depth"))
            #expect(await serve.stop(SIGTERM) == 0)
        } catch {
            await rig.stopAll()
            throw error
        }
        await rig.stopAll()
    }
}
