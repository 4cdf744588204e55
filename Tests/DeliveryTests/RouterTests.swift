import Delivery
import Foundation
import Testing

@Suite struct RouterTests {
    private func gateways(_ clock: ManualClock, _ names: [String]) throws -> [GatewayDispatcher] {
        try names.map { name in
            try dispatcher(name, clock: clock, sender: ScriptedSender(clock: clock)) {
                $0.breaker = .init(consecutiveFailures: 1, coolDown: .seconds(30))
            }
        }
    }

    private func shares(_ router: ChannelRouter, picks: Int, at now: Date, excluding: Set<String> = []) -> [String: Int]
    {
        var counts: [String: Int] = [:]
        for _ in 0..<picks {
            if case .gateway(let gateway) = router.pick(excluding: excluding, now: now) {
                counts[gateway.name, default: 0] += 1
            }
        }
        return counts
    }

    @Test func splitsTrafficByWeight() throws {
        let clock = ManualClock()
        let gws = try gateways(clock, ["aliyun", "tencent", "generic"])
        let router = ChannelRouter(
            channel: "sms", members: [.init(gws[0], weight: 5), .init(gws[1], weight: 3), .init(gws[2], weight: 2)])
        let counts = shares(router, picks: 1000, at: clock.date)
        for (name, expected) in [("aliyun", 500), ("tencent", 300), ("generic", 200)] {
            #expect(abs(counts[name, default: 0] - expected) <= 20, "\(name): \(counts[name, default: 0])")
        }
        // Smooth: the heavy gateway's picks are interleaved, never five in a row.
        var run = 0
        var longest = 0
        for _ in 0..<100 {
            guard case .gateway(let gateway) = router.pick(now: clock.date) else { continue }
            run = gateway.name == "aliyun" ? run + 1 : 0
            longest = max(longest, run)
        }
        #expect(longest <= 2)
    }

    @Test func failsOverWhileABreakerIsOpen() async throws {
        let clock = ManualClock()
        let senders = (0..<2).map { _ in ScriptedSender(clock: clock) }
        let aliyun = try dispatcher("aliyun", clock: clock, sender: senders[0]) {
            $0.breaker = .init(consecutiveFailures: 1, coolDown: .seconds(30))
        }
        let tencent = try dispatcher("tencent", clock: clock, sender: senders[1]) {
            $0.breaker = .init(consecutiveFailures: 1, coolDown: .seconds(60))
        }
        let router = ChannelRouter(channel: "sms", members: [.init(aliyun, weight: 3), .init(tencent, weight: 1)])

        senders[0].then(.retry(after: nil, reason: ReasonCode("http", "503")))
        _ = await aliyun.send(message("a"))
        #expect(shares(router, picks: 100, at: clock.date) == ["tencent": 100])

        senders[1].then(.ambiguous(reason: ReasonCode("transport", "timeoutAfterSend")))
        _ = await tencent.send(message("b"))
        guard case .unavailable(let retryAt) = router.pick(now: clock.date) else {
            Issue.record("expected no gateway")
            return
        }
        #expect(retryAt == clock.date.addingTimeInterval(30))

        clock.advance(by: .seconds(30))
        #expect(shares(router, picks: 10, at: clock.date) == ["aliyun": 10])
        clock.advance(by: .seconds(30))
        let counts = shares(router, picks: 400, at: clock.date)
        #expect(counts == ["aliyun": 300, "tencent": 100])
    }

    @Test func skipsPausedAndExcludedGateways() async throws {
        let clock = ManualClock()
        let gws = try gateways(clock, ["a", "b", "c"])
        let router = ChannelRouter(channel: "wechat", members: gws.map { .init($0) })
        #expect(shares(router, picks: 30, at: clock.date, excluding: ["a"]) == ["b": 15, "c": 15])
        await gws[1].pauseGateway(
            until: clock.date.addingTimeInterval(3600), reason: ReasonCode("wechat", "45009"), kind: .quota)
        await gws[2].pauseGateway(until: nil)
        #expect(shares(router, picks: 10, at: clock.date) == ["a": 10])
        guard case .unavailable(let retryAt) = router.pick(excluding: ["a"], now: clock.date) else {
            Issue.record("expected no gateway")
            return
        }
        #expect(retryAt == clock.date.addingTimeInterval(3600))
        await gws[1].resume()
        guard case .unavailable(nil) = router.pick(excluding: ["a", "b"], now: clock.date) else {
            Issue.record("an operator pause has no end to report")
            return
        }
    }
}
