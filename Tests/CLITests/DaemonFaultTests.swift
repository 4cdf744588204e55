import Foundation
import Testing

/// A campaign through a gateway that fails in every scripted way: 503 bursts, 429 with
/// Retry-After, timeouts after the send was taken, connection resets and slow answers.
@Suite("DaemonFault: a campaign through a faulty gateway", .serialized)
struct DaemonFaultTests {
    @Test func everyMessageEndsFinalOnceThroughScriptedFaults() async throws {
        let clock = ContinuousClock()
        let begun = clock.now
        // The gateway deduplicates, so every ambiguous send settles by a same-id resend: the
        // reconcile deadline (3 min here, 36 s by default) must not be what settles it. On a loaded
        // machine 36 s of 503s, 429s and 409s (the resend still in flight at the stub) once ran out,
        // leaving a taken message unconfirmed.
        let rig = try DaemonHarness(
            gateways: [
                DaemonHarness.Gateway(
                    name: "gen", kind: "generic",
                    stubArguments: [
                        "--seed", "5", "--receipt-delay-ms", "50",
                        "--error-rate", "http:503=0.1",
                        "--rate-limit-rate", "0.05", "--retry-after", "1",
                        "--timeout-rate", "0.02", "--timeout-ms", "3000",
                        "--reset-rate", "0.02",
                        "--slow-rate", "0.02", "--slow-ms", "1500",
                    ])
            ],
            sms: ["gen"], gatewayTimeoutMs: 500, maxInFlight: 64,
            reconcile: "settle_min: 0.02, receipt_check_min: 0.05, deadline_h: 0.05, interval_s: 0.2")
        do {
            try await rig.importEnterprises(count: 2_400, seed: 7)
            _ = try await rig.startStub()
            let serve = try await rig.startServe()
            let id = try await rig.startCampaign(name: "Fault test")
            let report = try await rig.finishAndVerify(
                id, minimumMessages: 1_500, watchTimeout: .seconds(60), receiptTimeout: .seconds(25))
            let stats = try await rig.stubStats(ids: false)
            #expect(stats.rejected.values.reduce(0, +) > 0, "the stub scripted no fault: \(stats.summary)")
            #expect(report.count("failed") == 0, "failures: \(report.failureReasons)")
            let status = await serve.stop(SIGTERM)
            #expect(
                status == 0, "serve exited \(status.map(String.init) ?? "only after SIGKILL") on SIGTERM\n\(rig.logs())"
            )
            print("DaemonFault took \(clock.now - begun)")
        } catch {
            await rig.stopAll()
            throw error
        }
        await rig.stopAll()
    }
}
