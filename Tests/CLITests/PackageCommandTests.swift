import Foundation
import Planning
import Registry
import Storage
import Testing

/// `package show CODE [--campaign ID] --html FILE`.
@Suite("policypush package show")
struct PackageCommandTests {
    /// A CLI state with one small enterprise that qualifies for the small-business reliefs.
    func state() throws -> CLIHarness {
        let cli = try CLIHarness()
        let store = try SQLiteStore(path: cli.file("policypush.sqlite"))
        _ = try store.importEnterprises(file: "test.csv", replace: false) { sink in
            try sink([
                Enterprise(
                    creditCode: "91110105MA01ABCD0X", name: "<script>示例</script>商贸有限公司", taxpayerType: .smallScale,
                    industryCode: "F51", region: "示例街道", employees: 5, annualSales: 600_000, taxableIncome: 80_000,
                    totalAssets: 900_000, creditRating: .b, highTech: false, mobile: "13800138000")
            ])
            return RejectedRows(count: 0)
        }
        return cli
    }

    @Test func writesTheTodayPage() async throws {
        let cli = try state()
        let path = cli.file("page.html")
        let result = try await cli.run("package", "show", "91110105ma01abcd0x", "--html", path)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("wrote \(path): "), "\(result.stderr)")
        let html = try String(contentsOfFile: path, encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("&lt;script&gt;示例&lt;/script&gt;商贸有限公司") && !html.contains("<script>"))
        #expect(html.contains("911101********CD0X"))
        #expect(html.contains("小型微利企业减免企业所得税") && html.contains("<h3>办理指引</h3>"))
        #expect(html.contains("12366"))
    }

    @Test func aCampaignLimitsThePoliciesAndSetsTheDate() async throws {
        let cli = try state()
        let store = try SQLiteStore(path: cli.file("policypush.sqlite"))
        let id = try store.createCampaign(
            CampaignSpec(
                name: "Only one", policyIDs: ["six_taxes_two_fees"], channels: [.sms], fallback: false,
                startAt: Date(), campaignDate: "2026-03-01", policyVersions: [:], templateVersion: "t"))
        let path = cli.file("campaign.html")
        let result = try await cli.run(
            "package", "show", "91110105MA01ABCD0X", "--campaign", String(id), "--html", path)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("1 policy"), "\(result.stderr)")
        let html = try String(contentsOfFile: path, encoding: .utf8)
        #expect(html.contains("2026-03-01") && html.contains("六税两费"))
        #expect(!html.contains("小型微利企业减免企业所得税"))
    }

    @Test func aPlannedMessageShowsWhatItCarried() async throws {
        let cli = try state()
        let secret = "package-command-tests-secret-0123"
        _ = try cli.write("landing.secret", secret + "\n")
        let store = try SQLiteStore(path: cli.file("policypush.sqlite"))
        let id = try store.createCampaign(
            CampaignSpec(
                name: "Both", policyIDs: ["six_taxes_two_fees", "small_low_profit"], channels: [.sms],
                fallback: false, startAt: Date(), campaignDate: "2026-03-01", policyVersions: [:],
                templateVersion: "t"))
        // De-duplication left small_low_profit out of the message: the page shows what it carried.
        let token = try LinkTokens(secret: Array(secret.utf8)).token(campaign: id, creditCode: "91110105MA01ABCD0X")
        try store.insertMessages([
            NewMessage(
                campaignID: id, creditCode: "91110105MA01ABCD0X", channel: .sms, recipient: "13800138000",
                policyIDs: ["six_taxes_two_fees"], payload: [], idempotencyKey: "k1", notBefore: Date(),
                linkToken: token)
        ])
        let path = cli.file("planned.html")
        let result = try await cli.run(
            "package", "show", "91110105MA01ABCD0X", "--campaign", String(id), "--html", path)
        #expect(result.status == 0 && result.stderr.contains("1 policy"), "\(result.stderr)")
        let html = try String(contentsOfFile: path, encoding: .utf8)
        #expect(html.contains("六税两费") && !html.contains("小型微利企业减免企业所得税"))
        let link = try await cli.run("package", "show", "91110105MA01ABCD0X", "--campaign", String(id), "--link")
        #expect(link.status == 0 && link.stdout == "https://etax.example.gov.cn/p/\(token)\n", "\(link.stdout)")
        let none = try await cli.run("package", "show", "91110105MA01ABCD1X", "--campaign", String(id), "--link")
        #expect(none.status == 1, "no message, no link: \(none.stdout)")
    }

    @Test func usageAndFailures() async throws {
        let cli = try state()
        let missing = try await cli.run("package", "show", "91110105MA01ABCD0X")
        #expect(missing.status == 64 && missing.stderr.contains("--html FILE or --link is required"))
        let unknown = try await cli.run("package", "show", "91110105MA01ZZZZ0X", "--html", cli.file("x.html"))
        #expect(unknown.status == 1 && unknown.stderr.contains("no enterprise"))
        #expect(!FileManager.default.fileExists(atPath: cli.file("x.html")))
        let store = try await cli.run(
            "package", "show", "91110105MA01ABCD0X", "--html", cli.file("policypush.sqlite"))
        #expect(store.status == 1 && store.stderr.contains("refusing"), "\(store.stderr)")
    }
}
