import Foundation
import Synchronization

/// Chooses among the gateways of one channel: smooth weighted round robin over those available,
/// skipping any that is paused or whose circuit is open.
///
/// Over any run of picks with the same gateways available, each gateway gets its weight's share,
/// interleaved rather than in blocks (nginx's smooth weighted round robin). When a gateway becomes
/// unavailable its traffic fails over to the others of the channel; when none is available the
/// router says when the first one will be.
public final class ChannelRouter: Sendable {
    /// One gateway of the channel with its share of traffic.
    public struct Member: Sendable {
        public var dispatcher: GatewayDispatcher
        /// A positive weight; shares are proportional to weights.
        public var weight: Int

        public init(_ dispatcher: GatewayDispatcher, weight: Int = 1) {
            self.dispatcher = dispatcher
            self.weight = weight
        }
    }

    /// The router's answer.
    public enum Decision: Sendable {
        case gateway(GatewayDispatcher)
        /// No gateway is available; try again at `retryAt`, or when an operator resumes one if nil.
        case unavailable(retryAt: Date?)
    }

    /// The channel's name (`sms`, `wechat`).
    public let channel: String
    public let members: [Member]
    private let current: Mutex<[Int]>

    /// Creates a router over `members` (weights below 1 count as 1).
    public init(channel: String, members: [Member]) {
        self.channel = channel
        self.members = members.map { Member($0.dispatcher, weight: Swift.max($0.weight, 1)) }
        self.current = Mutex(Array(repeating: 0, count: members.count))
    }

    /// Picks a gateway for the next message at `now`.
    ///
    /// - Parameter excluding: gateway names not to use (those that already failed this message).
    public func pick(excluding: Set<String> = [], now: Date = Date()) -> Decision {
        var candidates: [Int] = []
        var retryAt: Date?
        for (index, member) in members.enumerated() where !excluding.contains(member.dispatcher.name) {
            switch member.dispatcher.availability(at: now) {
            case .available: candidates.append(index)
            case .blocked(let until): retryAt = Swift.min(retryAt ?? until, until)
            case .stopped: break
            }
        }
        guard !candidates.isEmpty else { return .unavailable(retryAt: retryAt) }
        let chosen = current.withLock { current in
            var total = 0
            var best = candidates[0]
            for index in candidates {
                current[index] += members[index].weight
                total += members[index].weight
                if current[index] > current[best] { best = index }
            }
            current[best] -= total
            return best
        }
        return .gateway(members[chosen].dispatcher)
    }
}
