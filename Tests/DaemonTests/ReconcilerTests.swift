import Config
import Daemon
import Delivery
import Foundation
import GatewayStub
import Planning
import Storage
import Testing

/// Reconciliation against stub gateways: the provider's query API decides what an ambiguous
/// send became; without one, the deadline makes it unconfirmed for an operator.
@Suite("Reconciler", .serialized)
struct ReconcilerTests {
    /// Marks `count` due messages `sending` through `gateway` and then "restarts": what a kill -9
    /// leaves behind, without any request having left.
    func crashWhileSending(_ rig: DispatchRig, count: Int, gateway: String) async throws -> CrashRecovery {
        let now = rig.clock.now
        return try await rig.store.run { store in
            let claimed = try store.claimDue(now: now, limit: count)
            try store.record(
                claimed.map {
                    Transition(messageID: $0.id, to: .sending, at: now, gateway: gateway, countsAsAttempt: false)
                })
            return try store.recoverAfterCrash(now: now)
        }
    }

    func passes(_ reconciler: Reconciler, until condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            _ = try await reconciler.pass()
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("reconciliation did not settle in 20 s")
    }

    @Test(arguments: [GatewayKind.aliyun, .tencent])
    func sendsTheProviderTookAreFoundByOurIdAndNothingIsSentTwice(_ kind: GatewayKind) async throws {
        // Every send is taken and answered after the client gave up: all ambiguous. (A 150 ms
        // client timeout ran out before the request was written on a loaded machine once: not
        // sent, so retried, and the breaker held the retries past the test's wait.)
        let rig = try await DispatchRig(
            gateways: [
                .init(
                    name: "ali", kind: kind, faults: StubFaults(timeoutRate: 1, timeoutDelay: .milliseconds(1500)),
                    timeoutMS: 500)
            ],
            sms: ["ali"], messages: 20)
        let dispatcher = rig.dispatcher()
        let run = Task { try await dispatcher.run() }
        try await rig.wait("every send is ambiguous") { try await rig.counts() == [.ambiguous: 20] }
        try await passes(rig.reconciler()) {
            let counts = try await rig.counts()
            return (counts[.accepted] ?? 0) + (counts[.delivered] ?? 0) == 20
        }
        dispatcher.drain()
        try await run.value
        let stats = rig.stubs["ali"]!.stats
        let history = try await rig.messages()
        await rig.close()
        #expect(stats.received == 20 && stats.accepted == 20, "the stub saw \(stats.received) sends")
        #expect(Set(stats.acceptedIds ?? []).count == 20)
        #expect(history.allSatisfy { entry in entry.events.contains { $0.error == "reconcile:found-at-provider" } })
        #expect(history.allSatisfy { $0.message.attempts == 1 })
    }

    @Test(arguments: [GatewayKind.aliyun, .tencent])
    func aSendTheProviderNeverSawIsUnsentAndGoesOutOnce(_ kind: GatewayKind) async throws {
        let rig = try await DispatchRig(gateways: [.init(name: "ali", kind: kind)], sms: ["ali"], messages: 10)
        let recovered = try await crashWhileSending(rig, count: 10, gateway: "ali")
        #expect(recovered.sending == 10)
        let dispatcher = rig.dispatcher()
        // Pinned to a gateway that does not deduplicate: never resent blind.
        #expect(try await dispatcher.scheduleSafeResends() == 0)
        let run = Task { try await dispatcher.run() }
        try await Task.sleep(for: .milliseconds(300))
        #expect(rig.stubs["ali"]!.stats.received == 0, "an ambiguous message was resent before reconciliation")
        try await passes(rig.reconciler()) { try await rig.counts() == [.accepted: 10] }
        dispatcher.drain()
        try await run.value
        let stats = rig.stubs["ali"]!.stats
        let history = try await rig.messages()
        await rig.close()
        #expect(stats.accepted == 10 && Set(stats.acceptedIds ?? []).count == 10)
        for entry in history {
            #expect(
                entry.events.map(\.to) == [.sending, .ambiguous, .unsent, .sending, .accepted],
                "\(entry.events.map(\.to))")
        }
    }

    @Test func withoutAQueryAPIAnUnresolvedSendBecomesUnconfirmedUntilAnOperatorResendsIt() async throws {
        // A generic gateway that does not deduplicate: no resend, no query API, no receipt.
        let rig = try await DispatchRig(
            gateways: [.init(name: "gen", kind: .generic, extra: "options: { deduplicates: \"false\" }")], sms: ["gen"],
            messages: 5, reconcile: "settle_min: 0.01, deadline_h: 0.0003, interval_s: 0.1")
        _ = try await crashWhileSending(rig, count: 5, gateway: "gen")
        #expect(try await rig.dispatcher().scheduleSafeResends() == 0)
        let reconciler = rig.reconciler()
        _ = try await reconciler.pass()
        #expect(try await rig.counts() == [.ambiguous: 5], "settled before its deadline")
        try await passes(reconciler) { try await rig.counts() == [.unconfirmed: 5] }
        let id = rig.campaignID
        let resent = try await rig.store.run {
            try $0.resendUnconfirmed(campaignID: id, note: "called: not received", at: Date())
        }
        #expect(resent == 5)
        let dispatcher = rig.dispatcher()
        let run = Task { try await dispatcher.run() }
        try await rig.wait("the operator's resend is accepted") { try await rig.counts() == [.accepted: 5] }
        dispatcher.drain()
        try await run.value
        #expect(rig.stubs["gen"]!.stats.accepted == 5)
        await rig.close()
    }
}
