import Delivery
import Foundation
import Storage
import Testing

@testable import Daemon

/// One provider budget across nodes: the daily cap counted in the store's admission commit, and
/// each node's share of the rate.
@Suite("Provider budget")
struct ProviderBudgetTests {
    /// Another node (its own writer on the store) admitted 7 of the day's 10; this one sends 3 and
    /// stops until the next local midnight, though its own count says 0 of 10.
    @Test func aDailyCapSpentByAnotherNodeStopsThisOneAtWhatIsLeft() async throws {
        let rig = try await DispatchRig(
            gateways: [.init(name: "gen", kind: .generic, extra: "daily_cap: 10")], sms: ["gen"], messages: 30)
        let start = rig.clock.now
        let day = DailyCap(limit: 10, timeZone: rig.configuration.timeZone).bounds(of: start)
        let others = try await rig.messages().prefix(7).map(\.message.id)
        let otherNode = try GroupCommitWriter(path: rig.directory + "/store.sqlite")
        let budget = SendBudget(gateway: "gen", dailyCap: 10, dayStart: day.start, dayEnd: day.end, windows: [])
        for id in others {
            let sending = Transition(
                messageID: id, to: .sending, at: start, gateway: "gen", countsAsAttempt: false, budget: budget)
            #expect(try await otherNode.admit(sending) == .applied)
            _ = try await otherNode.submit([Transition(messageID: id, to: .accepted, at: start, gateway: "gen")])
        }
        otherNode.close()

        // A store shared by several nodes is PostgreSQL; the rig's SQLite store is asked to count too.
        let dispatcher = rig.dispatcher(storeBudget: true)
        let run = Task { try await dispatcher.run() }
        try await rig.wait("every message is accepted or waits for tomorrow") {
            let counts = try await rig.counts()
            return counts[.accepted] == 10 && counts[.retryWait] == 20
        }
        dispatcher.drain()
        run.cancel()
        _ = try? await run.value
        let received = rig.stubs["gen"]?.stats.received
        let waiting = try await rig.messages().filter { $0.message.state == .retryWait }
        let availability = rig.delivery.gateways["gen"]?.dispatcher.availability(at: start)
        await rig.close()
        #expect(received == 3)
        #expect(waiting.allSatisfy { $0.message.nextAttemptAt == day.end })
        #expect(waiting.contains { $0.message.lastError == GatewayDispatcher.dailyCapReached.description })
        #expect(availability == .blocked(until: day.end))
    }

    /// The daemon's hook for the live node count: every gateway takes its share, and gets the whole
    /// rate back when the node is alone again.
    @Test func shareTakesEachGatewaysPartOfTheRate() async throws {
        let rig = try await DispatchRig(
            gateways: [.init(name: "a", kind: .generic, rate: 20), .init(name: "b", kind: .generic, rate: 30)],
            sms: ["a", "b"], messages: 0)
        await rig.delivery.share(nodes: 2)
        var shares: [String: Int] = [:]
        var tokens: [String: Int] = [:]
        for (name, gateway) in rig.delivery.gateways {
            shares[name] = await gateway.dispatcher.share
            tokens[name] = await gateway.dispatcher.state.tokens
        }
        // The rig's burst is 5: a half share holds 2.
        #expect(shares == ["a": 2, "b": 2])
        #expect(tokens == ["a": 2, "b": 2])
        await rig.delivery.share(nodes: 1)
        for (name, gateway) in rig.delivery.gateways { shares[name] = await gateway.dispatcher.share }
        await rig.close()
        #expect(shares == ["a": 1, "b": 1])
    }

    /// The budget the dispatcher sends with an admission: the gateway's cap, its local day, and the
    /// windows that apply to each recipient key.
    @Test func theBudgetCarriesTheGatewaysLimits() throws {
        var configuration = GatewayDispatcher.Configuration(
            name: "ali", dailyCap: 500, recipientWindows: RecipientLimits.aliyunNotification)
        configuration.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        // 2026-03-01T15:59:59Z is 23:59:59 in Shanghai.
        let at = Date(timeIntervalSince1970: 1_772_380_799)
        let key = RecipientLimits.key(scope: "aliyun", "sign", "SMS_1", "13800000000")
        let budget = DeliveryService.budget(configuration, recipientKeys: [key], at: at)
        #expect(budget.gateway == "ali" && budget.dailyCap == 500)
        #expect(budget.dayStart == Date(timeIntervalSince1970: 1_772_380_800 - 86_400))
        #expect(budget.dayEnd == Date(timeIntervalSince1970: 1_772_380_800))
        #expect(budget.windows == [SendBudget.Window(key: key, limit: 50, period: 86_400)])
    }
}
