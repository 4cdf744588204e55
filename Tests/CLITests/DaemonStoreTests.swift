import Foundation
import Storage
import Testing

/// The store's disk fills up in the middle of a campaign, then space comes back: the daemon says
/// so while it lasts and recovers by itself, nothing stranded, nothing sent twice.
@Suite("DaemonStore: a full disk during dispatch", .serialized)
struct DaemonStoreTests {
    static func shell(_ command: String) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        do { try process.run() } catch { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    @Test(.enabled(if: geteuid() == 0, "mounting a tmpfs for the store needs root"))
    func aFullDiskIsReportedAndRecoveredWithoutARestart() async throws {
        let mount = FileManager.default.temporaryDirectory.appendingPathComponent("pp-disk-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        #expect(Self.shell("mount -t tmpfs -o size=256m tmpfs \(mount)") == 0)
        defer {
            _ = Self.shell("umount -l \(mount)")
            try? FileManager.default.removeItem(atPath: mount)
        }
        let rig = try DaemonHarness(
            // 300 ms answers keep about 32 sends in flight when the disk fills: their outcomes cannot
            // be recorded, so they are left `sending` until the store takes writes again.
            gateways: [
                .init(name: "gen", kind: "generic", stubArguments: ["--latency-ms", "300", "--receipt-delay-ms", "50"])
            ],
            sms: ["gen"], maxInFlight: 32, rate: 150, burst: 5, storePath: mount + "/policypush.sqlite")
        do {
            try await rig.importEnterprises(count: 1_500, seed: 31)
            try await rig.startStub()
            let serve = try await rig.startServe()
            let id = try await rig.startCampaign(name: "Full disk")
            try await rig.waitUntil("sending began", timeout: .seconds(30)) { try await rig.received() > 100 }

            // Fill every byte left.
            _ = Self.shell("dd if=/dev/zero of=\(mount)/fill bs=64k 2>/dev/null")
            try await rig.waitUntil("/healthz reports the store", timeout: .seconds(20)) {
                let health = try await rig.fetch(port: rig.receiptsPort, path: "/healthz")
                return health.status == 503 && health.body.contains("store unavailable")
            }
            // Claims have stopped: once the sends in flight land, nothing reaches the gateway.
            try await Task.sleep(for: .milliseconds(500))
            let stopped = try await rig.received()
            try await Task.sleep(for: .milliseconds(1000))
            #expect(try await rig.received() == stopped, "the daemon kept sending while its store was full")

            // Space comes back: the daemon recovers on its own, without a restart.
            #expect(Self.shell("rm -f \(mount)/fill") == 0)
            try await rig.waitUntil("/healthz is ok again", timeout: .seconds(20)) {
                try await rig.fetch(port: rig.receiptsPort, path: "/healthz").status == 200
            }
            try await rig.finishAndVerify(
                id, minimumMessages: 800, watchTimeout: .seconds(90), receiptTimeout: .seconds(30), allowFailed: false)
            #expect(serve.isRunning, "recovered without a restart")
            let log = (try? String(contentsOfFile: serve.logPath, encoding: .utf8)) ?? ""
            #expect(log.contains("the store cannot be written"), "\(log)")
            let recovery = log.split(separator: "\n").first { $0.contains("store writable again") }
            let recovered = recovery?.split(separator: " ").first { $0.hasPrefix("recovered_sending=") }
                .flatMap { Int($0.dropFirst("recovered_sending=".count)) }
            #expect(
                (recovered ?? 0) > 0,
                "no send was left sending by the failure: \(recovery.map(String.init) ?? "no recovery logged")")
            #expect(await serve.stop(SIGTERM) == 0)
        } catch {
            await rig.stopAll()
            throw error
        }
        await rig.stopAll()
    }
}
