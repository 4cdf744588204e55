import Foundation
import Kit
import Registry
import Storage

/// A finished campaign with something in every part of the report, written into a real store the
/// way the planner and the daemon write it: 600 enterprises in 12 regions, three policies, a 20 %
/// control group, suppressions, deliveries with receipts spread over an afternoon, failures, opens
/// from three kinds of client, a reply, and an uptake export in which the push raised claims.
///
/// Deterministic (SplitMix64 with a fixed seed), so the screenshots of two runs are the same.
enum ReportCampaign {
    static let policies = ["small_low_profit", "rd_super_deduction", "six_taxes_two_fees"]
    static let regions = [
        "朝阳门街道", "建外街道", "呼家楼街道", "三里屯街道", "麦子店街道", "团结湖街道", "六里屯街道", "八里庄街道",
        "双井街道", "劲松街道", "潘家园街道", "垡头街道",
    ]
    /// 2026-03-02 09:00 +08:00.
    static let start = Date(timeIntervalSince1970: 1_772_413_200)

    /// Writes the campaign into the store at `path`; returns its id.
    static func seed(storeAt path: String, enterprises count: Int = 600) throws -> Int64 {
        let store = try SQLiteStore(path: path)
        var random = SplitMix64(seed: 20_260_302)
        let registry = (0..<count).map { n in
            Enterprise(
                creditCode: code(n), name: "示例企业\(n)", region: n % 29 == 0 ? nil : regions[n % regions.count],
                mobile: "1380000" + String(n).leftPadded(4))
        }
        _ = try store.importEnterprises(file: "registry.csv", replace: false) { sink in
            try sink(registry)
            return RejectedRows()
        }
        let spec = CampaignSpec(
            name: "2026年一季度税费优惠政策精准推送", policyIDs: policies, channels: [.sms], fallback: false,
            startAt: start, campaignDate: "2026-03-02",
            policyVersions: Dictionary(uniqueKeysWithValues: policies.map { ($0, "0123456789abcdef") }),
            templateVersion: "a1b2c3d4e5f60718", controlPercent: 20, controlSeed: "report-browser")
        let id = try store.createCampaign(spec)
        try store.applyCampaignState(id: id, .planning, at: start)
        try store.applyCampaignState(id: id, .running, at: start)

        // Planning: each enterprise's policies, its group, and what planning decided for it.
        var assignments: [GroupAssignment] = []
        var messages: [NewMessage] = []
        for n in 0..<count {
            var own = policies.filter { _ in random.unit() < 0.55 }
            if own.isEmpty { own = [policies[n % policies.count]] }
            let control = random.unit() < 0.2
            let roll = random.unit()
            let reason = control ? "control_group" : roll < 0.05 ? "no_contact" : roll < 0.07 ? "opted_out" : nil
            assignments.append(
                GroupAssignment(
                    campaignID: id, creditCode: code(n), policyIDs: own, control: control,
                    plannedReason: control ? nil : reason))
            messages.append(
                NewMessage(
                    campaignID: id, creditCode: code(n), channel: reason == nil ? .sms : nil,
                    recipient: reason == nil ? registry[n].mobile ?? "" : "", policyIDs: own,
                    payload: Array("{}".utf8), idempotencyKey: "k\(n)", state: reason == nil ? .queued : .suppressed,
                    suppressionReason: reason, notBefore: start))
        }
        try store.insertGroupAssignments(assignments)
        try store.insertMessages(messages)

        // Sending over the afternoon: most delivered within seconds, some late, some failed.
        var delivered: [(message: Int64, code: String, at: Date)] = []
        var minute = 0.0
        while true {
            let batch = try store.claimDue(now: start.addingTimeInterval(86_400), limit: 40)
            if batch.isEmpty { break }
            let sentAt = start.addingTimeInterval(minute * 60)
            minute += 17
            try store.record(
                batch.map {
                    Transition(messageID: $0.id, to: .sending, at: sentAt, gateway: "aliyun", countsAsAttempt: true)
                })
            var outcomes: [Transition] = []
            var receipts: [Transition] = []
            for m in batch {
                let roll = random.unit()
                if roll < 0.04 {
                    let error = roll < 0.03 ? "isv.MOBILE_NUMBER_ILLEGAL" : "isv.BUSINESS_LIMIT_CONTROL"
                    outcomes.append(
                        Transition(messageID: m.id, to: .failed, at: sentAt, gateway: "aliyun", error: error))
                    continue
                }
                outcomes.append(
                    Transition(messageID: m.id, to: .accepted, at: sentAt, gateway: "aliyun", providerID: "p\(m.id)"))
                guard roll > 0.06 else { continue }  // no receipt yet
                let latency = roll < 0.9 ? 1 + random.unit() * 8 : 10 + random.unit() * 400
                let at = sentAt.addingTimeInterval(latency)
                receipts.append(Transition(messageID: m.id, to: .delivered, at: at, gateway: "aliyun"))
                delivered.append((m.id, m.creditCode, at))
            }
            try store.record(outcomes)
            try store.record(receipts)
        }

        // Opens: about half the delivered packages, mostly in WeChat's browser, some reloaded.
        var opened: Set<String> = []
        for d in delivered where random.unit() < 0.52 {
            let roll = random.unit()
            let client: ClientClass = roll < 0.55 ? .wechat : roll < 0.9 ? .mobile : .desktop
            let at = d.at.addingTimeInterval(300 + random.unit() * 20_000)
            _ = try store.recordOpen(messageID: d.message, campaignID: id, client: client, at: at)
            if random.unit() < 0.3 {
                _ = try store.recordOpen(messageID: d.message, campaignID: id, client: client, at: at + 60)
            }
            opened.insert(d.code)
        }

        // Uptake within the 90-day window: a base rate for everyone eligible, more for the pushed
        // enterprises that got the message and more again for those that opened it.
        let reached = Set(delivered.map(\.code))
        var claims: [UptakeClaim] = []
        for a in assignments {
            for policy in a.policyIDs {
                let rate =
                    0.12 + (reached.contains(a.creditCode) ? 0.14 : 0) + (opened.contains(a.creditCode) ? 0.1 : 0)
                guard random.unit() < rate else { continue }
                let day = LocalDate(
                    daysSinceEpoch: LocalDate(iso: "2026-03-03")!.daysSinceEpoch + Int32(random.unit() * 80))
                claims.append(
                    UptakeClaim(
                        creditCode: a.creditCode, policyID: policy, claimedOn: day,
                        amountFen: Int64(200_000 + random.unit() * 3_000_000)))
            }
        }
        _ = try store.upsertUptake(claims, source: "uptake.csv", at: start.addingTimeInterval(90 * 86_400))
        try store.applyCampaignState(id: id, .completed, at: start.addingTimeInterval(86_400))
        return id
    }

    /// The `n`th enterprise's credit code (18 characters).
    static func code(_ n: Int) -> String { "914403" + String(n).leftPadded(11) + "X" }
}

extension String {
    /// The string padded on the left with zeros to `width` characters.
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
