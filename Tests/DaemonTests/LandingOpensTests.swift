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

/// Opens, the feedback form and the rate limit of the landing listener, over loopback, for a
/// campaign the real planner planned; requests go over raw sockets so that each can set its
/// method, User-Agent, body and source address (any of 127/8).
@Suite("Landing listener: opens, feedback, rate limit")
struct LandingOpensTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static let wechatUA =
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        + "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN"
    static let desktopUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0"

    /// A store with one planned campaign of one enterprise, and a listener serving it.
    final class Rig: Sendable {
        let path: String
        let store: StoreWorker
        let campaign: CampaignRecord
        let token: String
        let other: String
        let service: LandingService
        let port: Int

        init(ratePerMinute: Int = 0, burst: Int = 10, now: @escaping @Sendable () -> Date = { Date() }) async throws {
            let schema = AttributeSchema(custom: ["export_share": .number])
            let (catalog, _) = PolicyCatalog.load(
                directory: LandingOpensTests.root.appendingPathComponent("config/policies").path, schema: schema)
            let templates = try TemplateSet.load(
                directory: LandingOpensTests.root.appendingPathComponent("templates").path, schema: schema)
            let tokens = try LinkTokens(secret: Array("landing-opens-tests-secret-01234".utf8))
            let enterprise = Enterprise(
                creditCode: "91350100M000100Y43", name: "示例商贸有限公司", taxpayerType: .smallScale,
                industryCode: "F51", region: "示例街道", employees: 5, annualSales: 600_000, taxableIncome: 80_000,
                totalAssets: 900_000, creditRating: .b, highTech: false, mobile: "13800138000")
            path =
                FileManager.default.temporaryDirectory.appendingPathComponent(
                    "pp-opens-\(UUID().uuidString).sqlite"
                ).path
            store = try StoreWorker(path: path)
            _ = try await store.run { store in
                try store.importEnterprises(file: "t.csv", replace: false) { sink in
                    try sink([enterprise])
                    return RejectedRows(count: 0)
                }
            }
            let spec = CampaignSpec(
                name: "t", policyIDs: catalog.entries.map(\.profile.id), channels: [.sms], fallback: false,
                startAt: Date(), campaignDate: "2026-06-01", policyVersions: [:], templateVersion: "t")
            campaign = try await store.run { try $0.campaign(id: $0.createCampaign(spec))! }
            let renderer = PackageRenderer(templates: templates)
            let planner = CampaignPlanner(
                registry: ShardedRegistry.build(shardCount: 1, schema: schema) { $0(enterprise) }, catalog: catalog,
                renderer: renderer, linkTokens: tokens, policy: PlanningPolicy())
            #expect(try await planner.plan(campaign, store: store).queued == 1)
            token = tokens.token(campaign: campaign.id, creditCode: enterprise.creditCode)
            other = tokens.token(campaign: campaign.id + 1, creditCode: enterprise.creditCode)

            var configuration = try Configuration.load(
                file: nil, environment: ["POLICYPUSH_STATE_DIR": "/nonexistent"])
            configuration.landing.ratePerMinute = ratePerMinute
            configuration.landing.rateBurst = burst
            let inputs = DaemonContext.Inputs(
                configuration: configuration, catalog: catalog, renderer: renderer, linkTokens: tokens)
            service = try LandingService(
                configuration: .init(host: "127.0.0.1", port: 0, maxBodyBytes: LandingService.maxBodyBytes),
                store: store, inputs: { inputs }, health: StoreHealth(), log: Log(threshold: .error), now: now)
            port = try #require(service.port)
        }

        func stop() async {
            await service.server?.stop(draining: .seconds(1))
            store.close()
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }

        var opens: OpenReport {
            get async throws {
                let id = campaign.id
                return try await store.run { try $0.openReport(campaignID: id) }
            }
        }

        /// One request on a connection of its own from `source`; the answer's status, headers
        /// (names lowercased) and body.
        func send(
            _ method: String, _ path: String, headers: [String: String] = [:], body: [UInt8] = [],
            from source: String = "127.0.0.1"
        ) async -> Answer {
            var text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            for (name, value) in headers { text += "\(name): \(value)\r\n" }
            if !body.isEmpty || method == "POST" { text += "Content-Length: \(body.count)\r\n" }
            let request = Array((text + "\r\n").utf8) + body
            let port = port
            return await withCheckedContinuation { continuation in
                Thread.detachNewThread {
                    continuation.resume(returning: Answer.exchange(request, port: port, from: source))
                }
            }
        }
    }

    struct Answer: Sendable {
        var status = 0
        var headers: [String: String] = [:]
        var body = ""

        /// Blocks: connects from `source`, sends, reads until the server closes (5 s at most).
        static func exchange(_ request: [UInt8], port: Int, from source: String) -> Answer {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { return Answer() }
            defer { close(fd) }
            var limit = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            var remote = sockaddr_in()
            remote.sin_family = sa_family_t(AF_INET)
            remote.sin_port = in_port_t(UInt16(port).bigEndian)
            remote.sin_addr.s_addr = inet_addr("127.0.0.1")
            let size = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) }
            }
            let connected = withUnsafePointer(to: &remote) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, size) }
            }
            guard bound == 0, connected == 0 else { return Answer() }
            var sent = 0
            while sent < request.count {
                let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard n > 0 else { return Answer() }
                sent += n
            }
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 16 * 1024)
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard n > 0 else { break }
                received += buffer.prefix(n)
            }
            let text = String(decoding: received, as: UTF8.self)
            guard let split = text.range(of: "\r\n\r\n") else { return Answer() }
            let lines = text[..<split.lowerBound].split(separator: "\r\n")
            var answer = Answer()
            answer.status = lines.first.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                answer.headers[line[..<colon].lowercased()] = line[line.index(after: colon)...]
                    .trimmingCharacters(in: .whitespaces)
            }
            answer.body = String(text[split.upperBound...])
            return answer
        }
    }

    static func form(_ text: String) -> [UInt8] { Array(text.utf8) }
    static let formType = ["Content-Type": "application/x-www-form-urlencoded"]

    @Test func theFirstOpenIsKeptWithItsClientAndReloadsOnlyCount() async throws {
        let rig = try await Rig()
        let first = await rig.send("GET", "/p/\(rig.token)", headers: ["User-Agent": Self.wechatUA])
        #expect(first.status == 200)
        #expect(first.body.contains("action=\"\(rig.token)/feedback\"") && first.body.contains("我有问题要咨询"))
        #expect(first.headers["content-security-policy"]?.contains("form-action 'self'") == true)
        var opens = try await rig.opens
        #expect(opens.all.opened == 1 && opens.views == 1 && opens.byClientClass == [.wechat: 1])

        // A reload from a desktop browser counts; the first open's class stays.
        #expect(await rig.send("GET", "/p/\(rig.token)", headers: ["User-Agent": Self.desktopUA]).status == 200)
        opens = try await rig.opens
        #expect(opens.all.opened == 1 && opens.views == 2 && opens.byClientClass == [.wechat: 1])

        // HEAD, an unknown token, a bad path and a GET of the form's address record nothing.
        #expect(await rig.send("HEAD", "/p/\(rig.token)").status == 200)
        #expect(await rig.send("GET", "/p/\(rig.other)").status == 404)
        #expect(await rig.send("GET", "/p/\(rig.token)x").status == 404)
        #expect(await rig.send("GET", "/p/\(rig.token)/feedback").status == 405)
        opens = try await rig.opens
        #expect(opens.all.opened == 1 && opens.views == 2)
        let id = rig.campaign.id
        #expect(try await rig.store.run { try $0.openedCount(campaignID: id) } == 1)
        await rig.stop()
    }

    @Test(arguments: [
        (Self.wechatUA, ClientClass.wechat),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36", .mobile),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15", .mobile),
        ("Mozilla/5.0 (Linux; Android 14; SM-X700) AppleWebKit/537.36 Chrome/120.0 Safari/537.36", .mobile),
        (Self.desktopUA, .desktop),
        ("curl/8.5.0", .desktop),
    ])
    func userAgentsAreClassed(userAgent: String, expected: ClientClass) {
        #expect(ClientClass(userAgent: userAgent) == expected)
        #expect(ClientClass(userAgent: nil) == .desktop)
    }

    @Test func feedbackIsStoredAsAReplyAndBadFormsAreRefused() async throws {
        let rig = try await Rig()
        let path = "/p/\(rig.token)/feedback"
        // 请问 如何申报？ with a space as '+', a literal '+' as %2B and a CRLF.
        let body = "kind=question&text=%E8%AF%B7%E9%97%AE+%E5%A6%82%E4%BD%95%E7%94%B3%E6%8A%A5%EF%BC%9F%0D%0A1%2B1"
        let thanks = await rig.send("POST", path, headers: Self.formType, body: Self.form(body))
        #expect(thanks.status == 200, "\(thanks.body)")
        #expect(thanks.body.contains("感谢您的反馈") && thanks.body.contains("href=\"../\(rig.token)\""))
        // The same form posted again (a reload of the answer) is kept once.
        #expect(await rig.send("POST", path, headers: Self.formType, body: Self.form(body)).status == 200)
        let notUseful = await rig.send(
            "POST", path, headers: ["Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"],
            body: Self.form("text=&kind=not_useful"))
        #expect(notUseful.status == 200)

        let id = rig.campaign.id
        let replies = try await rig.store.run { try $0.replies(campaignID: id) }
        #expect(replies.map(\.kind) == [.pageQuestion, .pageNotUseful])
        #expect(replies.first?.text == "请问 如何申报？\n1+1")
        #expect(replies.allSatisfy { $0.gateway == "page" && !$0.optOut && $0.creditCode == "91350100M000100Y43" })
        #expect(replies.first?.sender == "13800138000" && replies.first?.channel == .sms)
        #expect(try await rig.store.run { try $0.suppressionList() }.isEmpty, "not_useful is no opt-out")

        let long = "kind=question&text=" + String(repeating: "%E5%95%8A", count: 501)
        let refusals: [(String, [String: String], String, Int)] = [
            ("empty question", Self.formType, "kind=question&text=+%20", 400),
            ("no kind", Self.formType, "text=hello", 400),
            ("unknown kind", Self.formType, "kind=unsubscribe&text=x", 400),
            ("unknown field", Self.formType, "kind=question&text=x&phone=1", 400),
            ("kind twice", Self.formType, "kind=question&kind=not_useful&text=x", 400),
            ("bad escape", Self.formType, "kind=question&text=%zz", 400),
            ("cut escape", Self.formType, "kind=question&text=%E", 400),
            ("not UTF-8", Self.formType, "kind=question&text=%FF%FE", 400),
            ("NUL", Self.formType, "kind=question&text=a%00b", 400),
            ("too long", Self.formType, long, 400),
            ("not a form", ["Content-Type": "text/plain"], "kind=question&text=x", 415),
            ("no type", [:], "kind=question&text=x", 415),
            ("too large", Self.formType, "kind=question&text=" + String(repeating: "a", count: 6000), 413),
        ]
        for (name, headers, body, status) in refusals {
            let answer = await rig.send("POST", path, headers: headers, body: Self.form(body))
            #expect(answer.status == status, "\(name): \(answer.status) \(answer.body)")
        }
        #expect(
            await rig.send("POST", "/p/\(rig.other)/feedback", headers: Self.formType, body: Self.form(body)).status
                == 404)
        #expect(await rig.send("PUT", path, headers: Self.formType, body: Self.form(body)).status == 405)
        #expect(try await rig.store.run { try $0.replies(campaignID: id) }.count == 2)
        // Still serving.
        #expect(await rig.send("GET", "/p/\(rig.token)").status == 200)
        await rig.stop()
    }

    @Test func anAddressOverItsBurstGets429AndAnotherAddressDoesNot() async throws {
        // A clock that does not move: no token comes back during the test.
        let instant = Date()
        let rig = try await Rig(ratePerMinute: 30, burst: 10, now: { instant })
        for n in 0..<10 {
            let path = n.isMultiple(of: 2) ? "/p/\(rig.token)" : "/p/\(rig.other)"  // 404s count too
            let answer = await rig.send("GET", path)
            #expect(answer.status == (n.isMultiple(of: 2) ? 200 : 404), "request \(n)")
        }
        let limited = await rig.send("GET", "/p/\(rig.token)")
        #expect(limited.status == 429)
        #expect(limited.headers["retry-after"] == "2", "30 a minute: a token every 2 s")
        #expect(await rig.send("GET", "/p/\(rig.token)", from: "127.0.0.2").status == 200)
        #expect(try await rig.opens.views == 6, "a refused request counts no open")
        await rig.stop()
    }

    @Test func bucketsRefillAndIdleOnesAreForgotten() {
        let start = Date()
        let limiter = AddressRateLimiter(settings: .init(perMinute: 60, burst: 2, maxAddresses: 4), now: start)
        #expect(limiter.admit("192.0.2.1", now: start) == .allowed)
        #expect(limiter.admit("192.0.2.1", now: start) == .allowed)
        #expect(limiter.admit("192.0.2.1", now: start) == .limited(retryAfter: 1, firstRefusal: true))
        #expect(limiter.admit("192.0.2.1", now: start) == .limited(retryAfter: 1, firstRefusal: false))
        #expect(limiter.admit("192.0.2.1", now: start + 1) == .allowed, "one token a second")
        // One IPv6 subscriber's /64 is one bucket.
        #expect(limiter.admit("2001:db8:1:2::1", now: start) == .allowed)
        #expect(limiter.admit("2001:db8:1:2::ffff", now: start) == .allowed)
        #expect(limiter.admit("2001:db8:1:2:3::9", now: start) != .allowed)
        #expect(limiter.admit("2001:db8:1:3::1", now: start) == .allowed)
        // Many addresses: the table stays within its bound, dropping idle (full) buckets first.
        for n in 0..<50 { _ = limiter.admit("198.51.100.\(n)", now: start + 10 + Double(n)) }
        #expect(limiter.count <= 4)
        #expect(AddressRateLimiter.masked("203.0.113.45") == "203.0.*.*")
        #expect(!AddressRateLimiter.masked("2001:db8:1:2::1").contains("1:2"))
    }

    @Test func behindATrustedProxyTheForwardedAddressCounts() {
        let request = HTTPServerRequest(
            method: "GET", path: "/", headers: [("x-forwarded-for", "198.51.100.7, 203.0.113.9")],
            remoteAddress: "127.0.0.1")
        #expect(LandingService.clientAddress(request, trustedProxies: []) == "127.0.0.1")
        #expect(LandingService.clientAddress(request, trustedProxies: ["127.0.0.1"]) == "203.0.113.9")
        var forged = request
        forged.headers = [("x-forwarded-for", "not-an-address")]
        #expect(LandingService.clientAddress(forged, trustedProxies: ["127.0.0.1"]) == "127.0.0.1")
    }
}
