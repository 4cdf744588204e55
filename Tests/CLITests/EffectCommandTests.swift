import Foundation
import Registry
import Storage
import Testing

/// 跟踪问效 end to end: `campaign start --control`, `uptake import`, `campaign effect --json`,
/// `campaign unreached --include-control`.
@Suite("policypush uptake and campaign effect")
struct EffectCommandTests {
    @Test func startRecordsTheControlPercentAndRefusesMoreThanHalf() async throws {
        let cli = try CLIHarness()
        let tooMany = try await cli.run(
            "campaign", "start", "--name", "t", "--policies", "small_low_profit", "--control", "60")
        #expect(tooMany.status == 64, "\(tooMany.stderr)")
        let started = try await cli.run(
            "campaign", "start", "--name", "t", "--policies", "small_low_profit", "--control", "12.5")
        #expect(started.status == 0, "\(started.stderr)")
        #expect(started.stdout.contains("12.5 % held out as a control group"), "\(started.stdout)")
        let id = try #require(Int64(started.stdout.split(separator: "\n").first.map(String.init) ?? ""))
        let record = try #require(try SQLiteStore(path: cli.file("policypush.sqlite")).campaign(id: id))
        #expect(record.spec.controlPercent == 12.5 && record.spec.controlSeed?.count == 32)
    }

    @Test func importThenEffect() async throws {
        let cli = try CLIHarness()
        let store = try SQLiteStore(path: cli.file("policypush.sqlite"))
        var generator = EnterpriseGenerator(seed: 11)
        var registry: [Enterprise] = []
        for i in 0..<6 {
            var e = generator.next()
            e.mobile = "1380000000\(i)"
            registry.append(e)
        }
        let stranger = generator.next().creditCode
        let codes = registry.map(\.creditCode)
        _ = try store.importEnterprises(file: "r.csv", replace: false) { sink in
            try sink(registry)
            return RejectedRows()
        }
        let start = ISO8601DateFormatter().date(from: "2026-06-01T09:00:00+08:00")!
        let spec = CampaignSpec(
            name: "六月", policyIDs: ["small_low_profit", "rd_super_deduction"], channels: [.sms], fallback: false,
            startAt: start,
            campaignDate: "2026-06-01", policyVersions: [:], templateVersion: "t", controlPercent: 50,
            controlSeed: "fixed")
        let id = try store.createCampaign(spec)
        try store.applyCampaignState(id: id, .planning, at: start)
        try store.applyCampaignState(id: id, .running, at: start)
        // E0–E2 pushed (E2 capped), E3–E5 held out (E4 would have been capped); rd_super_deduction: E0 and E3.
        try store.insertGroupAssignments(
            (0..<6).map { n in
                GroupAssignment(
                    campaignID: id, creditCode: codes[n],
                    policyIDs: n == 0 || n == 3 ? ["small_low_profit", "rd_super_deduction"] : ["small_low_profit"],
                    control: n >= 3, plannedReason: n == 2 || n == 4 ? "frequency_cap" : nil)
            })
        func message(_ n: Int, _ state: MessageState, _ reason: String? = nil) -> NewMessage {
            NewMessage(
                campaignID: id, creditCode: codes[n], channel: state == .queued ? .sms : nil,
                recipient: state == .queued ? registry[n].mobile ?? "" : "",
                policyIDs: n == 0 ? ["small_low_profit", "rd_super_deduction"] : ["small_low_profit"],
                payload: state == .queued ? Array("{}".utf8) : [], idempotencyKey: "k\(n)", state: state,
                suppressionReason: reason, notBefore: start)
        }
        try store.insertMessages(
            [message(0, .queued), message(1, .queued), message(2, .suppressed, "frequency_cap")]
                + (3..<6).map { message($0, .suppressed, "control_group") })
        let claimed = Dictionary(
            uniqueKeysWithValues: try store.claimDue(now: start, limit: 2).map { ($0.creditCode, $0.id) })
        let delivered = try #require(claimed[codes[0]])
        let failed = try #require(claimed[codes[1]])
        let nextDay = start.addingTimeInterval(86400)
        try store.record(
            [delivered, failed].map {
                Transition(messageID: $0, to: .sending, at: start, gateway: "aliyun", countsAsAttempt: false)
            })
        try store.record([
            Transition(messageID: delivered, to: .delivered, at: nextDay, gateway: "aliyun"),
            Transition(messageID: failed, to: .failed, at: nextDay, gateway: "aliyun", error: "aliyun:x"),
        ])

        let file = try cli.write(
            "uptake.csv",
            """
            credit_code,policy_id,claimed_on,amount
            \(codes[0]),small_low_profit,2026-06-05,1000
            \(codes[1]),small_low_profit,2026-06-10,
            \(codes[3]),small_low_profit,2026-06-07,500.5
            \(codes[0]),rd_super_deduction,2026-06-02,20
            \(codes[4]),small_low_profit,2026-13-01,1
            \(stranger),small_low_profit,2026-06-05,
            \(codes[5]),no_such_policy,2026-06-05,

            """)
        let imported = try await cli.run("uptake", "import", file)
        #expect(imported.status == 1, "\(imported.stderr)")
        #expect(
            imported.stdout.contains("7 rows read: inserted 4, updated 0, unchanged 0, rejected 1"),
            "\(imported.stdout)")
        #expect(
            imported.stderr.contains("uptake.csv:6") && imported.stderr.contains("claimed_on"), "\(imported.stderr)")
        #expect(imported.stderr.contains("unknown: \(stranger)") && imported.stderr.contains("unknown: no_such_policy"))
        #expect(imported.stderr.contains("3 row(s) refused"), "\(imported.stderr)")

        let again = try cli.write(
            "again.csv", "credit_code,policy_id,claimed_on,amount\n\(codes[0]),small_low_profit,2026-06-05,1200\n")
        let upsert = try await cli.run("uptake", "import", again)
        #expect(upsert.status == 0 && upsert.stdout.contains("inserted 0, updated 1"), "\(upsert.stdout)")
        #expect(try store.uptakeCount() == 4)

        let effect = try await cli.run("campaign", "effect", String(id), "--json")
        #expect(effect.status == 0, "\(effect.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(effect.stdout.utf8)) as? [String: Any])
        #expect(object["measures_effect"] as? Bool == true && object["window_days"] as? Int == 90)
        let policies = try #require(object["policies"] as? [[String: Any]])
        let small = policies[0]
        func group(_ p: [String: Any], _ name: String) -> [String: Any] { p[name] as? [String: Any] ?? [:] }
        #expect(small["policy_id"] as? String == "small_low_profit" && small["eligible"] as? Int == 6)
        #expect(group(small, "pushed")["enterprises"] as? Int == 3 && group(small, "pushed")["claimed"] as? Int == 2)
        #expect(group(small, "pushed")["amount_yuan"] as? String == "1200.00")
        #expect(group(small, "delivered")["claimed"] as? Int == 1)
        #expect(group(small, "delivered")["median_days_from_delivery"] as? Double == 3)
        #expect(group(small, "not_delivered")["enterprises"] as? Int == 2)
        #expect(
            group(small, "control")["claimed"] as? Int == 1
                && group(small, "control")["amount_yuan"] as? String == "500.50")
        let cappedControl = group(small, "control")["planning_suppressed"] as? [[String: Any]]
        #expect(
            cappedControl?.first?["reason"] as? String == "frequency_cap" && cappedControl?.first?["count"] as? Int == 1
        )
        let difference = try #require(small["difference"] as? [String: Double])
        #expect(abs((difference["estimate"] ?? 0) - 1.0 / 3) < 1e-9)
        #expect((difference["lower"] ?? 0) < 0 && (difference["upper"] ?? 0) > 0.5)
        let rd = policies[1]
        #expect(group(rd, "pushed")["share"] as? Double == 1 && group(rd, "control")["share"] as? Double == 0)

        let text = try await cli.run("campaign", "effect", String(id))
        #expect(text.status == 0 && text.stdout.contains("control 对照组"), "\(text.stdout)")
        #expect(text.stdout.contains("difference pushed − control: +33.3 points"), "\(text.stdout)")

        let unreached = try await cli.run("campaign", "unreached", String(id))
        #expect(unreached.stdout.contains("3 control group") && !unreached.stdout.contains("control_group ("))
        #expect(!unreached.stdout.contains(codes[3]), "\(unreached.stdout)")
        let all = try await cli.run("campaign", "unreached", String(id), "--include-control")
        #expect(all.stdout.contains("control_group (3") && all.stdout.contains(codes[3]), "\(all.stdout)")

        // Generated uptake: with no base rate and a certain effect, exactly the delivered pairs claim.
        let generated = try await cli.run(
            "uptake", "generate", "--campaign", String(id), "--out", cli.file("gen.csv"), "--base-rate", "0",
            "--effect", "1", "--seed", "5")
        #expect(generated.status == 0 && generated.stdout.contains("Wrote 2 claim(s)"), "\(generated.stdout)")
        let lines = try String(contentsOfFile: cli.file("gen.csv"), encoding: .utf8).split(separator: "\n")
        #expect(lines.first == "credit_code,policy_id,claimed_on,amount")
        #expect(
            lines.dropFirst().map { $0.split(separator: ",")[0...1].joined(separator: ",") }
                == ["\(codes[0]),small_low_profit", "\(codes[0]),rd_super_deduction"])
        let half = try await cli.run(
            "uptake", "generate", "--campaign", String(id), "--out", cli.file("half.csv"), "--base-rate", "0.5",
            "--seed", "5")
        let repeated = try await cli.run(
            "uptake", "generate", "--campaign", String(id), "--out", cli.file("half2.csv"), "--base-rate", "0.5",
            "--seed", "5")
        #expect(half.status == 0 && repeated.status == 0)
        #expect(
            try String(contentsOfFile: cli.file("half.csv"), encoding: .utf8)
                == String(contentsOfFile: cli.file("half2.csv"), encoding: .utf8), "same seed, same file")
        #expect(try await cli.run("uptake", "generate", "--campaign", String(id)).status == 64)
    }
}
