import Config
import Foundation
import Messaging
import Planning
import Registry
import Rules
import Storage
import Testing

@Suite("Campaign planning")
struct CampaignPlannerTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    struct Rig {
        var store: StoreWorker
        var planner: CampaignPlanner
        var path: String
    }

    func rig(_ enterprises: [Enterprise], policy: PlanningPolicy = PlanningPolicy()) throws -> Rig {
        let schema = AttributeSchema(custom: ["export_share": .number])
        let (catalog, diagnostics) = PolicyCatalog.load(
            directory: Self.root.appendingPathComponent("config/policies").path, schema: schema)
        #expect(diagnostics.isEmpty)
        let templates = try TemplateSet.load(
            directory: Self.root.appendingPathComponent("templates").path, schema: schema)
        let registry = ShardedRegistry.build(shardCount: 2, schema: schema) { add in enterprises.forEach(add) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pp-plan-\(UUID().uuidString).sqlite")
            .path
        return Rig(
            store: try StoreWorker(path: path),
            planner: CampaignPlanner(
                registry: registry, catalog: catalog, renderer: PackageRenderer(templates: templates),
                linkTokens: try LinkTokens(secret: Array("campaign-planner-tests-secret".utf8)), policy: policy),
            path: path)
    }

    static func small(
        _ code: String, mobile: String? = "13800138000", openID: String? = nil, smsOptOut: Bool = false
    ) -> Enterprise {
        Enterprise(
            creditCode: code, name: "示例商贸有限公司", taxpayerType: .smallScale, industryCode: "F51", region: "示例街道",
            employees: 5, annualSales: 600_000, taxableIncome: 80_000, totalAssets: 900_000, creditRating: .b,
            highTech: false,
            mobile: mobile, wechatOpenID: openID, smsOptOut: smsOptOut)
    }

    func campaign(
        _ rig: Rig, channels: [Channel] = [.wechat, .sms], fallback: Bool = false, max: Int? = nil, start: Date = Date()
    ) async throws -> CampaignRecord {
        let spec = CampaignSpec(
            name: "t", policyIDs: rig.planner.catalog.entries.map(\.profile.id), channels: channels, fallback: fallback,
            startAt: start, maxMessages: max, campaignDate: "2026-06-01", policyVersions: [:], templateVersion: "t")
        let id = try await rig.store.run { try $0.createCampaign(spec) }
        return try await rig.store.run { try $0.campaign(id: id)! }
    }

    func messages(_ rig: Rig, _ id: Int64) async throws -> [OutboxMessage] {
        try await rig.store.run { store in
            var all: [OutboxMessage] = []
            try store.forEachMessage(campaignID: id, withEvents: false) { m, _ in all.append(m) }
            return all
        }
    }

    @Test func suppressesWithReasonsAndQueuesTheRest() async throws {
        let rig = try rig([
            Self.small("91350100M000100Y43"),
            Self.small("91110105MA0000001X".replacingOccurrences(of: "X", with: "0"), mobile: nil),
            Self.small("91110105MA0000002Y", smsOptOut: true),
            Self.small("91110105MA0000003Z", mobile: nil, openID: "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"),
        ])
        let c = try await campaign(rig)
        let summary = try await rig.planner.plan(c, store: rig.store, now: Date())
        #expect(summary.queued == 2)
        #expect(summary.suppressed["no_contact"] == 1)
        #expect(summary.suppressed["opted_out"] == 1)
        let rows = try await messages(rig, c.id)
        #expect(rows.count == 4)
        let wechat = try #require(rows.first { $0.channel == .wechat })
        let payload = try MessagePayload.decode(wechat.payload)
        #expect(payload.wechat != nil)
        #expect(
            wechat.idempotencyKey
                == CampaignPlanner.key(
                    campaign: c.id, secret: c.keySecret, creditCode: wechat.creditCode, channel: "wechat"))
        // Unguessable: the key ends in a keyed hash of the campaign's random secret.
        let secret = try #require(c.keySecret)
        #expect(secret.count == 16)
        #expect(wechat.idempotencyKey.hasPrefix("pp\(c.id)-\(wechat.creditCode)-wechat-"))
        #expect(
            wechat.idempotencyKey
                != CampaignPlanner.key(
                    campaign: c.id, secret: Array(repeating: 0, count: 16), creditCode: wechat.creditCode,
                    channel: "wechat"))
        // Planning again (a crash before the campaign was marked running) adds nothing.
        _ = try await rig.planner.plan(c, store: rig.store, now: Date())
        #expect(try await messages(rig, c.id).count == 4)
    }

    @Test func fallbackCarriesTheSMSRendering() async throws {
        let rig = try rig([Self.small("91350100M000100Y43", openID: "o6_bmjrPTlm6_2sgVt7hMZOPfL2M")])
        let c = try await campaign(rig, fallback: true)
        _ = try await rig.planner.plan(c, store: rig.store)
        let row = try #require(try await messages(rig, c.id).first)
        let payload = try MessagePayload.decode(row.payload)
        #expect(row.channel == .wechat)
        #expect(payload.fallbackMobile == "13800138000")
        #expect(payload.sms != nil && payload.aliyun != nil)
    }

    @Test func frequencyCapAndDeduplicationAcrossCampaigns() async throws {
        let rig = try rig([Self.small("91350100M000100Y43")])
        let first = try await campaign(rig, channels: [.sms])
        _ = try await rig.planner.plan(first, store: rig.store)
        try await rig.store.run { _ = try $0.applyCampaignState(id: first.id, .running, at: Date()) }
        let claimed = try await rig.store.run { try $0.claimDue(now: Date().addingTimeInterval(86400), limit: 10) }
        #expect(claimed.count == 1)
        let message = claimed[0]
        try await rig.store.run {
            _ = try $0.record([
                Transition(messageID: message.id, to: .accepted, at: Date(), gateway: "g", providerID: "p")
            ])
        }

        let second = try await campaign(rig, channels: [.sms])
        let summary = try await rig.planner.plan(second, store: rig.store)
        #expect(summary.queued == 0)
        #expect(summary.suppressed["duplicate"] == 1, "every policy was told in the first campaign")

        var noDedupe = rig.planner
        noDedupe.policy.dedupeDays = 0
        let third = try await campaign(rig, channels: [.sms])
        let capped = try await noDedupe.plan(third, store: rig.store)
        #expect(capped.suppressed["frequency_cap"] == 1, "one SMS per 7 days")
    }

    @Test func quietHoursAndMaxMessages() async throws {
        let rig = try rig(
            (0..<5).map { i in
                Self.small(
                    [
                        "91350100M000100Y43", "91110108MA01A2B3X9", "91440300MA5DXXXX1K", "92110105839391334N",
                        "913101150000000000",
                    ][i])
            })
        let night = ISO8601DateFormatter().date(from: "2026-06-01T22:30:00+08:00")!
        let c = try await campaign(rig, channels: [.sms], max: 3, start: night)
        let summary = try await rig.planner.plan(c, store: rig.store, now: night)
        #expect(summary.queued == 3)
        #expect(summary.suppressed["campaign_max"] == 2)
        try await rig.store.run { _ = try $0.applyCampaignState(id: c.id, .running, at: night) }
        let early = try await rig.store.run { try $0.claimDue(now: night.addingTimeInterval(3600), limit: 10) }
        #expect(early.isEmpty, "nothing goes out before 08:00")
        let morning = ISO8601DateFormatter().date(from: "2026-06-02T08:00:00+08:00")!
        #expect(try await rig.store.run { try $0.claimDue(now: morning, limit: 10) }.count == 3)
    }
}

extension CampaignPlannerTests {
    /// Control assignment comes before frequency caps: an enterprise capped by an earlier campaign
    /// is still held out when its draw says so, and both facts are recorded. The assignment is
    /// recomputed from the stored campaign alone.
    @Test func controlGroupIsAssignedBeforeCaps() async throws {
        var generator = EnterpriseGenerator(seed: 3)
        var enterprises: [Enterprise] = []
        while enterprises.count < 400 {
            var e = generator.next()
            e.mobile = "138\(String(10_000_000 + enterprises.count).suffix(8))"
            e.smsOptOut = false
            enterprises.append(e)
        }
        var policy = PlanningPolicy()
        policy.dedupeDays = 0
        let rig = try rig(enterprises, policy: policy)
        // The first campaign reaches half of them: they hit the one-SMS-a-week cap.
        let first = try await campaign(rig, channels: [.sms])
        _ = try await rig.planner.plan(first, store: rig.store)
        try await rig.store.run { _ = try $0.applyCampaignState(id: first.id, .running, at: Date()) }
        let claimed = try await rig.store.run { try $0.claimDue(now: Date().addingTimeInterval(86400), limit: 10_000) }
        let accepted = claimed.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
        try await rig.store.run { store in
            _ = try store.record(
                accepted.map {
                    Transition(messageID: $0.id, to: .accepted, at: Date(), gateway: "g", providerID: "p\($0.id)")
                })
        }
        let capped = Set(accepted.map(\.creditCode))

        let asked = CampaignSpec(
            name: "c", policyIDs: rig.planner.catalog.entries.map(\.profile.id), channels: [.sms], fallback: false,
            startAt: Date(), campaignDate: "2026-06-01", policyVersions: [:], templateVersion: "t", controlPercent: 20)
        let id = try await rig.store.run { try $0.createCampaign(asked) }
        let second = try await rig.store.run { try $0.campaign(id: id)! }
        let summary = try await rig.planner.plan(second, store: rig.store)
        let spec = second.spec

        // Reproducible from the store alone: the stored percent and seed give the stored groups.
        let seed = try #require(spec.controlSeed)
        #expect(seed.count == 32 && spec.controlPercent == 20)
        let group = ControlGroup(percent: spec.controlPercent, seed: seed)
        let assignments = try await rig.store.run { try $0.groupAssignments(campaignID: id) }
        #expect(assignments.count == (try await messages(rig, first.id)).count, "every eligible enterprise")
        for a in assignments { #expect(a.control == group.contains(a.creditCode), "\(a.creditCode)") }
        let control = assignments.filter(\.control)
        #expect(summary.suppressed[ControlGroup.reason] == control.count)
        #expect((40...120).contains(control.count), "about 20 % of 400: \(control.count)")

        // Both facts for a capped control enterprise: held out, and would have been capped.
        let cappedControl = control.filter { capped.contains($0.creditCode) }
        #expect(!cappedControl.isEmpty)
        for a in control {
            #expect(a.plannedReason == (capped.contains(a.creditCode) ? "frequency_cap" : nil), "\(a.creditCode)")
        }
        let pushedCapped = assignments.filter { !$0.control && $0.plannedReason == "frequency_cap" }
        #expect(pushedCapped.count + cappedControl.count == capped.count)
        let rows = try await messages(rig, id)
        for m in rows where group.contains(m.creditCode) {
            #expect(m.state == .suppressed && m.suppressionReason == ControlGroup.reason && m.payload.isEmpty)
        }
        // Coverage sees them, apart from misses.
        let coverage = try await rig.store.run { try $0.coverage(campaignID: id) }
        #expect(coverage.counts.controlGroup == control.count)
        #expect(coverage.counts.notReached[.controlGroup] == nil)
    }
}
