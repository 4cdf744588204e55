import Config
import Delivery
import Foundation
import Messaging
import Registry
import Rules
import Storage

/// One enterprise's part of a campaign before cross-campaign rules: a package on a channel,
/// or a suppression with its reason.
struct PlannedPackage: Sendable {
    var creditCode: String
    var channel: Channel?
    var recipient: String
    var policyIndices: [Int]
    var payload: MessagePayload?
    var suppression: SuppressionReason?
    /// Why nothing is sent (`no_contact`, `opted_out`, `frequency_cap`, `duplicate`,
    /// `control_group`, …), or nil.
    var reason: String?
    /// Every policy the enterprise qualified for, before de-duplication.
    var matched: [Int] = []
    /// Held out as the control group (then `reason` is `control_group`).
    var control = false
    /// For a control enterprise: what planning would have decided had it been pushed (`nil`:
    /// a message). For the others, `reason`.
    var plannedReason: String?

    /// The control group's stand-in for `self`: no message, and what it would have been.
    func heldOut() -> PlannedPackage {
        PlannedPackage(
            creditCode: creditCode, channel: nil, recipient: "", policyIndices: matched, payload: nil,
            suppression: nil, reason: ControlGroup.reason, matched: matched, control: true, plannedReason: reason)
    }
}

extension ControlGroup {
    /// The suppression reason of a control enterprise's message.
    public static let reason = "control_group"
}

extension EnterpriseShard {
    /// Matches every row once: one bitset per policy (kept by the planner, 1 bit per row).
    func match(_ evaluator: RuleEvaluator) -> [Bitset] { evaluator.evaluate(columns) }

    /// Credit codes of the audience rows in `rows` (rows matching at least one policy).
    func audienceCodes(rows: Range<Int>, bits: [Bitset]) -> [String] {
        rows.filter { row in bits.contains { $0[row] } }.map { creditCode(at: $0) }
    }

    /// What the store knows about an enterprise that planning must respect.
    struct History: Sendable {
        /// Channels recorded as opted out (e.g. 回T退订 replies).
        var optedOut: Set<Channel> = []
        /// Channels whose frequency cap is reached.
        var capped: Set<Channel> = []
        /// Policies the enterprise was told within the de-duplication window.
        var told: Set<String> = []
    }

    /// Plans the audience rows in `rows`, rendering each package.
    ///
    /// `suppressedAddresses`: mobile numbers and openids that opted out (回T退订, unsubscribe) or
    /// were suppressed by an operator, by channel; whichever enterprise holds them now.
    ///
    /// `control`: the campaign's control group. Membership is decided first, from the credit code
    /// alone; a control enterprise still goes through de-duplication, caps and opt-outs so its
    /// package records what would have happened, but nothing is rendered or sent.
    func plan(
        rows: Range<Int>, bits: [Bitset], planner: PackagePlanner, renderer: PackageRenderer, fallback: Bool,
        history: [String: History], suppressedAddresses: [Channel: Set<String>] = [:], control: ControlGroup? = nil
    ) -> [PlannedPackage] {
        func addressSuppressed(_ row: Int, _ channel: Channel) -> Bool {
            guard let set = suppressedAddresses[channel], !set.isEmpty, let address = address(row, on: channel) else {
                return false
            }
            return set.contains(address)
        }
        let optOut = (sms: boolColumn("sms_opt_out"), wechat: boolColumn("wechat_opt_out"))
        var result: [PlannedPackage] = []
        var matched: [Int] = []
        for row in rows {
            matched.removeAll(keepingCapacity: true)
            for p in bits.indices where bits[p][row] { matched.append(p) }
            if matched.isEmpty { continue }
            let code = creditCode(at: row)
            let held = control?.contains(code) ?? false
            func add(_ package: PlannedPackage) {
                var package = package
                package.matched = matched
                package.plannedReason = package.reason
                result.append(held ? package.heldOut() : package)
            }
            let known = history[code] ?? History()
            let fresh = matched.filter { !known.told.contains(planner.policies[$0].id) }
            if fresh.isEmpty {
                add(
                    PlannedPackage(
                        creditCode: code, channel: nil, recipient: "", policyIndices: matched, payload: nil,
                        suppression: nil, reason: "duplicate"))
                continue
            }
            let reachable: (Channel) -> Bool = { $0 == .sms ? self.hasMobile(row) : self.hasOpenID(row) }
            let decision = planner.decide(
                matched: fresh, reachable: reachable,
                optedOut: { channel in
                    (channel == .sms ? optOut.sms[row] : optOut.wechat[row]) == 1 || known.optedOut.contains(channel)
                        || known.capped.contains(channel) || addressSuppressed(row, channel)
                })
            switch decision {
            case .suppress(let reason):
                var text = reason.rawValue
                if reason == .optedOut, planner.channels.contains(where: { reachable($0) && known.capped.contains($0) })
                {
                    text = "frequency_cap"
                }
                add(
                    PlannedPackage(
                        creditCode: code, channel: nil, recipient: "", policyIndices: fresh, payload: nil,
                        suppression: reason, reason: text))
            case .send(let channel, let indices):
                if held {
                    add(
                        PlannedPackage(
                            creditCode: code, channel: channel, recipient: "", policyIndices: indices, payload: nil,
                            suppression: nil, reason: nil))
                    continue
                }
                let e = enterprise(at: row)
                let policies = indices.map { planner.policies[$0] }
                var payload = MessagePayload.render(channel, enterprise: e, policies: policies, renderer: renderer)
                if channel == .wechat, fallback, planner.channels.contains(.sms), let mobile = e.mobile,
                    optOut.sms[row] != 1,
                    !known.optedOut.contains(.sms), !addressSuppressed(row, .sms)
                {
                    let sms = MessagePayload.render(.sms, enterprise: e, policies: policies, renderer: renderer)
                    payload.sms = sms.sms
                    payload.aliyun = sms.aliyun
                    payload.tencent = sms.tencent
                    payload.fallbackMobile = mobile
                }
                add(
                    PlannedPackage(
                        creditCode: code, channel: channel,
                        recipient: channel == .sms ? (e.mobile ?? "") : (e.wechatOpenID ?? ""),
                        policyIndices: indices, payload: payload, suppression: nil, reason: nil))
            }
        }
        return result
    }
}

/// Turns a pending campaign into outbox rows: matching on the shards, channel choice, rendering,
/// suppressions, frequency caps, de-duplication and quiet hours; written in batches.
public struct CampaignPlanner: Sendable {
    public var registry: ShardedRegistry
    public var catalog: PolicyCatalog
    public var renderer: PackageRenderer
    /// The tokens of the links each campaign's messages print.
    public var linkTokens: LinkTokens
    public var policy: PlanningPolicy
    public var batchRows = 4096

    public init(
        registry: ShardedRegistry, catalog: PolicyCatalog, renderer: PackageRenderer, linkTokens: LinkTokens,
        policy: PlanningPolicy
    ) {
        self.registry = registry
        self.catalog = catalog
        self.renderer = renderer
        self.linkTokens = linkTokens
        self.policy = policy
    }

    public struct Summary: Sendable {
        public var queued = 0
        public var suppressed: [String: Int] = [:]
    }

    /// The idempotency key of a campaign's message to an enterprise on a channel.
    ///
    /// Stable across re-planning, retries and restarts, and unguessable: it ends in a keyed hash
    /// (HMAC-SHA256 with the campaign's random secret, 64 bits shown) so nobody can name a message,
    /// or plant a receipt for it, before it is sent. A campaign from before the secret existed
    /// keeps the old form.
    public static func key(campaign: Int64, secret: [UInt8]?, creditCode: String, channel: String) -> String {
        let base = "pp\(campaign)-\(creditCode)-\(channel)"
        guard let secret, !secret.isEmpty,
            let mac = try? Digest.hmacSHA256(key: secret, data: Array("\(creditCode)|\(channel)".utf8))
        else { return base }
        return base + "-" + Digest.hex(Array(mac.prefix(8)))
    }

    /// Plans `campaign` into the outbox. Re-planning after a crash is harmless: rows are keyed.
    public func plan(_ campaign: CampaignRecord, store: StoreWorker, now: Date = Date()) async throws -> Summary {
        let spec = campaign.spec
        let date =
            LocalDate(iso: spec.campaignDate) ?? LocalDate(daysSinceEpoch: Int32(now.timeIntervalSince1970 / 86400))
        let entries = catalog.entries.filter { spec.policyIDs.contains($0.profile.id) && $0.profile.isActive(on: date) }
        let planner = PackagePlanner(
            policies: entries.map(\.profile), channels: spec.channels.isEmpty ? [.wechat, .sms] : spec.channels)
        let evaluator = RuleEvaluator(rules: entries.map(\.rule))
        let notBefore = policy.quietHours.nextAllowed(from: max(now, spec.startAt))
        var summary = Summary()
        var remaining = spec.maxMessages ?? Int.max
        let renderer = self.renderer.with(link: linkTokens.link(campaign: campaign.id))
        let suppressedAddresses = try await store.run { try $0.suppressedAddresses() }
        let control = ControlGroup(percent: spec.controlPercent, seed: spec.controlSeed)
        var batches = PlanningBatches(registry: registry, evaluator: evaluator, batchRows: batchRows)
        // One batch's write in flight while the next is planned: the store worker's thread
        // writes, the shards render. The next batch's history is read before this batch's write
        // is queued on the same worker, so planning never waits behind it.
        try await withThrowingTaskGroup(of: Void.self) { writes in
            var next = try await batches.next { try await history(of: $0, store: store, now: now) }
            while let batch = next {
                let planned = await batch.shard.plan(
                    rows: batch.rows, bits: batch.bits, planner: planner, renderer: renderer, fallback: spec.fallback,
                    history: batch.history,
                    suppressedAddresses: suppressedAddresses, control: control)
                var messages: [NewMessage] = []
                messages.reserveCapacity(planned.count)
                var groups: [GroupAssignment] = []
                groups.reserveCapacity(planned.count)
                for p in planned {
                    var state = MessageState.queued
                    var reason = p.reason
                    if reason != nil {
                        state = .suppressed
                    } else if remaining > 0 {
                        remaining -= 1
                    } else {
                        state = .suppressed
                        reason = "campaign_max"
                    }
                    groups.append(
                        GroupAssignment(
                            campaignID: campaign.id, creditCode: p.creditCode,
                            policyIDs: p.matched.map { planner.policies[$0].id }, control: p.control,
                            plannedReason: p.control ? p.plannedReason : reason))
                    messages.append(
                        NewMessage(
                            campaignID: campaign.id, creditCode: p.creditCode, channel: p.channel,
                            recipient: p.recipient,
                            policyIDs: p.policyIndices.map { planner.policies[$0].id },
                            payload: state == .queued ? (p.payload?.encoded() ?? []) : [],
                            idempotencyKey: Self.key(
                                campaign: campaign.id, secret: campaign.keySecret, creditCode: p.creditCode,
                                channel: p.channel?.rawValue ?? "none"),
                            state: state, suppressionReason: reason, notBefore: notBefore,
                            linkToken: state == .queued
                                ? linkTokens.token(campaign: campaign.id, creditCode: p.creditCode) : nil))
                    if state == .queued {
                        summary.queued += 1
                    } else {
                        summary.suppressed[reason ?? "other", default: 0] += 1
                    }
                }
                // The previous batch is written before this one is queued (at most one waits).
                _ = try await writes.next()
                next = try await batches.next { try await history(of: $0, store: store, now: now) }
                writes.addTask { [messages, groups] in
                    _ = try await store.run { try $0.insertPlanned(messages, groups: groups) }
                }
            }
            try await writes.waitForAll()
        }
        return summary
    }

    /// Opt-outs recorded in the store, frequency caps and "already told" policies for `codes`.
    func history(of codes: [String], store: StoreWorker, now: Date) async throws -> [String: EnterpriseShard.History] {
        let longest = max(policy.dedupeDays, policy.frequencyCaps.values.map(\.days).max() ?? 0)
        let since = now.addingTimeInterval(-Double(longest) * 86400)
        let (contacts, suppressions) = try await store.run { store in
            (try store.contacts(creditCodes: codes, since: since), try store.suppressions(creditCodes: codes))
        }
        var result: [String: EnterpriseShard.History] = [:]
        for code in Set(contacts.keys).union(suppressions.keys) {
            var h = EnterpriseShard.History()
            h.optedOut = Set(suppressions[code] ?? [])
            let entries = contacts[code] ?? []
            for (channel, cap) in policy.frequencyCaps {
                let window = now.addingTimeInterval(-Double(cap.days) * 86400)
                if entries.filter({ $0.channel == channel && $0.at >= window }).count >= cap.max {
                    h.capped.insert(channel)
                }
            }
            if policy.dedupeDays > 0 {
                let window = now.addingTimeInterval(-Double(policy.dedupeDays) * 86400)
                h.told = Set(entries.filter { $0.at >= window }.flatMap(\.policyIDs))
            }
            result[code] = h
        }
        return result
    }
}

/// The planner's batches in order, shard by shard: `batchRows` rows at a time, those with an
/// audience only, each with its enterprises' history read from the store.
struct PlanningBatches {
    struct Batch {
        var shard: EnterpriseShard
        var rows: Range<Int>
        var bits: [Bitset]
        var history: [String: EnterpriseShard.History]
    }

    let registry: ShardedRegistry
    let evaluator: RuleEvaluator
    let batchRows: Int
    private var shardIndex = 0
    private var start = 0
    /// The matches of the shard `shardIndex`, evaluated when its first batch is asked for.
    private var bits: [Bitset]?

    init(registry: ShardedRegistry, evaluator: RuleEvaluator, batchRows: Int) {
        self.registry = registry
        self.evaluator = evaluator
        self.batchRows = batchRows
    }

    /// The next batch with an audience, or `nil` after the last; `history` reads the store.
    mutating func next(
        history: ([String]) async throws -> [String: EnterpriseShard.History]
    ) async throws -> Batch? {
        while shardIndex < registry.shards.count {
            let shard = registry.shards[shardIndex]
            guard start < shard.count else {
                shardIndex += 1
                start = 0
                bits = nil
                continue
            }
            let matches: [Bitset]
            if let bits {
                matches = bits
            } else {
                matches = await shard.match(evaluator)
                bits = matches
            }
            let rows = start..<min(shard.count, start + batchRows)
            start = rows.upperBound
            let codes = await shard.audienceCodes(rows: rows, bits: matches)
            if codes.isEmpty { continue }
            return Batch(shard: shard, rows: rows, bits: matches, history: try await history(codes))
        }
        return nil
    }
}
