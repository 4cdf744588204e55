import Config
import Registry
import Rules

/// The registry partitioned over `EnterpriseShard` actors by a stable hash of the credit code.
public struct ShardedRegistry: Sendable {
    public let shards: [EnterpriseShard]
    public let schema: AttributeSchema

    /// Distributes the enterprises a producer yields over `shardCount` shards.
    ///
    /// - Parameter produce: calls its argument once per enterprise (e.g. a store scan).
    public static func build(
        shardCount: Int, schema: AttributeSchema,
        _ produce: (_ add: (Enterprise) -> Void) throws -> Void
    ) rethrows -> ShardedRegistry {
        precondition(shardCount > 0)
        var builders = (0..<shardCount).map { _ in EnterpriseShard.Builder(schema: schema) }
        try produce { enterprise in
            builders[ShardKey.shard(of: enterprise.creditCode, shardCount: shardCount)].append(enterprise)
        }
        var shards: [EnterpriseShard] = []
        for i in 0..<shardCount {
            shards.append(EnterpriseShard(index: i, builder: builders[i]))
            builders[i] = EnterpriseShard.Builder(schema: schema)  // release the copy
        }
        return ShardedRegistry(shards: shards, schema: schema)
    }

    public var count: Int { shards.reduce(0) { $0 + $1.count } }

    public var approximateByteCount: Int { shards.reduce(0) { $0 + $1.approximateByteCount } }

    /// Runs `work` on every shard concurrently and returns the results in shard order.
    public func map<T: Sendable>(_ work: @escaping @Sendable (EnterpriseShard) async throws -> T) async rethrows -> [T]
    {
        try await withThrowingTaskGroup(of: (Int, T).self) { group in
            for shard in shards {
                group.addTask { (shard.index, try await work(shard)) }
            }
            var results = [T?](repeating: nil, count: shards.count)
            for try await (i, result) in group { results[i] = result }
            return results.map { $0! }
        }
    }

    /// Rule results of every shard: `[shard][rule]`.
    public func evaluate(_ evaluator: RuleEvaluator) async -> [[Bitset]] {
        await map { await $0.evaluate(evaluator) }
    }
}
