import Config
import Daemon
import Foundation
import Registry
import Storage
import Testing

@Suite("policypush campaign commands")
struct CampaignCommandTests {
    /// Starts a campaign and returns its id from the first line of stdout.
    private func start(_ cli: CLIHarness, _ extra: String...) async throws -> Int64 {
        let result = try await cli.run(
            ["campaign", "start", "--name", "Test push", "--policies", "small_low_profit"] + extra)
        #expect(result.status == 0, "\(result.stderr)")
        let first = result.stdout.split(separator: "\n").first.map(String.init) ?? ""
        return try #require(Int64(first), "stdout: \(result.stdout)")
    }

    private func store(_ cli: CLIHarness) throws -> SQLiteStore {
        try SQLiteStore(path: cli.file("policypush.sqlite"))
    }

    @Test func startValidatesItsArguments() async throws {
        let cli = try CLIHarness()
        let unknown = try await cli.run("campaign", "start", "--name", "x", "--policies", "no_such_policy")
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("unknown policy id(s): no_such_policy"))
        let inactive = try await cli.run(
            "campaign", "start", "--name", "x", "--policies", "individual_iit_half", "--on", "2028-01-02")
        #expect(inactive.status == 1)
        #expect(inactive.stderr.contains("not in force on 2028-01-02: individual_iit_half"))
        let channel = try await cli.run("campaign", "start", "--name", "x", "--all", "--channels", "fax")
        #expect(channel.status == 64)
        #expect(channel.stderr.contains("--channels expects wechat and/or sms"))
        let at = try await cli.run("campaign", "start", "--name", "x", "--all", "--at", "next tuesday")
        #expect(at.status == 64)
        #expect(at.stderr.contains("--at expects ISO 8601"))
        let noName = try await cli.run("campaign", "start", "--all")
        #expect(noName.status == 64)
        let longName = try await cli.run("campaign", "start", "--name", String(repeating: "n", count: 101), "--all")
        #expect(longName.status == 64)
        let both = try await cli.run("campaign", "start", "--name", "x", "--all", "--policies", "small_low_profit")
        #expect(both.status == 64)
        let max = try await cli.run("campaign", "start", "--name", "x", "--all", "--max", "0")
        #expect(max.status == 64)
        let list = try await cli.run("campaign", "list")
        #expect(list.stdout.contains("No campaigns"), "a rejected start writes nothing")
    }

    @Test func startPrintsTheIDAndSaysNoDaemonIsRunning() async throws {
        let cli = try CLIHarness()
        let result = try await cli.run(
            "campaign", "start", "--name", "Winter push", "--all", "--channels", "sms", "--at", "2026-12-01 09:00",
            "--max", "500", "--fallback")
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "1")
        #expect(result.stdout.contains("no daemon is running: it will be planned when `policypush serve` starts"))

        let record = try #require(try store(cli).campaign(id: 1))
        #expect(record.state == .pending)
        #expect(record.spec.channels == [.sms])
        #expect(record.spec.fallback)
        #expect(record.spec.maxMessages == 500)
        #expect(record.spec.campaignDate == "2026-12-01")
        #expect(record.spec.policyVersions.count == record.spec.policyIDs.count)
        #expect(record.spec.templateVersion.count == 16)
        // 09:00 in Asia/Shanghai.
        #expect(record.spec.startAt == Date(timeIntervalSince1970: 1_796_086_800))

        let list = try await cli.run("campaign", "list")
        #expect(list.status == 0)
        #expect(list.stdout.contains("Winter push"))
        #expect(list.stdout.contains("pending"))
        let status = try await cli.run("campaign", "status", "1")
        #expect(status.status == 0)
        #expect(status.stdout.contains("Campaign 1 'Winter push': pending"))
        #expect(status.stdout.contains("daemon      not running"))
        let json = try await cli.run("campaign", "status", "1", "--json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let campaign = try #require(object["campaign"] as? [String: Any])
        #expect(campaign["state"] as? String == "pending")
        #expect(object["daemon_running"] as? Bool == false)
    }

    @Test func startSaysWhenTheDaemonIsRunning() async throws {
        let cli = try CLIHarness()
        // This test process stands in for the daemon: it is alive and its name mentions PolicyPush.
        try DaemonPresence.write(stateDirectory: cli.stateDirectory.path)
        let result = try await cli.run("campaign", "start", "--name", "x", "--policies", "small_low_profit")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("the daemon (pid \(getpid())) will start it within a second"))
        let status = try await cli.run("campaign", "status", "1")
        #expect(status.stdout.contains("daemon      running (pid \(getpid()))"))
    }

    @Test func pauseResumeAndCancelAreRecordedAsRequests() async throws {
        let cli = try CLIHarness()
        let id = try await start(cli)
        let pause = try await cli.run("campaign", "pause", String(id))
        #expect(pause.status == 0, "\(pause.stderr)")
        #expect(pause.stdout.contains("pause requested"))
        #expect(pause.stdout.contains("no daemon is running"))
        let status = try await cli.run("campaign", "status", String(id))
        #expect(status.stdout.contains("pending (pause requested)"))
        #expect(try store(cli).campaign(id: id)?.requestedState == .paused)

        // The daemon applies the pause; resume is then a request too.
        try store(cli).applyCampaignState(id: id, .paused, at: Date())
        let resume = try await cli.run("campaign", "resume", String(id))
        #expect(resume.status == 0, "\(resume.stderr)")
        #expect(try store(cli).campaign(id: id)?.requestedState == .running)

        let cancel = try await cli.run("campaign", "cancel", String(id))
        #expect(cancel.status == 0)
        #expect(try store(cli).campaign(id: id)?.requestedState == .cancelled)
        let list = try await cli.run("campaign", "list", "--json")
        let array = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        #expect(array.first?["requested_state"] as? String == "cancelled")

        // Impossible requests and unknown campaigns fail with exit 1.
        try store(cli).applyCampaignState(id: id, .cancelled, at: Date())
        let again = try await cli.run("campaign", "resume", String(id))
        #expect(again.status == 1)
        #expect(again.stderr.contains("cannot resume campaign \(id): it is cancelled"))
        let missing = try await cli.run("campaign", "pause", "99")
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no campaign 99"))
        let missingStatus = try await cli.run("campaign", "status", "99")
        #expect(missingStatus.status == 1)
        let badID = try await cli.run("campaign", "status", "abc")
        #expect(badID.status == 64)
    }

    @Test func reportOnACampaignWithoutMessagesWritesACSVHeader() async throws {
        let cli = try CLIHarness()
        let id = try await start(cli)
        let result = try await cli.run("campaign", "report", String(id), "--csv", cli.file("out.csv"))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("0 message(s)"))
        #expect(result.stdout.contains("Wrote 0 message row(s)"))
        let csv = try String(contentsOfFile: cli.file("out.csv"), encoding: .utf8)
        #expect(csv.hasPrefix("id,idempotency_key,credit_code,channel,recipient,policies,state,"))
        #expect(csv.split(separator: "\r\n").count == 1)
        let missing = try await cli.run("campaign", "report", "42")
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no campaign 42"))
    }

    @Test func reportCountsMessagesAndMasksRecipients() async throws {
        let cli = try CLIHarness()
        let id = try await start(cli)
        let store = try store(cli)
        let now = Date()
        func message(
            _ n: Int, _ channel: Channel, _ recipient: String, state: MessageState = .queued, reason: String? = nil
        )
            -> NewMessage
        {
            NewMessage(
                campaignID: id, creditCode: "91110000MA0000000\(n)", channel: channel, recipient: recipient,
                policyIDs: ["small_low_profit"], payload: [], idempotencyKey: "c\(id)-\(n)", state: state,
                suppressionReason: reason, notBefore: now)
        }
        try store.insertMessages([
            message(1, .sms, "13812345678"),
            message(2, .wechat, "oWx1234567890abcdefXYZ"),
            message(3, .sms, "13900001111", state: .suppressed, reason: "opt_out"),
        ])
        var ids: [String: Int64] = [:]
        try store.forEachMessage(campaignID: id, withEvents: false) { m, _ in ids[m.idempotencyKey] = m.id }
        let sms = try #require(ids["c\(id)-1"])
        let wechat = try #require(ids["c\(id)-2"])
        try store.record([
            Transition(messageID: sms, to: .accepted, at: now, gateway: "aliyun", providerID: "biz-1"),
            Transition(messageID: wechat, to: .failed, at: now, gateway: "wechat", error: "wechat:43004"),
        ])
        try store.record([Transition(messageID: sms, to: .delivered, at: now.addingTimeInterval(3), gateway: "aliyun")])

        let result = try await cli.run("campaign", "report", String(id), "--csv", cli.file("out.csv"))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("3 message(s)"))
        #expect(result.stdout.contains("wechat:43004"))
        #expect(result.stdout.contains("opt_out"))
        #expect(result.stdout.contains("aliyun"))
        let csv = try String(contentsOfFile: cli.file("out.csv"), encoding: .utf8)
        let rows = csv.split(separator: "\r\n").map(String.init)
        #expect(rows.count == 4)
        #expect(csv.contains("138****5678"))
        #expect(csv.contains("oWx1****fXYZ"))
        #expect(!csv.contains("13812345678"))
        #expect(!csv.contains("oWx1234567890abcdefXYZ"))
        #expect(rows.contains { $0.contains(",delivered,aliyun,biz-1,") })

        let json = try await cli.run("campaign", "report", String(id), "--json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["total"] as? Int == 3)
        #expect((object["by_state"] as? [String: Int])?["delivered"] == 1)
        let reasons = try #require(object["failure_reasons"] as? [[String: Any]])
        #expect(reasons.first?["name"] as? String == "wechat:43004")
        for output in [result.stdout, result.stderr, json.stdout] {
            #expect(!output.contains("13812345678") && !output.contains("oWx1234567890abcdefXYZ"))
        }
        let status = try await cli.run("campaign", "status", String(id))
        #expect(status.stdout.contains("progress    3/3 final (100%)"))
    }

    @Test func watchEndsPromptlyOnACancelledCampaign() async throws {
        let cli = try CLIHarness()
        let id = try await start(cli)
        try store(cli).applyCampaignState(id: id, .cancelled, at: Date())
        let result = try await cli.run("campaign", "watch", String(id), "--interval", "0.05")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Campaign \(id) is cancelled"))
        #expect(!result.stdout.contains("\r"), "not a terminal: plain lines")
        let missing = try await cli.run("campaign", "watch", "7")
        #expect(missing.status == 1)
    }

    @Test func watchFollowsACampaignUntilItCompletes() async throws {
        let cli = try CLIHarness()
        let id = try await start(cli)
        async let watching = cli.run("campaign", "watch", String(id), "--interval", "0.05")
        let store = try store(cli)
        try store.applyCampaignState(id: id, .running, at: Date())
        try store.applyCampaignState(id: id, .completed, at: Date())
        let result = try await watching
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Campaign \(id) is completed"))
    }
}

@Suite("policypush campaign reconcile")
struct CampaignReconcileCommandTests {
    @Test func listsUnresolvedMessagesMaskedAndResendsUnconfirmedOnlyWithANote() async throws {
        let cli = try CLIHarness()
        let store = try SQLiteStore(path: cli.file("policypush.sqlite"))
        let at = Date()
        let spec = CampaignSpec(
            name: "Reconcile", policyIDs: ["p"], channels: [.sms], fallback: false, startAt: at,
            campaignDate: "2026-12-03",
            policyVersions: [:], templateVersion: "t")
        let id = try store.createCampaign(spec)
        try store.applyCampaignState(id: id, .planning, at: at)
        try store.applyCampaignState(id: id, .running, at: at)
        try store.insertMessages(
            (0..<3).map { n in
                NewMessage(
                    campaignID: id, creditCode: "91350100M00000000\(n)", channel: .sms, recipient: "1391234567\(n)",
                    policyIDs: ["p"], payload: Array("{}".utf8), idempotencyKey: "k\(n)", notBefore: at)
            })
        let claimed = try store.claimDue(now: at, limit: 3)
        try store.record(
            claimed.map {
                Transition(messageID: $0.id, to: .sending, at: at, gateway: "aliyun", countsAsAttempt: false)
            })
        try store.record([
            Transition(
                messageID: claimed[0].id, to: .ambiguous, at: at, gateway: "aliyun",
                error: "transport:timeout_after_send"),
            Transition(messageID: claimed[1].id, to: .ambiguous, at: at, gateway: "aliyun"),
            Transition(messageID: claimed[2].id, to: .accepted, at: at, gateway: "aliyun", providerID: "b"),
        ])
        try store.record([Transition(messageID: claimed[1].id, to: .unconfirmed, at: at, error: "reconcile:deadline")])

        let listed = try await cli.run("campaign", "reconcile", String(id))
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stdout.contains("unconfirmed 1, ambiguous 1, unsent 0"), "\(listed.stdout)")
        #expect(
            listed.stdout.contains("139****5671") && !listed.stdout.contains("13912345671"), "masked: \(listed.stdout)")
        #expect(listed.stdout.contains("--resend-unconfirmed"))
        let status = try await cli.run("campaign", "status", String(id))
        #expect(status.stdout.contains("1 unconfirmed: an operator decides"), "\(status.stdout)")

        let noNote = try await cli.run("campaign", "reconcile", String(id), "--resend-unconfirmed")
        #expect(noNote.status == 64)
        #expect(noNote.stderr.contains("--note"))
        let resent = try await cli.run(
            "campaign", "reconcile", String(id), "--resend-unconfirmed", "--note", "phoned: not received")
        #expect(resent.status == 0, "\(resent.stderr)")
        #expect(resent.stdout.contains("Queued 1 unconfirmed message(s) again"))
        #expect(try store.campaignCounts(id: id) == [.ambiguous: 1, .queued: 1, .accepted: 1])
        let json = try await cli.run("campaign", "reconcile", String(id), "--json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect((object["messages"] as? [[String: Any]])?.count == 1)
        #expect(try await cli.run("campaign", "reconcile", "99").status == 1)
    }
}

@Suite("policypush campaign unreached")
struct CampaignUnreachedCommandTests {
    /// A hand-built registry and campaign: `unreached` lists the misses for follow-up, masked,
    /// and `report` shows the same coverage numbers.
    @Test func unreachedListsTheMissesAndAgreesWithTheReportsCoverage() async throws {
        let cli = try CLIHarness()
        let store = try SQLiteStore(path: cli.file("policypush.sqlite"))
        let at = Date()
        let codes = (0..<6).map { "91440300MA5F0000\($0)X" }
        let registry = [
            Enterprise(creditCode: codes[0], name: "已送达公司", region: "南山", mobile: "13800000000"),
            Enterprise(creditCode: codes[1], name: "失败\u{202E}公司", region: "福田", mobile: "13800000001"),
            Enterprise(creditCode: codes[2], name: "退订公司", region: "南山", mobile: "13800000002"),
            Enterprise(creditCode: codes[3], name: "无联系公司", region: "宝安"),
            Enterprise(creditCode: codes[4], name: "已告知公司", region: "南山", mobile: "13800000004"),
            Enterprise(
                creditCode: codes[5], name: "微信退订", region: "福田", wechatOpenID: "oWx1234567890abcdefXYZ",
                wechatOptOut: true),
        ]
        _ = try store.importEnterprises(file: "r.csv", replace: false) { sink in
            try sink(registry)
            return RejectedRows()
        }
        let spec = CampaignSpec(
            name: "Coverage", policyIDs: ["small_low_profit", "rd_plus"], channels: [.wechat, .sms], fallback: false,
            startAt: at, campaignDate: "2026-12-03", policyVersions: [:], templateVersion: "t")
        let id = try store.createCampaign(spec)
        try store.applyCampaignState(id: id, .planning, at: at)
        try store.applyCampaignState(id: id, .running, at: at)
        func message(_ n: Int, _ channel: Channel?, state: MessageState = .queued, reason: String? = nil) -> NewMessage
        {
            NewMessage(
                campaignID: id, creditCode: codes[n], channel: channel,
                recipient: channel == .sms ? registry[n].mobile ?? "" : "", policyIDs: ["small_low_profit"],
                payload: Array("{}".utf8), idempotencyKey: "k\(n)", state: state, suppressionReason: reason,
                notBefore: at)
        }
        try store.insertMessages([
            message(0, .sms), message(1, .sms), message(2, nil, state: .suppressed, reason: "opted_out"),
            message(3, nil, state: .suppressed, reason: "no_contact"),
            message(4, nil, state: .suppressed, reason: "duplicate"),
            message(5, nil, state: .suppressed, reason: "opted_out"),
        ])
        _ = try store.addSuppression(
            SuppressionRecord(
                target: .enterprise(codes[2]), channel: .sms, reason: "operator", operatorName: "li",
                note: "asked by phone",
                at: at))
        let claimed = Dictionary(
            uniqueKeysWithValues: try store.claimDue(now: at, limit: 2).map { ($0.creditCode, $0.id) })
        let delivered = try #require(claimed[codes[0]])
        let failed = try #require(claimed[codes[1]])
        try store.record(
            [delivered, failed].map {
                Transition(messageID: $0, to: .sending, at: at, gateway: "aliyun", countsAsAttempt: false)
            })
        try store.record([
            Transition(messageID: delivered, to: .delivered, at: at, gateway: "aliyun"),
            Transition(
                messageID: failed, to: .failed, at: at, gateway: "aliyun", error: "aliyun:isv.MOBILE_NUMBER_ILLEGAL"),
        ])

        let listed = try await cli.run("campaign", "unreached", String(id), "--csv", cli.file("unreached.csv"))
        #expect(listed.status == 0, "\(listed.stderr)")
        let out = listed.stdout
        #expect(out.contains("6 qualified, 1 delivered, 1 told before, 0 in flight, 4 not reached"), "\(out)")
        let lines = out.split(separator: "\n").map(String.init)
        let order = [
            "failed (1):", "no_contact (1):", "opted_out (2):", "told_before (1, reached earlier: not a miss):",
        ].map { h in lines.firstIndex(of: h) }
        #expect(order.allSatisfy { $0 != nil } && order == order.sorted { ($0 ?? 0) < ($1 ?? 0) }, "\(out)")
        #expect(out.contains("sms: aliyun:isv.MOBILE_NUMBER_ILLEGAL") && out.contains("sms operator (asked by phone)"))
        #expect(out.contains("wechat registry_flag") && out.contains("失败<U+202E>公司"), "\(out)")
        #expect(out.contains("138****0001") && out.contains("oWx1****fXYZ"))
        #expect(!out.contains(codes[0]), "delivered is not listed")
        for raw in ["13800000001", "oWx1234567890abcdefXYZ", "\u{202E}"] { #expect(!out.contains(raw)) }

        let csv = try String(contentsOfFile: cli.file("unreached.csv"), encoding: .utf8)
        let rows = csv.split(separator: "\r\n").map(String.init)
        #expect(rows.first == "reason,credit_code,name,region,policies,mobile,wechat_openid,detail")
        #expect(
            rows.dropFirst().map { $0.split(separator: ",").first.map(String.init) ?? "" }
                == ["failed", "no_contact", "opted_out", "opted_out", "told_before"])
        // Among the opted-out, region orders: 南山 before 福田.
        #expect(rows[3].contains(codes[2]) && rows[4].contains(codes[5]), "\(rows)")
        #expect(!csv.contains("13800000002") && !csv.contains("oWx1234567890abcdefXYZ"))

        let json = try await cli.run("campaign", "unreached", String(id), "--json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let coverage = try #require(object["coverage"] as? [String: Any])
        #expect((object["enterprises"] as? [[String: Any]])?.count == 5)

        let report = try await cli.run("campaign", "report", String(id), "--json")
        let reportObject = try #require(
            try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any])
        let reportCoverage = try #require(reportObject["coverage"] as? [String: Any])
        #expect(NSDictionary(dictionary: reportCoverage) == NSDictionary(dictionary: coverage))
        #expect(reportCoverage["qualified"] as? Int == 6 && reportCoverage["not_reached_total"] as? Int == 4)
        let text = try await cli.run("campaign", "report", String(id))
        #expect(text.stdout.contains("Coverage (enterprises):"), "\(text.stdout)")
        #expect(text.stdout.contains("failed 1, no_contact 1, opted_out 2"), "\(text.stdout)")
        #expect(try await cli.run("campaign", "unreached", "99").status == 1)
    }
}
