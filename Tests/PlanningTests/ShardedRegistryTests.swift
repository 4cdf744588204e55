import Config
import Foundation
import Planning
import Registry
import Rules
import Testing

@Suite("Shards")
struct ShardedRegistryTests {
    static let schema = AttributeSchema(custom: ["export_share": .number])

    static func enterprises(_ n: Int, seed: UInt64 = 5) -> [Enterprise] {
        var generator = EnterpriseGenerator(seed: seed)
        return (0..<n).map { _ in generator.next() }
    }

    @Test func partitionIsStableAndComplete() {
        let all = Self.enterprises(500)
        let registry = ShardedRegistry.build(shardCount: 4, schema: Self.schema) { add in all.forEach(add) }
        #expect(registry.count == 500)
        #expect(registry.shards.map(\.count).allSatisfy { $0 > 60 }, "hash spreads enterprises over shards")
        // The same code always lands on the same shard, whatever else is loaded.
        #expect(
            ShardKey.shard(of: "91350100M000100Y43", shardCount: 4)
                == ShardKey.shard(of: "91350100M000100Y43", shardCount: 4))
    }

    @Test func rowsRoundTripThroughTheShards() async {
        var all = Self.enterprises(300)
        all[0].custom["export_share"] = "0.25"
        all[1].custom["note"] = "kept as text"
        let registry = ShardedRegistry.build(shardCount: 3, schema: Self.schema) { add in all.forEach(add) }
        let byCode = Dictionary(uniqueKeysWithValues: all.map { ($0.creditCode, $0) })
        let rebuilt = await registry.map { shard in await shard.allEnterprises() }.flatMap { $0 }
        #expect(rebuilt.count == all.count)
        for e in rebuilt {
            #expect(byCode[e.creditCode] == e)
        }
    }

    @Test func hugeStoredNumbersComeBackWithoutATrap() async {
        // Stores written before imports bounded employees can hold any Int64.
        var big = Self.enterprises(1)[0]
        big.employees = .max
        var small = Self.enterprises(2)[1]
        small.employees = .min
        let registry = ShardedRegistry.build(shardCount: 1, schema: Self.schema) { add in
            add(big)
            add(small)
        }
        let rebuilt = await registry.map { shard in await shard.allEnterprises() }.flatMap { $0 }
        #expect(rebuilt.map(\.employees) == [.max, .min])
    }

    @Test func columnarMatchingAgreesWithRowWiseMatching() async throws {
        let all = Self.enterprises(2000, seed: 9)
        let rules = try [
            "taxpayer_type == \"small_scale\" and annual_sales <= 1200000",
            "industry_code startswith \"C\" and credit_rating in [\"A\", \"B\"] and not high_tech",
            "employees > 50 or total_assets >= 10000000",
        ].map { try CompiledRule(source: $0, schema: Self.schema) }
        let registry = ShardedRegistry.build(shardCount: 2, schema: Self.schema) { add in all.forEach(add) }
        let evaluator = RuleEvaluator(rules: rules)
        let counts = await registry.evaluate(evaluator).reduce(into: [Int](repeating: 0, count: rules.count)) {
            total, shard in
            for (i, bits) in shard.enumerated() { total[i] += bits.popcount }
        }
        for (i, rule) in rules.enumerated() {
            #expect(counts[i] == all.filter(rule.matches).count, "rule \(i)")
            #expect(counts[i] > 0, "rule \(i) should match something in 2000 enterprises")
        }
    }
}

@Suite("Package planning")
struct PackagePlannerTests {
    static let wechatOnly = PolicyProfile(
        id: "w", title: "W", shortTitle: "W", basis: "", channels: [.wechat], when: "true")
    static let any = PolicyProfile(id: "a", title: "A", shortTitle: "A", basis: "", when: "true")

    @Test func prefersTheFirstReachableChannel() {
        let planner = PackagePlanner(policies: [Self.any], channels: [.wechat, .sms])
        #expect(
            planner.decide(matched: [0], reachable: { _ in true }, optedOut: { _ in false })
                == .send(.wechat, policyIndices: [0]))
        #expect(
            planner.decide(matched: [0], reachable: { $0 == .sms }, optedOut: { _ in false })
                == .send(.sms, policyIndices: [0]))
        #expect(
            planner.decide(matched: [0], reachable: { _ in true }, optedOut: { $0 == .wechat })
                == .send(.sms, policyIndices: [0]))
    }

    @Test func recordsWhyNothingIsSent() {
        let planner = PackagePlanner(policies: [Self.wechatOnly], channels: [.wechat, .sms])
        #expect(
            planner.decide(matched: [0], reachable: { _ in false }, optedOut: { _ in false }) == .suppress(.noContact))
        #expect(planner.decide(matched: [0], reachable: { _ in true }, optedOut: { _ in true }) == .suppress(.optedOut))
        #expect(
            planner.decide(matched: [0], reachable: { $0 == .sms }, optedOut: { _ in false })
                == .suppress(.noPolicyForChannel))
    }
}
