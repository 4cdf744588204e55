import Foundation
import Testing

@testable import Storage

/// Four-eyes approval and the audit trail through the built binary: operators are told apart
/// by `POLICYPUSH_OPERATOR`, as `SUDO_USER` or the login name would in production.
@Suite("policypush campaign approve/reject and audit")
struct ApprovalCommandTests {
    /// A harness whose config requires approval, acting as `operatorName`.
    private func harness() throws -> CLIHarness {
        var cli = try CLIHarness()
        let root = CLIHarness.packageRoot.path
        cli.config = try cli.write(
            "policypush.json5",
            """
            { policies_dir: "\(root)/config/policies", templates_dir: "\(root)/templates", approval: { required: true } }
            """)
        return cli
    }

    private func run(
        _ cli: CLIHarness, as operatorName: String, _ arguments: String...
    ) async throws
        -> CLIHarness.Result
    {
        var cli = cli
        cli.environment["POLICYPUSH_OPERATOR"] = operatorName
        return try await cli.run(arguments)
    }

    private func startAwaiting(_ cli: CLIHarness, as operatorName: String) async throws -> Int64 {
        let result = try await run(
            cli, as: operatorName, "campaign", "start", "--name", "Four eyes", "--policies", "small_low_profit")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("is awaiting_approval"))
        #expect(result.stdout.contains("awaits approval by an operator other than \(operatorName)"))
        let first = result.stdout.split(separator: "\n").first.map(String.init) ?? ""
        return try #require(Int64(first), "stdout: \(result.stdout)")
    }

    @Test func theOperatorWhoStartedACampaignCannotApproveIt() async throws {
        let cli = try harness()
        let id = try await startAwaiting(cli, as: "alice")
        let refused = try await run(cli, as: "alice", "campaign", "approve", String(id), "--yes")
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("alice cannot approve campaign \(id): it was started by alice"))
        #expect(refused.stderr.contains("four-eyes rule"))
        let rejectOwn = try await run(cli, as: "alice", "campaign", "reject", String(id), "--reason", "mine")
        #expect(rejectOwn.status == 1)
        #expect(try SQLiteStore(path: cli.file("policypush.sqlite")).campaign(id: id)?.state == .awaitingApproval)

        let status = try await run(cli, as: "alice", "campaign", "status", String(id))
        #expect(status.stdout.contains("Campaign \(id) 'Four eyes': awaiting_approval"))
        #expect(status.stdout.contains("created by alice") || status.stdout.contains("by alice"))

        // The refusals are in the audit trail too.
        let list = try await run(cli, as: "bob", "audit", "list", "--json")
        #expect(list.status == 0)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        #expect(rows.map { $0["action"] as? String } == ["campaign.start", "campaign.approve", "campaign.reject"])
        #expect((rows[1]["result"] as? String)?.hasPrefix("refused: ") == true)
        #expect(rows.allSatisfy { $0["operator"] as? String == "alice" })
    }

    @Test func anotherOperatorApprovesAndTheCampaignBecomesPending() async throws {
        let cli = try harness()
        #expect(
            try await run(
                cli, as: "alice", "enterprises", "import",
                "\(CLIHarness.packageRoot.path)/config/sample-enterprises.csv"
            ).status == 0)
        let id = try await startAwaiting(cli, as: "alice")

        // Without --yes and without a terminal: the approver's view, and nothing approved.
        let view = try await run(cli, as: "bob", "campaign", "approve", String(id))
        #expect(view.status == 1)
        #expect(view.stdout.contains("started by  alice"))
        #expect(view.stdout.contains("Campaign preview on"))
        #expect(view.stdout.contains("Samples:"))
        #expect(view.stderr.contains("was not approved"))
        #expect(try SQLiteStore(path: cli.file("policypush.sqlite")).campaign(id: id)?.state == .awaitingApproval)

        let approved = try await run(
            cli, as: "bob", "campaign", "approve", String(id), "--yes", "--note", "figures checked")
        #expect(approved.status == 0, "\(approved.stderr)")
        #expect(approved.stdout.contains("approved by bob; it is pending"))
        let record = try #require(try SQLiteStore(path: cli.file("policypush.sqlite")).campaign(id: id))
        #expect(record.state == .pending)
        #expect(record.createdBy == "alice")
        #expect(record.approvedBy == "bob")
        #expect(record.decisionNote == "figures checked")

        let list = try await run(cli, as: "bob", "campaign", "list")
        #expect(list.stdout.contains("APPROVED BY"))
        #expect(list.stdout.contains("bob"))
        let status = try await run(cli, as: "bob", "campaign", "status", String(id))
        #expect(status.stdout.contains("approved    by bob"))

        let twice = try await run(cli, as: "carol", "campaign", "approve", String(id), "--yes")
        #expect(twice.status == 1)
        #expect(twice.stderr.contains("not awaiting approval"))

        let verify = try await run(cli, as: "carol", "audit", "verify")
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect(verify.stdout.contains("The audit trail is intact: 4 entries"))
        let audit = try await run(cli, as: "carol", "audit", "list")
        #expect(audit.stdout.contains("enterprises.import"))
        #expect(audit.stdout.contains("campaign.approve"))
        #expect(audit.stdout.contains("note=\"figures checked\""))
    }

    @Test func aRejectedCampaignIsFinal() async throws {
        let cli = try harness()
        let id = try await startAwaiting(cli, as: "alice")
        let missing = try await run(cli, as: "bob", "campaign", "reject", String(id))
        #expect(missing.status == 64)
        let rejected = try await run(cli, as: "bob", "campaign", "reject", String(id), "--reason", "wrong district")
        #expect(rejected.status == 0, "\(rejected.stderr)")
        let status = try await run(cli, as: "bob", "campaign", "status", String(id))
        #expect(status.stdout.contains(": rejected"))
        #expect(status.stdout.contains("rejected    by bob"))
        #expect(status.stdout.contains("wrong district"))
        let pause = try await run(cli, as: "alice", "campaign", "pause", String(id))
        #expect(pause.status == 1)
    }

    @Test func auditVerifyOnAGoodStoreExitsZeroAndNamesTheLastHash() async throws {
        let cli = try CLIHarness()
        let empty = try await cli.run("audit", "verify")
        #expect(empty.status == 0, "\(empty.stderr)")
        #expect(empty.stdout.contains("intact: 0 entries"))
        var alice = cli
        alice.environment["POLICYPUSH_OPERATOR"] = "alice"
        let start = try await alice.run("campaign", "start", "--name", "No approval", "--policies", "small_low_profit")
        #expect(start.status == 0)
        #expect(start.stdout.contains("is pending"))
        #expect(try await alice.run("campaign", "pause", "1").status == 0)
        let verify = try await cli.run("audit", "verify", "--json")
        #expect(verify.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(verify.stdout.utf8)) as? [String: Any])
        #expect(object["intact"] as? Bool == true)
        #expect(object["entries"] as? Int == 2)
        let last = try #require(object["last_hash"] as? String)
        let anchored = try await cli.run("audit", "verify", "--anchor", last)
        #expect(anchored.status == 0)
        #expect(anchored.stdout.contains("the anchor is entry 2"))
        let unknown = try await cli.run("audit", "verify", "--anchor", String(repeating: "a", count: 64))
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("no entry has the anchor hash"))
        let list = try await cli.run("audit", "list")
        #expect(list.stdout.contains("campaign.start"))
        #expect(list.stdout.contains("alice"))
        let since = try await cli.run("audit", "list", "--since", "2999-01-01")
        #expect(since.stdout.contains("No audit entries since 2999-01-01"))
    }

    @Test func auditVerifyExitsOneNamingTheFirstBrokenEntry() async throws {
        var cli = try CLIHarness()
        cli.environment["POLICYPUSH_OPERATOR"] = "alice"
        #expect(try await cli.run("campaign", "start", "--name", "One", "--policies", "small_low_profit").status == 0)
        #expect(try await cli.run("campaign", "pause", "1").status == 0)
        #expect(try await cli.run("campaign", "cancel", "1").status == 0)
        #expect(try await cli.run("audit", "verify").status == 0)
        do {
            // As a tamperer with write access would: the triggers dropped, a row deleted.
            let connection = try SQLiteConnection(path: cli.file("policypush.sqlite"), readOnly: false)
            try connection.execute("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 2")
        }
        let broken = try await cli.run("audit", "verify")
        #expect(broken.status == 1)
        #expect(broken.stderr.contains("broken at entry 3: entry 2 is missing"), "\(broken.stderr)")
        #expect(broken.stderr.contains("as stored: seq 3"))
        #expect(broken.stderr.contains("entry 1 is intact; the last intact hash is "))
        let json = try await cli.run("audit", "verify", "--json")
        #expect(json.status == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["intact"] as? Bool == false)
        #expect(object["broken_seq"] as? Int == 3)
    }
}
