import Foundation
import Testing

@testable import Storage

/// Two `policypush serve` nodes on one PostgreSQL store: one node's death, at any moment, is
/// survived by the other, nothing is sent twice and the provider's rate holds for both together.
///
/// The store is a schema of its own in the private cluster `scripts/test` starts
/// (`POLICYPUSH_TEST_PG`); the gateway is a generic stub that does not deduplicate and records
/// every request, so a double send shows as a recipient accepted under two requests.
@Suite("DaemonNodes: two daemons on one PostgreSQL store", .serialized)
struct DaemonNodesTests {
    /// Heartbeats every second, a lease of 3 s: a dead node's sends are recovered within 4 s.
    static let daemon = "heartbeat_s: 1, node_lease_s: 3"

    @Test func killingOneNodeRepeatedlyLosesNothingAndSendsNothingTwice() async throws {
        let database = try NodesDatabase()
        let rate = 400
        let burst = 5
        let rig = try DaemonHarness(
            gateways: [
                .init(
                    name: "gen", kind: "generic",
                    stubArguments: [
                        "--seed", "15", "--no-dedupe", "--latency-ms", "15", "--jitter-ms", "10", "--receipt-delay-ms",
                        "50",
                    ],
                    config: "options: { deduplicates: \"false\" },")
            ],
            sms: ["gen"], gatewayTimeoutMs: 1000, maxInFlight: 64, rate: rate, burst: burst,
            storeURL: database.location, daemon: Self.daemon,
            reconcile: "settle_min: 0.02, deadline_h: 0.002, interval_s: 0.2")
        do {
            try await rig.importEnterprises(count: 12_000, seed: 20_261_204)
            try await rig.startStub()
            let first = try await rig.startServe(node: 1)
            let second = try await rig.startServe(node: 2)
            let id = try await rig.startCampaign(name: "Two nodes")
            try await rig.waitUntil("sending began", timeout: .seconds(60)) { try await rig.received() > 200 }
            do {
                try await rig.waitUntil("both nodes send", timeout: .seconds(20)) {
                    try database.sendersSeen(campaign: id) >= 2
                }
            } catch {
                Issue.record("\(error)\n\(rig.logs(lines: 60))")
                throw error
            }
            let (last, _) = try await rig.killRepeatedly(
                second, node: 2, campaign: id, kills: 4, seed: 20_261_204, window: 1_500...3_000,
                flowWait: .seconds(5))
            let report = try await rig.finishAndVerify(
                id, minimumMessages: 10_000, watchTimeout: .seconds(120), receiptTimeout: .seconds(30),
                allowFailed: false, allowUnconfirmed: true)
            print("two nodes: \(report.byState)")

            let recovered = try database.recoveredFromLostNodes(campaign: id)
            #expect(recovered > 0, "no kill left a send of the dead node for the other to recover")
            let stats = try await rig.stubStats(ids: true)
            let repeated = stats.duplicateRecipients ?? []
            #expect(
                repeated.isEmpty,
                "recipients accepted twice: \(repeated.prefix(5).map { "\($0.recipient.suffix(4)) \($0.ids)" }) (\(repeated.count))"
            )
            // Each node takes half the rate; while a join or a death is being noticed (one
            // heartbeat) the sum may exceed it by the newcomer's share, plus each bucket's burst.
            let bound = rate + rate / 2 + 2 * burst
            let seconds = (stats.receivedBySecond ?? [:]).sorted { $0.key < $1.key }
            let over = seconds.filter { $0.value > bound }
            print("busiest seconds: \(seconds.map(\.value).sorted().suffix(5)) (bound \(bound))")
            print("requests per second: \(seconds.map { String($0.value) }.joined(separator: " "))")
            print("admissions per node and second:\n\(try database.admissionsBySecond(campaign: id))")
            #expect(over.isEmpty, "seconds above \(bound) requests: \(over)")

            for serve in [first, last] {
                let status = await serve.stop(SIGTERM)
                #expect(status == 0, "serve exited \(status.map(String.init) ?? "only after SIGKILL")\n\(rig.logs())")
            }
        } catch {
            await rig.stopAll()
            throw error
        }
        await rig.stopAll()
    }
}

extension DaemonNodesTests {
    /// The node planning a campaign dies half way: when its session ends the other takes the
    /// planning lock and finishes the campaign, which then holds exactly the rows an uninterrupted
    /// planning of the same campaign gives, none twice.
    @Test func aNodeKilledWhilePlanningLeavesACampaignTheOtherFinishes() async throws {
        let database = try NodesDatabase()
        let rig = try DaemonHarness(
            gateways: [.init(name: "gen", kind: "generic", stubArguments: ["--seed", "16"])], sms: ["gen"],
            storeURL: database.location, daemon: Self.daemon)
        do {
            try await rig.importEnterprises(count: 12_000, seed: 20_261_205)
            try await rig.startStub()
            var serves = [1: try await rig.startServe(node: 1), 2: try await rig.startServe(node: 2)]
            // Due tomorrow: planned now, sent later, so planning alone is under test.
            let tomorrow = ISO8601DateFormatter().string(from: Date().addingTimeInterval(86_400))
            let id = try await rig.startCampaign(name: "Interrupted", "--at", tomorrow)
            var planner = 0
            try await rig.waitUntil("a node begins planning", timeout: .seconds(30)) {
                planner =
                    [1, 2].first { serves[$0]!.tail(400).contains("msg=\"planning campaign\" campaign=\(id)") } ?? 0
                return planner != 0
            }
            try await rig.waitUntil("the planner writes rows", timeout: .seconds(60)) {
                try database.count("SELECT count(*) FROM messages WHERE campaign_id = \(id)") > 0
            }
            await serves[planner]!.stop(SIGKILL)
            let written = try database.count("SELECT count(*) FROM messages WHERE campaign_id = \(id)")
            let state = try database.text("SELECT state FROM campaigns WHERE id = \(id)")
            #expect(state == "planning", "the kill came after planning ended: \(state ?? "-")")
            let other = 3 - planner
            try await rig.waitUntil("the other node finishes the planning", timeout: .seconds(60)) {
                try database.text("SELECT state FROM campaigns WHERE id = \(id)") == "running"
            }
            #expect(serves[other]!.tail(400).contains("msg=\"planning campaign\" campaign=\(id) resumed=true"))

            let reference = try await rig.startCampaign(name: "Reference", "--at", tomorrow)
            try await rig.waitUntil("the reference campaign is planned", timeout: .seconds(60)) {
                try database.text("SELECT state FROM campaigns WHERE id = \(reference)") == "running"
            }
            let interrupted = try database.states(campaign: id)
            let whole = try database.states(campaign: reference)
            print("killed node \(planner) with \(written) rows written; then \(interrupted), uninterrupted \(whole)")
            #expect(interrupted == whole)
            #expect(
                try database.count(
                    "SELECT count(*) - count(DISTINCT (credit_code, channel)) FROM messages WHERE campaign_id = \(id)")
                    == 0)
            serves[planner] = try await rig.startServe(node: planner)
        } catch {
            await rig.stopAll()
            throw error
        }
        await rig.stopAll()
    }
}

/// A schema of its own in the test cluster, dropped afterwards, and the few facts the test reads
/// under the CLI.
final class NodesDatabase {
    let location: String
    private let schema: String
    private let base: String

    init() throws {
        guard let base = ProcessInfo.processInfo.environment["POLICYPUSH_TEST_PG"], !base.isEmpty else {
            throw DaemonHarness.Failure(
                description:
                    "POLICYPUSH_TEST_PG is not set: run through scripts/test, or eval \"$(scripts/pg-cluster env /tmp/policypush-pg)\""
            )
        }
        self.base = base
        schema = "nodes_\(UUID().uuidString.lowercased().filter(\.isHexDigit).prefix(16))"
        try PGConnection(base).execute("CREATE SCHEMA \(schema)")
        location =
            base.contains("://")
            ? base + (base.contains("?") ? "&" : "?") + "options=-csearch_path%3D\(schema)"
            : base + " options='-csearch_path=\(schema)'"
    }

    deinit {
        _ = try? PGConnection(base).execute("DROP SCHEMA \(schema) CASCADE")
    }

    func text(_ sql: String) throws -> String? {
        let result = try PGConnection(location).query(sql)
        return result.rowCount > 0 ? result.text(0, 0) : nil
    }

    func count(_ sql: String) throws -> Int {
        Int(try text(sql) ?? "") ?? 0
    }

    /// Each node's last admissions per second, a line per node (for a failure's story).
    func admissionsBySecond(campaign: Int64) throws -> String {
        let result = try PGConnection(location).query(
            """
            SELECT node, last_attempt_at / 1000, count(*) FROM messages
            WHERE campaign_id = \(campaign) AND node IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2
            """)
        var lines: [String: [String]] = [:]
        for row in 0..<result.rowCount {
            lines[String((result.text(row, 0) ?? "").prefix(8)), default: []].append(
                "\((result.text(row, 1) ?? "").suffix(3)):\(result.text(row, 2) ?? "")")
        }
        return lines.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.joined(separator: " "))" }
            .joined(separator: "\n")
    }

    /// The campaign's messages by state.
    func states(campaign: Int64) throws -> [String: Int] {
        let result = try PGConnection(location).query(
            "SELECT state, count(*) FROM messages WHERE campaign_id = \(campaign) GROUP BY state")
        var states: [String: Int] = [:]
        for row in 0..<result.rowCount { states[result.text(row, 0) ?? ""] = Int(result.text(row, 1) ?? "") ?? 0 }
        return states
    }

    /// How many nodes have admitted a message of the campaign.
    func sendersSeen(campaign: Int64) throws -> Int {
        try count("SELECT count(DISTINCT node) FROM messages WHERE campaign_id = \(campaign) AND node IS NOT NULL")
    }

    /// Messages a node left `sending` when it died, made ambiguous by the node that outlived it.
    func recoveredFromLostNodes(campaign: Int64) throws -> Int {
        try count(
            """
            SELECT count(*) FROM message_events e JOIN messages m ON m.id = e.message_id
            WHERE m.campaign_id = \(campaign) AND e.from_state = 'sending' AND e.to_state = 'ambiguous'
            """)
    }
}
