import Config
import Foundation
import HTTPServer
import Messaging
import Ops
import Planning
import Registry
import Rules
import Storage
import Testing

@testable import Daemon

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `GET /p/<token>` on the landing listener, over loopback, for a campaign the real planner planned.
@Suite("Landing listener")
struct LandingServiceTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func servesThePlannedPageAndNothingElse() async throws {
        let schema = AttributeSchema(custom: ["export_share": .number])
        let (catalog, diagnostics) = PolicyCatalog.load(
            directory: Self.root.appendingPathComponent("config/policies").path, schema: schema)
        #expect(diagnostics.isEmpty)
        let templates = try TemplateSet.load(
            directory: Self.root.appendingPathComponent("templates").path, schema: schema)
        let tokens = try LinkTokens(secret: Array("landing-service-tests-secret-0123".utf8))
        let enterprise = Enterprise(
            creditCode: "91350100M000100Y43", name: "示例<b>商贸</b>有限公司", taxpayerType: .smallScale,
            industryCode: "F51", region: "示例街道", employees: 5, annualSales: 600_000, taxableIncome: 80_000,
            totalAssets: 900_000, creditRating: .b, highTech: false, mobile: "13800138000")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "pp-landing-\(UUID().uuidString).sqlite"
        )
        .path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let store = try StoreWorker(path: path)
        _ = try await store.run { store in
            try store.importEnterprises(file: "t.csv", replace: false) { sink in
                try sink([enterprise])
                return RejectedRows(count: 0)
            }
        }
        let spec = CampaignSpec(
            name: "t", policyIDs: catalog.entries.map(\.profile.id), channels: [.sms], fallback: false,
            startAt: Date(), campaignDate: "2026-06-01", policyVersions: [:], templateVersion: "t")
        let campaign = try await store.run { try $0.campaign(id: $0.createCampaign(spec))! }
        let renderer = PackageRenderer(templates: templates)
        let planner = CampaignPlanner(
            registry: ShardedRegistry.build(shardCount: 1, schema: schema) { $0(enterprise) }, catalog: catalog,
            renderer: renderer, linkTokens: tokens, policy: PlanningPolicy())
        #expect(try await planner.plan(campaign, store: store).queued == 1)
        let token = tokens.token(campaign: campaign.id, creditCode: enterprise.creditCode)
        // The SMS sent names the page the listener serves.
        let message = try await store.run { store in
            var all: [OutboxMessage] = []
            try store.forEachMessage(campaignID: campaign.id, withEvents: false) { m, _ in all.append(m) }
            return all
        }
        #expect(String(decoding: try #require(message.first).payload, as: UTF8.self).contains("/p/\(token)"))

        var configuration = try Configuration.load(file: nil, environment: ["POLICYPUSH_STATE_DIR": "/nonexistent"])
        configuration.landing.listen = ("127.0.0.1", 0)
        let inputs = DaemonContext.Inputs(
            configuration: configuration, catalog: catalog, renderer: renderer, linkTokens: tokens)
        let service = try LandingService(
            configuration: .init(host: "127.0.0.1", port: 0, maxBodyBytes: 0), store: store, inputs: { inputs },
            health: StoreHealth(), log: Log(threshold: .error))
        let port = try #require(service.port)
        let session = URLSession(configuration: .ephemeral)
        defer { session.invalidateAndCancel() }
        func get(_ path: String, method: String = "GET") async throws -> (Int, String, HTTPURLResponse?) {
            var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(port)\(path)")))
            request.httpMethod = method
            let (data, response) = try await session.data(for: request)
            let http = response as? HTTPURLResponse
            return (http?.statusCode ?? 0, String(decoding: data, as: UTF8.self), http)
        }

        let (status, page, response) = try await get("/p/\(token)")
        #expect(status == 200)
        #expect(response?.value(forHTTPHeaderField: "Content-Type") == "text/html; charset=utf-8")
        #expect(response?.value(forHTTPHeaderField: "Content-Security-Policy")?.hasPrefix("default-src 'none'") == true)
        #expect(page.contains("示例&lt;b&gt;商贸&lt;/b&gt;有限公司") && page.contains("2026-06-01"))
        #expect(page.contains("913501********0Y43") && page.contains("<h3>办理指引</h3>"))
        #expect(page.utf8.count < 30 * 1024)

        let other = tokens.token(campaign: campaign.id + 1, creditCode: enterprise.creditCode)
        for path in ["/p/\(other)", "/p/\(token)x", "/p/", "/", "/p/../../etc/passwd", "/p/\(token.prefix(10))%2F"] {
            let (status, body, _) = try await get(path)
            #expect(status == 404, "\(path)")
            #expect(!body.contains("<"), "\(path): a plain page")
        }
        #expect(try await get("/p/\(token)", method: "POST").0 == 405)

        // After landing.ttl_days (here 30) from the campaign's start, the same link is a plain 404.
        var expiring = configuration
        expiring.landing.ttlDays = 30
        let late = DaemonContext.Inputs(
            configuration: expiring, catalog: catalog, renderer: renderer, linkTokens: tokens)
        let expired = try LandingService(
            configuration: .init(host: "127.0.0.1", port: 0, maxBodyBytes: 0), store: store, inputs: { late },
            health: StoreHealth(), log: Log(threshold: .error),
            now: { campaign.spec.startAt.addingTimeInterval(31 * 86_400) })
        let latePort = try #require(expired.port)
        let lateURL = try #require(URL(string: "http://127.0.0.1:\(latePort)/p/\(token)"))
        let (_, lateResponse) = try await session.data(for: URLRequest(url: lateURL))
        #expect((lateResponse as? HTTPURLResponse)?.statusCode == 404)
        await expired.server?.stop(draining: .seconds(1))

        await service.server?.stop(draining: .seconds(1))
        store.close()
    }
}
