import Config
import Messaging
import Registry
import Rules

/// What a campaign would do, computed without sending anything.
public struct CampaignPreview: Sendable, Codable {
    public struct PolicyCount: Sendable, Codable {
        public var id: String
        public var title: String
        public var matched: Int
    }

    public struct Sample: Sendable, Codable {
        public var creditCode: String
        public var name: String
        public var channel: Channel
        /// Masked phone number or openid.
        public var to: String
        public var policies: [String]
        public var sms: RenderedSMS?
        public var wechat: RenderedWeChat?
    }

    public var date: String
    public var enterprises: Int
    public var audience: Int
    public var policies: [PolicyCount]
    public var channels: [String: Int]
    public var suppressed: [String: Int]
    public var smsMessages: Int
    public var smsSegments: Int
    public var samples: [Sample]
    /// Selected policies that are outside their validity window on `date` and so left out.
    public var inactivePolicies: [String]
}

/// Why an enterprise in the audience gets no message.
public enum SuppressionReason: String, Sendable, Codable, CaseIterable {
    /// No contact on any requested channel.
    case noContact = "no_contact"
    /// Reachable, but opted out of every requested channel it can be reached on.
    case optedOut = "opted_out"
    /// Reachable, but none of its policies may be announced on the channels it can be reached on.
    case noPolicyForChannel = "no_policy_for_channel"
}

/// Decides the channel and content of each enterprise's package: the pure part of planning.
public struct PackagePlanner: Sendable {
    public let policies: [PolicyProfile]
    public let channels: [Channel]

    /// - Parameters:
    ///   - policies: the campaign's active policies, ordered by priority (first = most important).
    ///   - channels: the requested channels in order of preference.
    public init(policies: [PolicyProfile], channels: [Channel]) {
        self.policies = policies
        self.channels = channels
    }

    public enum Decision: Sendable, Hashable {
        case send(Channel, policyIndices: [Int])
        case suppress(SuppressionReason)
    }

    /// The channel and policies for one enterprise that matched `matched` (indices into `policies`).
    public func decide(
        matched: [Int], reachable: (Channel) -> Bool, optedOut: (Channel) -> Bool
    ) -> Decision {
        var sawContact = false
        var sawAllowed = false
        for channel in channels where reachable(channel) {
            sawContact = true
            if optedOut(channel) { continue }
            sawAllowed = true
            let forChannel = matched.filter { policies[$0].channels.isEmpty || policies[$0].channels.contains(channel) }
            if !forChannel.isEmpty { return .send(channel, policyIndices: forChannel) }
        }
        if !sawContact { return .suppress(.noContact) }
        return .suppress(sawAllowed ? .noPolicyForChannel : .optedOut)
    }
}

extension EnterpriseShard {
    struct PreviewPart: Sendable {
        var audience = 0
        var perPolicy: [Int]
        var channels: [Channel: Int] = [:]
        var suppressed: [SuppressionReason: Int] = [:]
        var smsMessages = 0
        var smsSegments = 0
        var samples: [CampaignPreview.Sample] = []
    }

    func preview(
        evaluator: RuleEvaluator, planner: PackagePlanner, renderer: PackageRenderer, sampleLimit: Int
    ) -> PreviewPart {
        let bits = evaluator.evaluate(columns)
        var part = PreviewPart(perPolicy: bits.map(\.popcount))
        guard var audience = bits.first.map({ Bitset(count: $0.count) }) else { return part }
        for b in bits { audience.formUnion(b) }
        part.audience = audience.popcount

        let optOut = (sms: boolColumn("sms_opt_out"), wechat: boolColumn("wechat_opt_out"))
        var packages: [[Int]: [PolicyProfile]] = [:]
        var matched: [Int] = []
        matched.reserveCapacity(bits.count)
        audience.forEachSetIndex { row in
            matched.removeAll(keepingCapacity: true)
            for p in bits.indices where bits[p][row] { matched.append(p) }
            let decision = planner.decide(
                matched: matched,
                reachable: { $0 == .sms ? hasMobile(row) : hasOpenID(row) },
                optedOut: { ($0 == .sms ? optOut.sms[row] : optOut.wechat[row]) == 1 }
            )
            switch decision {
            case .suppress(let reason):
                part.suppressed[reason, default: 0] += 1
            case .send(let channel, let indices):
                part.channels[channel, default: 0] += 1
                let policies =
                    packages[indices]
                    ?? {
                        let list = indices.map { planner.policies[$0] }
                        packages[indices] = list
                        return list
                    }()
                var rebuilt: Enterprise?
                if channel == .sms {
                    let e = enterprise(at: row)
                    rebuilt = e
                    part.smsMessages += 1
                    part.smsSegments += renderer.smsCost(for: e, policies: policies).segments
                }
                if part.samples.count < sampleLimit,
                    !part.samples.contains(where: { $0.channel == channel }) || part.samples.count + 1 < sampleLimit
                {
                    let e = rebuilt ?? self.enterprise(at: row)
                    part.samples.append(
                        CampaignPreview.Sample(
                            creditCode: Mask.creditCode(e.creditCode), name: e.name, channel: channel,
                            to: channel == .sms ? Mask.mobile(e.mobile ?? "") : Mask.openID(e.wechatOpenID ?? ""),
                            policies: policies.map(\.id),
                            sms: channel == .sms ? renderer.renderSMS(for: e, policies: policies) : nil,
                            wechat: channel == .wechat ? renderer.renderWeChat(for: e, policies: policies) : nil))
                }
            }
        }
        return part
    }

    func boolColumn(_ name: String) -> [UInt8] {
        if case .bool(let v)? = columns.column(named: name) { return v }
        return [UInt8](repeating: 0, count: count)
    }
}

extension ShardedRegistry {
    /// Matches, plans and costs a campaign over every shard without writing anything.
    ///
    /// - Parameters:
    ///   - catalog: all policies; `policyIDs` selects some (nil = all).
    ///   - date: the campaign date; policies outside their validity window are left out.
    public func preview(
        catalog: PolicyCatalog, policyIDs: [String]?, channels: [Channel], date: LocalDate,
        renderer: PackageRenderer, samples: Int = 3
    ) async -> CampaignPreview {
        let selected = catalog.entries.filter { policyIDs?.contains($0.profile.id) ?? true }
        let active = selected.filter { $0.profile.isActive(on: date) }
        let evaluator = RuleEvaluator(rules: active.map(\.rule))
        let planner = PackagePlanner(policies: active.map(\.profile), channels: channels)
        let parts = await map { shard in
            await shard.preview(evaluator: evaluator, planner: planner, renderer: renderer, sampleLimit: samples)
        }
        var result = CampaignPreview(
            date: date.description, enterprises: count, audience: 0,
            policies: active.map { .init(id: $0.profile.id, title: $0.profile.title, matched: 0) },
            channels: [:], suppressed: [:], smsMessages: 0, smsSegments: 0, samples: [],
            inactivePolicies: selected.filter { !$0.profile.isActive(on: date) }.map(\.profile.id))
        var candidates: [CampaignPreview.Sample] = []
        for part in parts {
            result.audience += part.audience
            for (i, n) in part.perPolicy.enumerated() { result.policies[i].matched += n }
            for (channel, n) in part.channels { result.channels[channel.rawValue, default: 0] += n }
            for (reason, n) in part.suppressed { result.suppressed[reason.rawValue, default: 0] += n }
            result.smsMessages += part.smsMessages
            result.smsSegments += part.smsSegments
            candidates += part.samples
        }
        // Prefer samples of different channels, then fill up in shard order.
        for channel in channels {
            if let s = candidates.first(where: { $0.channel == channel }), result.samples.count < samples {
                result.samples.append(s)
            }
        }
        for s in candidates
        where result.samples.count < samples && !result.samples.contains(where: { $0.creditCode == s.creditCode }) {
            result.samples.append(s)
        }
        return result
    }
}
