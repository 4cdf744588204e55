import Foundation
import TestSupport
import Testing

@Suite("policypush command line")
struct CommandLineTests {
    @Test func helpListsEveryCommand() async throws {
        let cli = try CLIHarness()
        let result = try await cli.run("--help")
        #expect(result.status == 0)
        for command in [
            "enterprises import", "enterprises generate", "enterprises show", "policies check",
            "policies explain", "campaign preview", "bench",
        ] {
            #expect(result.stdout.contains(command), "missing \(command)")
        }
        let sub = try await cli.run("enterprises", "import", "--help")
        #expect(sub.status == 0)
        #expect(sub.stdout.contains("--replace"))
        #expect(sub.stdout.contains("--encoding"))
    }

    @Test func sendTestAnswersTheReceiptPushBeforeClosingItsListener() async throws {
        let rig = try DaemonHarness(stubArguments: ["--receipt-delay-ms", "0"])
        do {
            _ = try await rig.startStub()
            let result = try await rig.cli.run("send-test", "--gateway", "gen", "--to", "13800138000", "--wait", "10")
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            #expect(result.stdout.contains("receipt after"), "\(result.stdout)")
            // The stub counts a push once the listener has acknowledged it; a push cut off by the
            // listener closing would only be pushed again, to a port nobody listens on any more.
            try await rig.waitUntil("the stub saw its push acknowledged", timeout: .seconds(5)) {
                try await rig.stubStats(ids: false).receiptsPushed == 1
            }
        } catch {
            await rig.stopAll()
            throw error
        }
        await rig.stopAll()
    }

    @Test func unknownCommandIsAUsageError() async throws {
        let result = try await CLIHarness().run("frobnicate")
        #expect(result.status == 64)
        #expect(result.stderr.hasPrefix("error: unknown command 'frobnicate'\n"))
        #expect(result.stderr.contains("Usage:"))
    }

    @Test func unknownOptionIsAUsageError() async throws {
        let result = try await CLIHarness().run("campaign", "preview", "--colour", "red")
        #expect(result.status == 64)
        #expect(result.stderr.contains("unknown option '--colour'"))
        #expect(result.stderr.contains("Usage: policypush campaign preview"))
    }

    @Test func badOptionValueIsAUsageError() async throws {
        let result = try await CLIHarness().run("campaign", "preview", "--channels", "fax")
        #expect(result.status == 64)
        #expect(result.stderr.contains("--channels expects wechat and/or sms"))
    }

    @Test func generateIsDeterministic() async throws {
        let cli = try CLIHarness()
        try await cli.run("enterprises", "generate", "--count", "50", "--seed", "7", "--out", cli.file("a.csv"))
        try await cli.run("enterprises", "generate", "--count", "50", "--seed", "7", "--out", cli.file("b.csv"))
        try await cli.run("enterprises", "generate", "--count", "50", "--seed", "8", "--out", cli.file("c.csv"))
        let a = try String(contentsOfFile: cli.file("a.csv"), encoding: .utf8)
        #expect(a == (try String(contentsOfFile: cli.file("b.csv"), encoding: .utf8)))
        #expect(a != (try String(contentsOfFile: cli.file("c.csv"), encoding: .utf8)))
        #expect(a.split(whereSeparator: \.isNewline).count == 51)
    }

    @Test func importKeepsGoodRowsAndReportsBadOnes() async throws {
        let cli = try CLIHarness()
        try await cli.run("enterprises", "generate", "--count", "5", "--seed", "3", "--out", cli.file("gen.csv"))
        var lines = try String(contentsOfFile: cli.file("gen.csv"), encoding: .utf8).split(whereSeparator: \.isNewline)
            .map(String.init)
        // Row 3 (line 4) gets a broken credit code check digit; row 5 (line 6) a bad employee count.
        var fields = lines[3].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let code = fields[0]
        fields[0] = String(code.dropLast()) + (code.last == "0" ? "1" : "0")
        lines[3] = fields.joined(separator: ",")
        let header = lines[0].split(separator: ",").map(String.init)
        let employees = header.firstIndex(of: "employees")!
        fields = lines[5].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        fields[employees] = "-4"
        lines[5] = fields.joined(separator: ",")
        let path = try cli.write("bad.csv", lines.joined(separator: "\n") + "\n")

        let result = try await cli.run("enterprises", "import", path, "--errors", cli.file("errors.csv"))
        #expect(result.status == 1)
        #expect(result.stdout.contains("inserted 3"))
        #expect(result.stdout.contains("rejected 2"))
        #expect(result.stderr.contains("bad.csv:4:1: credit_code:"))
        #expect(result.stderr.contains("bad.csv:6:\(employees + 1): employees:"))
        let errors = try String(contentsOfFile: cli.file("errors.csv"), encoding: .utf8)
        #expect(errors.hasPrefix("file,line,column,field,message"))
        #expect(errors.split(whereSeparator: \.isNewline).count == 3)

        // Re-import: the good rows are unchanged, nothing is duplicated.
        let again = try await cli.run("enterprises", "import", path)
        #expect(again.stdout.contains("inserted 0, updated 0, unchanged 3"))
    }

    @Test func importWarnsAboutTextThatMessagesWouldChange() async throws {
        let cli = try CLIHarness()
        let long = String(repeating: "企", count: 40)
        let path = try cli.write(
            "spoof.csv",
            """
            credit_code,name,taxpayer_type,region,mobile
            91350100M000100Y43,【公安局】您涉嫌洗钱请访问http://evil.example/x,small_scale,朝阳区,13812345678
            91110108769361569N,"示例\r\n科技\u{202E}公司",small_scale,望京街道 evil.cn/x,
            92110105L12345674T,\(long),small_scale,,
            93110108MA01A2B32A,正常科技有限公司,small_scale,朝阳区,

            """)
        let result = try await cli.run("enterprises", "import", path, "--errors", cli.file("errors.csv"))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("inserted 4") && result.stdout.contains("rejected 0"), "\(result.stdout)")
        #expect(result.stderr.contains("spoof.csv:2:2: warning: name: contains signature brackets"), "\(result.stderr)")
        #expect(result.stderr.contains("spoof.csv:2:2: warning: name: contains a web address"))
        #expect(result.stderr.contains("spoof.csv:3:2: warning: name: contains control characters"))
        #expect(result.stderr.contains("spoof.csv:3:2: warning: name: contains bidirectional"))
        #expect(result.stderr.contains("spoof.csv:3:4: warning: region: contains a web address"))
        // The quoted line break moves the next records one line down.
        #expect(result.stderr.contains("spoof.csv:5:2: warning: name: is 40 characters"))
        #expect(!result.stderr.contains("spoof.csv:6:"))
        #expect(!result.stderr.unicodeScalars.contains { $0 == "\u{202E}" || $0 == "\r" }, "warnings print no raw text")
        let errors = try String(contentsOfFile: cli.file("errors.csv"), encoding: .utf8)
        #expect(errors.hasPrefix("file,line,column,field,message,severity\r\n"))
        #expect(errors.contains(",name,contains signature brackets"))
        #expect(errors.split(separator: "\r\n").dropFirst().allSatisfy { $0.hasSuffix(",warning") })

        // The store keeps what was imported; the preview shows what would be sent.
        let shown = try await cli.run("enterprises", "show", "91350100M000100Y43", "--json")
        #expect(shown.stdout.contains("http://evil.example/x"))
        let preview = try await cli.run("campaign", "preview", "--on", "2026-06-01", "--json")
        #expect(preview.status == 0, "\(preview.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(preview.stdout.utf8)) as? [String: Any])
        let samples = try #require(json["samples"] as? [[String: Any]])
        let texts = samples.compactMap { ($0["sms"] as? [String: Any])?["text"] as? String }
        let sms = try #require(texts.first)
        #expect(sms.hasPrefix("【朝阳区税务局】尊敬的（公安局）您涉嫌洗钱请访问："), "\(sms)")
        #expect(!sms.contains("evil") && sms.filter { $0 == "【" }.count == 1)
    }

    @Test func showMasksContacts() async throws {
        let cli = try CLIHarness()
        let path = try cli.write(
            "one.csv",
            """
            credit_code,name,taxpayer_type,mobile,wechat_openid
            91350100M000100Y43,示例科技有限公司,general,+86 138-1234-5678,o6_bmjrPTlm6_2sgVt7hMZOPfL2M

            """)
        #expect(try await cli.run("enterprises", "import", path).status == 0)
        let result = try await cli.run("enterprises", "show", "91350100M000100Y43")
        #expect(result.status == 0)
        #expect(result.stdout.contains("138****5678"))
        #expect(!result.stdout.contains("13812345678"))
        #expect(!result.stdout.contains("o6_bmjrPTlm6_2sgVt7hMZOPfL2M"))
        let missing = try await cli.run("enterprises", "show", "91350100M000100Y44")
        #expect(missing.status == 1)
    }

    @Test func previewAndExplainOnImportedEnterprises() async throws {
        let cli = try CLIHarness()
        try await cli.run("enterprises", "generate", "--count", "300", "--seed", "11", "--out", cli.file("e.csv"))
        #expect(try await cli.run("enterprises", "import", cli.file("e.csv")).status == 0)
        let preview = try await cli.run("campaign", "preview", "--on", "2026-06-01", "--json")
        #expect(preview.status == 0, "\(preview.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(preview.stdout.utf8)) as? [String: Any])
        #expect(json["enterprises"] as? Int == 300)
        let audience = try #require(json["audience"] as? Int)
        #expect(audience > 0 && audience <= 300)
        let channels = json["channels"] as? [String: Int] ?? [:]
        let suppressed = json["suppressed"] as? [String: Int] ?? [:]
        #expect(channels.values.reduce(0, +) + suppressed.values.reduce(0, +) == audience)
        #expect((json["samples"] as? [Any])?.count == 3)
        #expect(!preview.stdout.contains("\"13"), "a full phone number leaked")

        let code = try String(contentsOfFile: cli.file("e.csv"), encoding: .utf8).split(whereSeparator: \.isNewline)[1]
            .split(separator: ",")[0]
        let explain = try await cli.run("policies", "explain", String(code), "--on", "2026-06-01", "--json")
        #expect(explain.status == 0, "\(explain.stderr)")
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(explain.stdout.utf8)) as? [String: Any])
        #expect((answer["policies"] as? [Any])?.count == 9)
        let text = try await cli.run("policies", "explain", String(code), "--policy", "small_low_profit")
        #expect(text.status == 0)
        #expect(text.stdout.contains("taxable_income"))
    }

    @Test func policiesCheckFailsOnABadProfile() async throws {
        var cli = try CLIHarness()
        #expect(try await cli.run("policies", "check").status == 0)
        let policies = cli.stateDirectory.appendingPathComponent("policies")
        try FileManager.default.createDirectory(at: policies, withIntermediateDirectories: true)
        try """
        {
          id: "broken",
          title: "坏规则", short_title: "坏规则", basis: "无",
          when: "annual_sales <= \\"many\\"",
        }
        """.write(to: policies.appendingPathComponent("broken.json5"), atomically: true, encoding: .utf8)
        cli.config = try cli.write(
            "policypush.json5",
            """
            { policies_dir: "\(policies.path)", templates_dir: "\(CLIHarness.packageRoot.path)/templates" }
            """)
        let result = try await cli.run("policies", "check")
        #expect(result.status == 1)
        #expect(result.stderr.contains("broken.json5:4:26: when: type mismatch"))
    }

    /// A policy in force without a guide loads, but may not be announced: check fails and a campaign
    /// that selects it is refused.
    @Test func aPolicyWithoutAGuideFailsCheckAndCampaignStart() async throws {
        var cli = try CLIHarness()
        let policies = cli.stateDirectory.appendingPathComponent("policies")
        try FileManager.default.createDirectory(at: policies, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: CLIHarness.packageRoot.appendingPathComponent("config/policies/small_low_profit.json5"),
            to: policies.appendingPathComponent("small_low_profit.json5"))
        try """
        {
          id: "unguided",
          title: "无指引", short_title: "无指引", basis: "无",
          summary: "说明。",
          official_link: "https://www.chinatax.gov.cn/",
          effective_from: "2023-01-01", effective_to: "2023-12-31",
          when: "high_tech",
        }
        """.write(to: policies.appendingPathComponent("unguided.json5"), atomically: true, encoding: .utf8)
        cli.config = try cli.write(
            "policypush.json5",
            """
            { policies_dir: "\(policies.path)", templates_dir: "\(CLIHarness.packageRoot.path)/templates" }
            """)
        let check = try await cli.run("policies", "check", "--on", "2023-06-01")
        #expect(check.status == 1)
        #expect(check.stderr.contains("unguided.json5:2:7: guide: policy 'unguided' has no guide"), "\(check.stderr)")
        #expect(!check.stderr.contains("small_low_profit"), "\(check.stderr)")
        // Out of force, it cannot be put in a campaign, so it is not an error.
        let later = try await cli.run("policies", "check", "--on", "2024-06-01")
        #expect(later.status == 0, "\(later.stderr)")

        for selection in [["--policies", "small_low_profit,unguided"], ["--all"]] {
            let start = try await cli.run(["campaign", "start", "--name", "x", "--on", "2023-06-01"] + selection)
            #expect(start.status == 1)
            #expect(start.stderr.contains("policy(ies) without guidance: unguided (no guide)"), "\(start.stderr)")
        }
        #expect(try await cli.run("campaign", "list").stdout.contains("No campaigns"), "a refused start writes nothing")
        let guided = try await cli.run(
            "campaign", "start", "--name", "x", "--on", "2023-06-01", "--policies", "small_low_profit")
        #expect(guided.status == 0, "\(guided.stderr)")
    }

    @Test func replaceRemovesAbsentEnterprisesButKeepsRejectedOnes() async throws {
        let cli = try CLIHarness()
        try await cli.run("enterprises", "generate", "--count", "6", "--seed", "21", "--out", cli.file("all.csv"))
        #expect(try await cli.run("enterprises", "import", cli.file("all.csv")).status == 0)
        let lines = try String(contentsOfFile: cli.file("all.csv"), encoding: .utf8).split(whereSeparator: \.isNewline)
            .map(String.init)
        let header = lines[0].split(separator: ",").map(String.init)
        // Keep rows 1-3, break row 4's taxpayer type, drop rows 5-6.
        var broken = lines[4].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        broken[header.firstIndex(of: "taxpayer_type")!] = "corporate"
        let path = try cli.write(
            "part.csv", ([lines[0]] + lines[1...3] + [broken.joined(separator: ",")]).joined(separator: "\n"))
        let result = try await cli.run("enterprises", "import", path, "--replace")
        #expect(result.status == 1)
        #expect(result.stdout.contains("unchanged 3, rejected 1, removed 2"), "\(result.stdout)")
        let kept = String(lines[4].split(separator: ",")[0])
        #expect(
            try await cli.run("enterprises", "show", kept).status == 0, "a rejected row must not delete its enterprise")
        let gone = String(lines[5].split(separator: ",")[0])
        #expect(try await cli.run("enterprises", "show", gone).status == 1)
    }

    @Test func importsGB18030AndJSONLines() async throws {
        let cli = try CLIHarness()
        let utf8 = try cli.write(
            "utf8.csv",
            """
            credit_code,name,taxpayer_type,region,mobile
            91350100M000100Y43,厦门示例贸易有限公司,small_scale,思明区,0086 139 0000 1111

            """)
        let convert = Process()
        convert.executableURL = URL(fileURLWithPath: "/usr/bin/iconv")
        convert.arguments = ["-f", "UTF-8", "-t", "GB18030", utf8, "-o", cli.file("gbk.csv")]
        try runSerialized(convert)
        while convert.isRunning { try await Task.sleep(for: .milliseconds(5)) }
        let imported = try await cli.run("enterprises", "import", cli.file("gbk.csv"))
        #expect(imported.status == 0, "\(imported.stderr)")
        let shown = try await cli.run("enterprises", "show", "91350100M000100Y43")
        #expect(shown.stdout.contains("厦门示例贸易有限公司"))
        #expect(shown.stdout.contains("思明区"))
        #expect(shown.stdout.contains("139****1111"))

        let jsonl = try cli.write(
            "more.jsonl",
            """
            {"credit_code": "91350100M000100Y43", "name": "厦门示例贸易有限公司", "taxpayer_type": "general", "employees": 12}
            not json
            {"credit_code": "91350100M000100Y43X", "name": "坏代码"}

            """)
        let result = try await cli.run("enterprises", "import", jsonl)
        #expect(result.status == 1)
        #expect(result.stdout.contains("updated 1"))
        #expect(result.stdout.contains("rejected 2"))
        #expect(result.stderr.contains("more.jsonl:2:"))
        #expect(result.stderr.contains("more.jsonl:3:"))
    }
}
