import Foundation
import Testing

@testable import Storage

/// `suppressions add|list|remove` and `campaign replies` through the built binary.
@Suite("policypush suppressions and replies")
struct SuppressionsCommandTests {
    private func harness() throws -> CLIHarness {
        var cli = try CLIHarness()
        let root = CLIHarness.packageRoot.path
        cli.config = try cli.write(
            "policypush.json5", #"{ policies_dir: "\#(root)/config/policies", templates_dir: "\#(root)/templates" }"#)
        cli.environment["POLICYPUSH_OPERATOR"] = "zhang"
        return cli
    }

    @Test func operatorsAddListAndRemoveWithAReasonAndTheAuditTrailRecordsIt() async throws {
        let cli = try harness()
        let added = try await cli.run([
            "suppressions", "add", "--mobile", "13812345678", "--reason", "asked by phone on 12366",
        ])
        #expect(added.status == 0, "\(added.stderr)")
        #expect(added.stdout.contains("Suppressed mobile 138****5678 on sms"))
        let again = try await cli.run(["suppressions", "add", "--mobile", "13812345678", "--reason", "twice"])
        #expect(again.stdout.contains("Already suppressed"))

        let list = try await cli.run(["suppressions", "list", "--csv", cli.file("s.csv")])
        #expect(list.status == 0 && list.stdout.contains("1 suppression(s)"))
        #expect(list.stdout.contains("by zhang: asked by phone on 12366"))
        #expect(!list.stdout.contains("13812345678"), "the number is masked")
        let csv = try String(contentsOfFile: cli.file("s.csv"), encoding: .utf8)
        #expect(csv.hasPrefix("target,channel,reason,") && csv.contains("mobile 138****5678,sms,operator"))

        let removed = try await cli.run([
            "suppressions", "remove", "--mobile", "13812345678", "--reason", "consent by letter",
        ])
        #expect(removed.status == 0 && removed.stdout.contains("Removed: mobile 138****5678"))
        let missing = try await cli.run(["suppressions", "remove", "--mobile", "13812345678", "--reason", "x"])
        #expect(missing.status == 1)

        let audit = try await cli.run(["audit", "list", "--json"])
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [[String: Any]])
        #expect(rows.map { $0["action"] as? String } == ["suppressions.add", "suppressions.remove"])
        #expect(rows.allSatisfy { $0["operator"] as? String == "zhang" })
        #expect((rows[0]["target"] as? String) == "address:138****5678/sms")
        #expect(try await cli.run(["audit", "verify"]).status == 0)
    }

    @Test(arguments: [
        (["suppressions", "add", "--mobile", "13812345678"], "--reason TEXT is required"),
        (["suppressions", "add", "--mobile", "1381234", "--reason", "r"], "11-digit"),
        (["suppressions", "add", "--enterprise", "91110105MA01ABCD1X", "--reason", "r"], "needs --channel"),
        (["suppressions", "add", "--enterprise", "123", "--channel", "sms", "--reason", "r"], "valid credit code"),
        (["suppressions", "add", "--mobile", "13812345678", "--openid", "o1", "--reason", "r"], "exactly one"),
        (["suppressions", "add", "--mobile", "13812345678", "--channel", "wechat", "--reason", "r"], "contradicts"),
    ])
    func mistakesAreUsageErrors(arguments: [String], message: String) async throws {
        let result = try await harness().run(arguments)
        #expect(result.status == 64, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }

    @Test func repliesOfACampaignAreListed() async throws {
        let cli = try harness()
        let store = try SQLiteStore(path: cli.file("policypush.sqlite"))
        let id = try store.createCampaign(
            CampaignSpec(
                name: "Replies", policyIDs: ["small_low_profit"], channels: [.sms], fallback: false, startAt: Date(),
                campaignDate: "2026-12-03", policyVersions: [:], templateVersion: "t"))
        try store.insertMessages([
            NewMessage(
                campaignID: id, creditCode: "91110105MA01ABCD1X", channel: .sms, recipient: "13900001111",
                policyIDs: ["small_low_profit"], payload: [], idempotencyKey: "k1", notBefore: Date())
        ])
        _ = try store.recordReplies(
            [
                NewReply(
                    gateway: "aliyun", kind: .smsReply, sender: "13900001111", text: "请问, \"怎么\"申报？", sentAt: nil,
                    dedupeKey: "a:1", raw: "[]", optOut: false),
                NewReply(
                    gateway: "aliyun", kind: .smsReply, sender: "13900001111", text: "T", sentAt: nil, dedupeKey: "a:2",
                    raw: "[]", optOut: true),
            ], at: Date())
        let result = try await cli.run(["campaign", "replies", String(id), "--csv", cli.file("r.csv")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("2 replies, 1 opt-out(s), 1 to read"))
        #expect(result.stdout.contains("139****1111") && !result.stdout.contains("13900001111"))
        let csv = try String(contentsOfFile: cli.file("r.csv"), encoding: .utf8)
        #expect(csv.contains(#""请问, ""怎么""申报？""#), "CSV quoting: \(csv)")
        let report = try await cli.run(["campaign", "report", String(id)])
        #expect(report.stdout.contains("Replies: 2, of which 1 opt-out(s)"), "\(report.stdout)")
    }
}
