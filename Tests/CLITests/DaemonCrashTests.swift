import Foundation
import Testing

/// `kill -9` of `policypush serve` in the middle of a campaign, several times: nothing is lost
/// and nothing is delivered twice.
@Suite("DaemonCrash: kill -9 of serve during a campaign", .serialized)
struct DaemonCrashTests {
    @Test func killNineRepeatedlyLosesNothingAndDeliversNothingTwice() async throws {
        let clock = ContinuousClock()
        let begun = clock.now
        var random = SeededGenerator(seed: 20_261_130)
        let rig = try DaemonHarness(stubArguments: ["--seed", "11", "--receipt-delay-ms", "50"], maxInFlight: 64, rate: 1200)
        do {
            try await rig.importEnterprises(count: 14_000, seed: 42)
            _ = try await rig.startStub()
            var serve = try await rig.startServe()
            let id = try await rig.startCampaign(name: "Crash test")
            let prepared = clock.now - begun
            var kills: [String] = []
            for round in 1...4 {
                let wait = Int.random(in: 300...1500, using: &random)
                try await Task.sleep(for: .milliseconds(wait))
                let before = try await rig.report(id)
                await serve.stop(SIGKILL)
                kills.append("kill \(round) after \(wait) ms: \(before.campaignState) \(before.byState)")
                serve = try await rig.startServe()
            }
            print("prepared in \(prepared); " + kills.joined(separator: "\n"))
            try await rig.finishAndVerify(id, minimumMessages: 10_000, watchTimeout: .seconds(60), receiptTimeout: .seconds(25))
            let status = await serve.stop(SIGTERM)
            #expect(status == 0, "serve exited \(status.map(String.init) ?? "only after SIGKILL") on SIGTERM\n\(rig.logs())")
            print("DaemonCrash took \(clock.now - begun)")
        } catch {
            await rig.stopAll()
            throw error
        }
        await rig.stopAll()
    }
}
