import Foundation
import Registry
import Testing

@testable import Storage

/// Package opens in `campaign report` and `campaign status`, and the page's feedback in
/// `campaign replies`, through the built binary, over a store the daemon would have written.
@Suite("policypush package opens and page feedback")
struct PackageOpensCommandTests {
    private func harness() throws -> CLIHarness {
        var cli = try CLIHarness()
        let root = CLIHarness.packageRoot.path
        cli.config = try cli.write(
            "policypush.json5", #"{ policies_dir: "\#(root)/config/policies", templates_dir: "\#(root)/templates" }"#)
        return cli
    }

    /// Three enterprises in two regions (one without), one message each: two SMS delivered, one
    /// WeChat; the first SMS and the WeChat message are opened, the first twice.
    private func seed(_ cli: CLIHarness) throws -> (campaign: Int64, messages: [Int64]) {
        let store = try SQLiteStore(path: cli.file("policypush.sqlite"))
        let codes = ["91110105MA01ABCD0X", "91110105MA01ABCD1X", "91110105MA01ABCD2X"]
        let regions: [String?] = ["朝阳街道", "海淀街道", nil]
        _ = try store.importEnterprises(file: "t.csv", replace: false) { sink in
            try sink(
                zip(codes, regions).map { code, region in
                    Enterprise(creditCode: code, name: "企业\(code.suffix(3))", region: region)
                })
            return RejectedRows(count: 0)
        }
        let id = try store.createCampaign(
            CampaignSpec(
                name: "Opens", policyIDs: ["a", "b"], channels: [.sms, .wechat], fallback: false, startAt: Date(),
                campaignDate: "2026-12-03", policyVersions: [:], templateVersion: "t"))
        try store.insertMessages([
            NewMessage(
                campaignID: id, creditCode: codes[0], channel: .sms, recipient: "13900001111", policyIDs: ["a", "b"],
                payload: [], idempotencyKey: "k0", notBefore: Date(), linkToken: "AbCdEfGhIj0"),
            NewMessage(
                campaignID: id, creditCode: codes[1], channel: .sms, recipient: "13900002222", policyIDs: ["a"],
                payload: [], idempotencyKey: "k1", notBefore: Date(), linkToken: "AbCdEfGhIj1"),
            NewMessage(
                campaignID: id, creditCode: codes[2], channel: .wechat, recipient: "o6_bmjrPTlm6_2sgVt7hMZOPfL2M",
                policyIDs: ["b"], payload: [], idempotencyKey: "k2", notBefore: Date(), linkToken: "AbCdEfGhIj2"),
        ])
        let messages = try ["AbCdEfGhIj0", "AbCdEfGhIj1", "AbCdEfGhIj2"].map {
            try #require(try store.linkTarget(token: $0)).messageID
        }
        try store.applyCampaignState(id: id, .running, at: Date())
        let now = Date()
        for (n, message) in messages.prefix(2).enumerated() {
            let applied = try store.record([
                Transition(messageID: message, to: .sending, at: now, gateway: "g"),
                Transition(messageID: message, to: .accepted, at: now, gateway: "g", providerID: "p\(n)"),
                Transition(messageID: message, to: .delivered, at: now, gateway: "g"),
            ])
            #expect(applied.count == 3)
        }
        #expect(try store.recordOpen(messageID: messages[0], campaignID: id, client: .wechat, at: now))
        #expect(!(try store.recordOpen(messageID: messages[0], campaignID: id, client: .desktop, at: now)))
        #expect(try store.recordOpen(messageID: messages[2], campaignID: id, client: .mobile, at: now))
        return (id, messages)
    }

    @Test func reportShowsOpensByPolicyRegionChannelAndClient() async throws {
        let cli = try harness()
        let (id, _) = try seed(cli)
        let json = try await cli.run(["campaign", "report", String(id), "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let opened = try #require(root["opened"] as? [String: Any], "\(json.stdout)")
        // Delivered: the two SMS by receipt, the WeChat message by its open.
        #expect(opened["delivered"] as? Int == 3 && opened["opened"] as? Int == 2 && opened["views"] as? Int == 3)
        #expect(opened["rate"] as? Double == 0.6667)
        func rows(_ key: String) throws -> [String: [Int]] {
            let list = try #require(opened[key] as? [[String: Any]], "\(key)")
            return Dictionary(
                uniqueKeysWithValues: list.map {
                    (($0["name"] as? String) ?? "(none)", [$0["opened"] as? Int ?? -1, $0["delivered"] as? Int ?? -1])
                })
        }
        #expect(try rows("by_policy") == ["a": [1, 2], "b": [2, 2]])
        #expect(try rows("by_region") == ["朝阳街道": [1, 1], "海淀街道": [0, 1], "(none)": [1, 1]])
        #expect(try rows("by_channel") == ["sms": [1, 2], "wechat": [1, 1]])
        #expect(
            opened["by_client_class"] as? [String: Int] == ["wechat": 1, "mobile": 1, "desktop": 0],
            "the first open's class is kept")

        let text = try await cli.run(["campaign", "report", String(id)])
        #expect(text.stdout.contains("all  2 of 3 delivered (66.7%), 3 page view(s)"), "\(text.stdout)")
        let region = text.stdout.split(separator: "\n").first { $0.contains("海淀街道") }
        #expect(region?.hasSuffix("  0 of 1 delivered (0.0%)") == true, "\(text.stdout)")
        #expect(text.stdout.contains("by client  wechat 1, mobile 1, desktop 0"), "\(text.stdout)")

        let status = try await cli.run(["campaign", "status", String(id)])
        #expect(status.stdout.contains("opened      2 package(s)"), "\(status.stdout)")
        let statusJSON = try await cli.run(["campaign", "status", String(id), "--json"])
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(statusJSON.stdout.utf8)) as? [String: Any])
        #expect(object["opened"] as? Int == 2)
    }

    @Test func feedbackFromThePageIsListedAsAReplyNeverAnOptOut() async throws {
        let cli = try harness()
        let (id, messages) = try seed(cli)
        let store = try SQLiteStore(path: cli.file("policypush.sqlite"))
        let question = PageFeedback(kind: .pageQuestion, text: "请问如何申报？", raw: "kind=question&text=...")
        #expect(try store.recordPageFeedback(messageID: messages[0], question, at: Date()))
        #expect(
            !(try store.recordPageFeedback(messageID: messages[0], question, at: Date())), "posted twice, kept once")
        let notUseful = PageFeedback(kind: .pageNotUseful, text: "", raw: "kind=not_useful&text=")
        #expect(try store.recordPageFeedback(messageID: messages[2], notUseful, at: Date()))
        #expect(try store.suppressionList().isEmpty)

        let result = try await cli.run(["campaign", "replies", String(id), "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        #expect(rows.map { $0["kind"] as? String } == ["page_question", "page_not_useful"])
        #expect(rows.allSatisfy { $0["gateway"] as? String == "page" && $0["opt_out"] as? Bool == false })
        #expect(rows[0]["text"] as? String == "请问如何申报？" && rows[0]["credit_code"] as? String == "91110105MA01ABCD0X")
        // The sender is the message's recipient, masked as its channel masks it.
        #expect(rows[0]["sender"] as? String == "139****1111", "\(rows)")
        #expect((rows[1]["sender"] as? String)?.hasPrefix("o6_b") == true && !result.stdout.contains("PTlm6_2sgVt7"))
        let text = try await cli.run(["campaign", "replies", String(id)])
        #expect(text.stdout.contains("2 replies, 0 opt-out(s), 2 to read"), "\(text.stdout)")
    }
}
