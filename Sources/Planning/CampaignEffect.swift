import Foundation
import Kit
import Registry
import Storage

/// 跟踪问效: did a campaign make eligible enterprises claim the relief it announced?
///
/// Per policy, among the enterprises eligible for it (qualified when the campaign was planned,
/// before de-duplication, caps and opt-outs), the share that claimed it within `windowDays`
/// days of the campaign's start day, in the pushed group (split by whether a message carrying
/// the policy was delivered) and in the control group; the difference pushed − control with
/// Newcombe's hybrid score 95 % interval. `campaign effect` prints it; reports can encode it.
///
/// The comparison is pushed (all, whatever happened to the message) against control, an
/// intention-to-treat comparison: both are random samples of the same eligible enterprises,
/// while "delivered" is not (reachable enterprises differ from unreachable ones).
public struct CampaignEffect: Sendable, Hashable, Encodable {
    public var campaign: Int64
    public var name: String
    /// The campaign's start day (local), the first day of the window.
    public var startDay: String
    public var windowDays: Int
    /// The last day of the window.
    public var windowEnd: String
    public var controlPercent: Double
    /// Whether there is a control group to compare with; without one the figures are descriptive.
    public var measuresEffect: Bool
    /// A plain sentence on what the figures do and do not show.
    public var note: String
    /// How the difference's interval is computed.
    public var intervalMethod = "newcombe_hybrid_score_95"
    public var policies: [PolicyEffect]

    /// One policy's figures.
    public struct PolicyEffect: Sendable, Hashable, Encodable {
        public var policyID: String
        public var eligible: Int
        /// The pushed group, all of it.
        public var pushed: Group
        /// Of the pushed group: a message carrying the policy was delivered.
        public var delivered: Group
        /// Of the pushed group: no such message was delivered (suppressed, capped, failed, …).
        public var notDelivered: Group
        public var control: Group
        /// Pushed − control, or `nil` without a control group (or an empty group).
        public var difference: Difference?
    }

    /// One group's uptake of one policy.
    public struct Group: Sendable, Hashable, Encodable {
        public var enterprises = 0
        /// Enterprises that opened their package page (the stage between delivered and claimed);
        /// always 0 in the control group, which got no message.
        public var opened = 0
        /// Enterprises with at least one claim in the window.
        public var claimed = 0
        /// `claimed / enterprises`, `nil` for an empty group.
        public var share: Double?
        /// Wilson score 95 % interval of `share`.
        public var interval: Proportions.Interval?
        /// Relief claimed in the window, in fen, summed over every claim with an amount.
        public var amountFen: Int64 = 0
        /// The same in yuan, two decimals (`"1234.50"`).
        public var amountYuan = "0.00"
        /// Median days from the start day to an enterprise's first claim in the window.
        public var medianDaysFromStart: Double?
        /// Median days from the delivery day to the first claim on or after it (delivered only).
        public var medianDaysFromDelivery: Double?
        /// What planning decided (pushed) or would have decided (control) for its members:
        /// suppressions by reason, e.g. how many the frequency cap removed from each group.
        public var planningSuppressed: [ReasonCount] = []
    }

    public struct ReasonCount: Sendable, Hashable, Encodable {
        public var reason: String
        public var count: Int

        public init(reason: String, count: Int) {
            self.reason = reason
            self.count = count
        }
    }

    public struct Difference: Sendable, Hashable, Encodable {
        /// Share claimed, pushed minus control.
        public var estimate: Double
        public var lower: Double
        public var upper: Double
    }

    /// Computes the figures.
    ///
    /// - Parameters:
    ///   - assignments: every eligible enterprise with its group (see ``GroupAssignment``).
    ///   - deliveries: when a message carrying each policy was first delivered, by credit code
    ///     and policy id.
    ///   - claims: uptake of the campaign's policies; claims outside the window are ignored.
    ///   - opened: the credit codes of the enterprises that opened their package page.
    ///   - zone: the time zone of the start day and delivery days.
    public static func compute(
        campaign: CampaignRecord, assignments: [GroupAssignment], deliveries: [String: [String: Date]],
        claims: [UptakeClaim], opened: Set<String> = [], windowDays: Int, zone: TimeZone
    ) -> CampaignEffect {
        let (start, end) = window(campaign, days: windowDays, zone: zone)
        var claimsBy: [String: [String: [UptakeClaim]]] = [:]
        for claim in claims where claim.claimedOn >= start && claim.claimedOn <= end {
            claimsBy[claim.policyID, default: [:]][claim.creditCode, default: []].append(claim)
        }
        let hasControl = assignments.contains(where: \.control)
        var policies: [PolicyEffect] = []
        for policy in campaign.spec.policyIDs {
            var pushed = Tally()
            var delivered = Tally()
            var notDelivered = Tally()
            var control = Tally()
            let policyClaims = claimsBy[policy] ?? [:]
            for a in assignments where a.policyIDs.contains(policy) {
                let own = (policyClaims[a.creditCode] ?? []).sorted { $0.claimedOn < $1.claimedOn }
                let deliveredAt = deliveries[a.creditCode]?[policy].map { localDay($0, zone) }
                let member = Member(
                    claims: own, start: start, deliveredOn: deliveredAt,
                    opened: !a.control && opened.contains(a.creditCode),
                    plannedReason: a.plannedReason)
                if a.control {
                    control.add(member)
                } else {
                    pushed.add(member)
                    if deliveredAt != nil { delivered.add(member) } else { notDelivered.add(member) }
                }
            }
            let p = pushed.group()
            let c = control.group()
            let difference = Proportions.newcombeDifference(
                successes1: p.claimed, trials1: p.enterprises, successes2: c.claimed, trials2: c.enterprises
            ).map { Difference(estimate: $0.difference, lower: $0.interval.lower, upper: $0.interval.upper) }
            policies.append(
                PolicyEffect(
                    policyID: policy, eligible: p.enterprises + c.enterprises, pushed: p, delivered: delivered.group(),
                    notDelivered: notDelivered.group(), control: c, difference: hasControl ? difference : nil))
        }
        let note =
            hasControl
            ? "Pushed (all) is compared with the control group, held out at random: the difference estimates the push's effect on uptake."
            : "No control group: these figures describe uptake among the enterprises pushed; they do not measure an effect of the push (start a campaign with --control PCT for that)."
        return CampaignEffect(
            campaign: campaign.id, name: campaign.spec.name, startDay: start.description, windowDays: windowDays,
            windowEnd: end.description, controlPercent: campaign.spec.controlPercent, measuresEffect: hasControl,
            note: note, policies: policies)
    }

    static func localDay(_ date: Date, _ zone: TimeZone) -> LocalDate {
        let seconds = date.timeIntervalSince1970 + Double(zone.secondsFromGMT(for: date))
        return LocalDate(daysSinceEpoch: Int32((seconds / 86400).rounded(.down)))
    }

    /// `123450` → `"1234.50"`.
    public static func yuan(_ fen: Int64) -> String {
        let cents = fen % 100
        return "\(fen / 100)." + (cents < 10 ? "0" : "") + String(cents)
    }

    /// One eligible enterprise's part in a tally.
    private struct Member {
        var claims: [UptakeClaim]
        var start: LocalDate
        var deliveredOn: LocalDate?
        var opened: Bool
        var plannedReason: String?
    }

    private struct Tally {
        var enterprises = 0
        var opened = 0
        var claimed = 0
        var amountFen: Int64 = 0
        var fromStart: [Int] = []
        var fromDelivery: [Int] = []
        var suppressed: [String: Int] = [:]
        var delivered = false

        mutating func add(_ m: Member) {
            enterprises += 1
            if let reason = m.plannedReason { suppressed[reason, default: 0] += 1 }
            if m.deliveredOn != nil { delivered = true }
            if m.opened { opened += 1 }
            guard let first = m.claims.first else { return }
            claimed += 1
            amountFen += m.claims.compactMap(\.amountFen).reduce(0, +)
            fromStart.append(Int(first.claimedOn.daysSinceEpoch - m.start.daysSinceEpoch))
            if let day = m.deliveredOn, let after = m.claims.first(where: { $0.claimedOn >= day }) {
                fromDelivery.append(Int(after.claimedOn.daysSinceEpoch - day.daysSinceEpoch))
            }
        }

        func group() -> Group {
            var g = Group()
            g.enterprises = enterprises
            g.opened = opened
            g.claimed = claimed
            g.share = enterprises > 0 ? Double(claimed) / Double(enterprises) : nil
            g.interval = Proportions.wilson(successes: claimed, trials: enterprises)
            g.amountFen = amountFen
            g.amountYuan = CampaignEffect.yuan(amountFen)
            g.medianDaysFromStart = Self.median(fromStart)
            g.medianDaysFromDelivery = delivered ? Self.median(fromDelivery) : nil
            g.planningSuppressed = suppressed.sorted { $0.key < $1.key }.map {
                ReasonCount(reason: $0.key, count: $0.value)
            }
            return g
        }

        static func median(_ values: [Int]) -> Double? {
            guard !values.isEmpty else { return nil }
            let sorted = values.sorted()
            let mid = sorted.count / 2
            return sorted.count % 2 == 1 ? Double(sorted[mid]) : Double(sorted[mid - 1] + sorted[mid]) / 2
        }
    }
}

/// What ``CampaignEffect`` is computed from, read from the store: every eligible enterprise with
/// its group, and when a message carrying each policy was first delivered to it.
public struct EffectInputs: Sendable {
    public var assignments: [GroupAssignment]
    /// First delivery time by credit code and policy id.
    public var deliveries: [String: [String: Date]]
    /// The credit codes of the enterprises that opened their package page.
    public var opened: Set<String> = []

    /// Reads a campaign's inputs. A campaign planned before group assignments were recorded has
    /// them derived from its messages: each enterprise's policies, in the control group when its
    /// message is suppressed as `control_group`.
    public static func read(campaign: CampaignRecord, store: any PolicyPushStore) throws -> EffectInputs {
        let stored = try store.groupAssignments(campaignID: campaign.id)
        var derived: [String: GroupAssignment] = [:]
        var deliveries: [String: [String: Date]] = [:]
        try store.forEachMessage(campaignID: campaign.id, withEvents: true) { message, events in
            if stored.isEmpty {
                let control = message.suppressionReason == ControlGroup.reason
                var a =
                    derived[message.creditCode]
                    ?? GroupAssignment(
                        campaignID: campaign.id, creditCode: message.creditCode, policyIDs: [], control: control,
                        plannedReason: control ? nil : message.suppressionReason)
                for id in message.policyIDs where !a.policyIDs.contains(id) { a.policyIDs.append(id) }
                derived[message.creditCode] = a
            }
            guard message.state == .delivered else { return }
            let at = events?.last(where: { $0.to == .delivered })?.at ?? message.acceptedAt ?? campaign.spec.startAt
            for policy in message.policyIDs {
                let known = deliveries[message.creditCode]?[policy]
                if known.map({ at < $0 }) ?? true { deliveries[message.creditCode, default: [:]][policy] = at }
            }
        }
        let assignments = stored.isEmpty ? derived.values.sorted { $0.creditCode < $1.creditCode } : stored
        return EffectInputs(
            assignments: assignments, deliveries: deliveries,
            opened: try store.openedEnterprises(campaignID: campaign.id))
    }
}

extension CampaignEffect {
    /// The window's first and last day for a campaign.
    public static func window(_ campaign: CampaignRecord, days: Int, zone: TimeZone) -> (LocalDate, LocalDate) {
        let start = localDay(campaign.spec.startAt, zone)
        return (start, LocalDate(daysSinceEpoch: start.daysSinceEpoch + Int32(max(1, days)) - 1))
    }

    /// Reads the inputs and the claims in the window from the store and computes the figures.
    public static func load(
        campaign: CampaignRecord, store: any PolicyPushStore, windowDays: Int, zone: TimeZone
    ) throws -> CampaignEffect {
        let inputs = try EffectInputs.read(campaign: campaign, store: store)
        let (start, end) = window(campaign, days: windowDays, zone: zone)
        let claims = try store.uptake(policyIDs: campaign.spec.policyIDs, from: start, through: end)
        return compute(
            campaign: campaign, assignments: inputs.assignments, deliveries: inputs.deliveries, claims: claims,
            opened: inputs.opened, windowDays: windowDays, zone: zone)
    }
}
