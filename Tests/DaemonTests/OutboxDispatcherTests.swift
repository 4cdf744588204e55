import Config
import Daemon
import Delivery
import Foundation
import GatewayStub
import Planning
import Storage
import Testing

/// The daemon's dispatch path against stub gateways on loopback: what a message may and may not
/// do after an ambiguous send, and the sending window at send time.
@Suite("Outbox dispatcher", .serialized)
struct OutboxDispatcherTests {
    /// Gateway A takes some sends and answers too late (ambiguous) and opens its breaker; B is
    /// healthy. Before pinning, an ambiguous message refused by A's open breaker went to B as well.
    /// (One run in three also left a resend waiting ten minutes: a claim had leased the message
    /// in the moment between its holder's last commit and the holder letting go; see `Holding`.)
    @Test func anAmbiguousMessageNeverFailsOverToAnotherGateway() async throws {
        let rig = try await DispatchRig(
            gateways: [
                .init(
                    name: "a", kind: .generic,
                    // 400 ms: a loaded machine must not turn A's prompt answers into timeouts too.
                    faults: StubFaults(seed: 7, timeoutRate: 0.4, timeoutDelay: .milliseconds(900)),
                    extra: "breaker: { consecutive: 2, cool_down_ms: 400 }", timeoutMS: 400),
                .init(name: "b", kind: .generic),
            ],
            sms: ["a", "b"], messages: 300)
        let dispatcher = rig.dispatcher()
        let run = Task { try await dispatcher.run() }
        do {
            try await rig.wait("every message is accepted or failed", timeout: .seconds(60)) {
                try await rig.counts().open == 0
            }
        } catch {
            for entry in try await rig.messages() where !entry.message.state.isFinal && entry.message.state != .accepted
            {
                print("STUCK \(entry.message)")
                for e in entry.events { print("   \(e)") }
            }
            run.cancel()
            await rig.close()
            throw error
        }
        dispatcher.drain()
        try await run.value
        let a = Set(rig.stubs["a"]!.stats.acceptedIds ?? [])
        let b = Set(rig.stubs["b"]!.stats.acceptedIds ?? [])
        let history = try await rig.messages()
        await rig.close()

        #expect(a.intersection(b).isEmpty, "accepted by both gateways: \(a.intersection(b).sorted().prefix(5))")
        #expect(a.count + b.count == 300, "a \(a.count) + b \(b.count)")
        let counts = Dictionary(grouping: history, by: \.message.state).mapValues(\.count)
        #expect(counts == [.accepted: 300], "\(counts)")
        // The situation the test is about happened: ambiguous at A, then refused by A's breaker.
        let pinnedAndRefused = history.filter { entry in
            zip(entry.events, entry.events.dropFirst()).contains { first, second in
                first.to == .ambiguous && first.gateway == "a" && second.to == .sending
            } && entry.events.contains { $0.to == .ambiguous && $0.error == GatewayDispatcher.circuitOpen.description }
        }
        #expect(!pinnedAndRefused.isEmpty, "no message was ambiguous at a and then refused by its open breaker")
        for entry in history where entry.events.contains(where: { $0.to == .ambiguous }) {
            let gateways = Set(entry.events.filter { $0.to == .sending || $0.to == .accepted }.compactMap(\.gateway))
            #expect(gateways == ["a"], "\(entry.message.idempotencyKey) went through \(gateways)")
        }
    }

    /// A message is `sending` in the store only once its gateway admitted it: with a slow gateway
    /// most of what the dispatcher holds waits, claimed, in memory, and the store says `queued`.
    @Test func onlyAdmittedMessagesAreSendingInTheStore() async throws {
        let rig = try await DispatchRig(
            gateways: [.init(name: "gen", kind: .generic, faults: StubFaults(latency: .milliseconds(50)), rate: 20)],
            sms: ["gen"], messages: 200)
        let dispatcher = rig.dispatcher(maxInFlight: 64)
        let run = Task { try await dispatcher.run() }
        var most = 0
        let until = ContinuousClock.now + .seconds(1.5)
        while ContinuousClock.now < until {
            most = max(most, try await rig.counts()[.sending] ?? 0)
            try await Task.sleep(for: .milliseconds(10))
        }
        let counts = try await rig.counts()
        dispatcher.drain()
        run.cancel()
        _ = try? await run.value
        await rig.close()
        // 20 a second at 50 ms each: one or two in flight. Claiming 64 at once as `sending` showed 64.
        #expect(most <= 8, "up to \(most) messages were sending at once")
        #expect((counts[.queued] ?? 0) > 100, "\(counts)")
    }

    /// A backlog claimed at 19:59:58 (Asia/Shanghai) must stop at 20:00 and wait, unharmed, for 08:00.
    @Test func nothingIsSentOutsideTheWindowAndTheBacklogWaits() async throws {
        let zone = TimeZone(identifier: "Asia/Shanghai")!
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let evening = calendar.date(
            from: DateComponents(year: 2026, month: 12, day: 3, hour: 19, minute: 59, second: 58))!
        let closing = evening.addingTimeInterval(2)
        let morning = calendar.date(from: DateComponents(year: 2026, month: 12, day: 4, hour: 8))!
        let rig = try await DispatchRig(
            // 100 a second: about 200 go before 20:00, the rest must wait.
            gateways: [.init(name: "gen", kind: .generic, rate: 100)], sms: ["gen"], messages: 400,
            start: evening,
            quietHours: QuietHours(opensAt: 8 * 60, closesAt: 20 * 60, timeZone: zone))
        let dispatcher = rig.dispatcher()
        let run = Task { try await dispatcher.run() }
        do {
            try await rig.wait("the clock passes 20:00 and nothing is in flight", timeout: .seconds(20)) {
                guard rig.clock.now > closing.addingTimeInterval(1) else { return false }
                return try await rig.counts()[.sending] == nil
            }
            let sentBefore = rig.stubs["gen"]!.stats.received
            try await Task.sleep(for: .milliseconds(500))
            #expect(rig.stubs["gen"]!.stats.received == sentBefore, "the stub kept receiving after 20:00")
            let night = try await rig.messages()
            let lateSends = night.flatMap(\.events).filter { $0.to == .sending && $0.at >= closing }
            #expect(lateSends.count == 0, "\(lateSends.count) sends at or after 20:00")
            let waiting = night.filter { !$0.message.state.isFinal && $0.message.state != .accepted }
            #expect(sentBefore > 50 && !waiting.isEmpty, "sent \(sentBefore) before 20:00, \(waiting.count) waiting")
            #expect(night.allSatisfy { $0.message.state != .failed && $0.message.state != .cancelled })
            // Claimed ones refused at 20:00 are due at the next opening; none was dropped.
            for entry in waiting where entry.message.state == .retryWait {
                #expect(
                    entry.message.nextAttemptAt == morning,
                    "\(entry.message.idempotencyKey) due \(String(describing: entry.message.nextAttemptAt))")
            }
            rig.clock.jump(to: morning)
            try await rig.wait("the backlog is sent after 08:00") { try await rig.counts() == [.accepted: 400] }
        } catch {
            run.cancel()
            await rig.close()
            throw error
        }
        dispatcher.drain()
        try await run.value
        let accepted = rig.stubs["gen"]!.stats.acceptedIds ?? []
        await rig.close()
        #expect(accepted.count == 400 && Set(accepted).count == 400)
    }
}
