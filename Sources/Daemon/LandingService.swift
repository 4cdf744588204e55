import Config
import Foundation
import HTTPServer
import Landing
import Messaging
import Ops
import Planning
import Registry
import Rules
import Storage

/// The package page listener (`landing.listen`) as a service: `GET /p/<token>` answers the page
/// of the message whose link carries the token; anything else is a plain 404.
///
/// A server of its own, apart from the receipts listener, with `HTTPServer`'s defaults for a
/// listener facing the Internet (connection limits, idle timeout); it reads nothing but the path.
final class LandingService: Service {
    let server: HTTPServer?

    /// Starts listening when `landing.listen` is configured.
    convenience init(context: DaemonContext) throws {
        guard let listen = context.inputs.configuration.landing.listen else {
            self.init(server: nil)
            return
        }
        try self.init(
            configuration: .init(host: listen.host, port: listen.port, maxBodyBytes: 0), store: context.store,
            inputs: { context.inputs }, health: context.health, log: context.log, now: context.now)
    }

    /// Starts a listener on `configuration` answering from `store` and the current `inputs`.
    convenience init(
        configuration: HTTPServer.Configuration, store: StoreWorker,
        inputs: @escaping @Sendable () -> DaemonContext.Inputs, health: StoreHealth, log: Log,
        now: @escaping @Sendable () -> Date = { Date() }
    ) throws {
        let server = HTTPServer(configuration: configuration) { request in
            await Self.respond(to: request, store: store, inputs: inputs(), health: health, log: log, now: now())
        }
        try server.start()
        self.init(server: server)
    }

    private init(server: HTTPServer?) {
        self.server = server
    }

    var port: Int? { server?.port }

    func run() async throws {
        // Serves on libmicrohttpd's threads; this task only waits to be cancelled.
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
        await server?.stop(draining: .seconds(2))
    }

    // MARK: Answering

    static func respond(
        to request: HTTPServerRequest, store: StoreWorker, inputs: DaemonContext.Inputs, health: StoreHealth, log: Log,
        now: Date
    ) async -> HTTPServerResponse {
        guard request.method == "GET" || request.method == "HEAD" else {
            var response = HTTPServerResponse.text("method not allowed\n", status: 405)
            response.headers.append(("Allow", "GET, HEAD"))
            return response
        }
        // Only what could be a token reaches the store.
        let token = request.path.hasPrefix("/p/") ? String(request.path.dropFirst(3)) : ""
        guard isToken(token) else { return notFound }
        let found: (LinkTarget, Enterprise, CampaignRecord)?
        do {
            found = try await store.run { store in
                guard let target = try store.linkTarget(token: token),
                    let enterprise = try store.enterprise(creditCode: target.creditCode),
                    let campaign = try store.campaign(id: target.campaignID)
                else { return nil }
                return (target, enterprise, campaign)
            }
        } catch {
            if health.failed(error) { log.error("the store cannot be read", ["error": "\(error)"]) }
            return .text("暂时无法访问，请稍后再试。\n", status: 503)
        }
        guard let (target, enterprise, campaign) = found, let date = LocalDate(iso: campaign.spec.campaignDate) else {
            return notFound
        }
        // Expired: `landing.ttl_days` after the campaign started, the link names nothing any more.
        let ttl = TimeInterval(inputs.configuration.landing.ttlDays) * 86_400
        guard now.timeIntervalSince(campaign.spec.startAt) <= ttl else { return notFound }
        // The policies its message carried, as the profiles read now.
        let policies = inputs.catalog.profiles(ids: target.policyIDs)
        let page = PackagePage(bureau: inputs.renderer.templates.sms.signature)
            .render(enterprise: enterprise, policies: policies, date: date)
        return HTTPServerResponse(status: 200, headers: pageHeaders, body: Array(page.utf8))
    }

    /// `tokenLength` base62 characters.
    static func isToken(_ text: String) -> Bool {
        text.utf8.count == PackageLink.tokenLength
            && text.utf8.allSatisfy {
                (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0)
            }
    }

    /// The page fetches nothing, is framed by nobody and is kept by no shared cache.
    static let pageHeaders: [(name: String, value: String)] = [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Cache-Control", "private, no-store"),
        ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
    ]

    static var notFound: HTTPServerResponse {
        var response = HTTPServerResponse.text("链接无效或已过期。咨询请拨打12366。\n", status: 404)
        response.headers.append(("Cache-Control", "no-store"))
        return response
    }
}
