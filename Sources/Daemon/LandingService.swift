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
/// of the message whose link carries the token and counts the open; `POST /p/<token>/feedback`
/// takes the page's feedback form; anything else is a plain 404.
///
/// A server of its own, apart from the receipts listener, with `HTTPServer`'s defaults for a
/// listener facing the Internet (connection limits, idle timeout), bodies of at most
/// ``maxBodyBytes``, and a token bucket per client address in front of every route.
///
/// Opens and feedback are written through the ``StoreWorker``, in the same hop as the lookup, not
/// through the dispatcher's `OutboxWriter`: that writer's one thread claims and records every send,
/// so an open queued there would wait behind a claim over the whole outbox and take a place in
/// the dispatcher's batches. The worker's connection is the daemon's general one (receipts,
/// replies, campaign control); an open costs it one indexed upsert in a short transaction.
final class LandingService: Service {
    /// The largest body accepted: the feedback form's 500 characters, percent-encoded (up to 9
    /// bytes each), fit in 4.5 KiB, and a longer text is refused anyway.
    static let maxBodyBytes = 5 * 1024

    let server: HTTPServer?

    /// Starts listening when `landing.listen` is configured.
    convenience init(context: DaemonContext) throws {
        guard let listen = context.inputs.configuration.landing.listen else {
            self.init(server: nil)
            return
        }
        try self.init(
            configuration: .init(host: listen.host, port: listen.port, maxBodyBytes: Self.maxBodyBytes),
            store: context.store, inputs: { context.inputs }, health: context.health, log: context.log,
            now: context.now)
    }

    /// Starts a listener on `configuration` answering from `store` and the current `inputs`.
    ///
    /// The rate limit is read from `inputs` once, here: a reload does not change it.
    convenience init(
        configuration: HTTPServer.Configuration, store: StoreWorker,
        inputs: @escaping @Sendable () -> DaemonContext.Inputs, health: StoreHealth, log: Log,
        now: @escaping @Sendable () -> Date = { Date() }
    ) throws {
        let landing = inputs().configuration.landing
        let limiter = AddressRateLimiter(
            settings: .init(perMinute: landing.ratePerMinute, burst: landing.rateBurst), now: now())
        let server = HTTPServer(configuration: configuration) { request in
            let inputs = inputs()
            let at = now()
            if let refusal = Self.limit(request, limiter: limiter, inputs: inputs, log: log, now: at) {
                return refusal
            }
            return await Self.respond(to: request, store: store, inputs: inputs, health: health, log: log, now: at)
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

    // MARK: Rate limit

    /// `429` when the client's bucket is empty, else nil.
    static func limit(
        _ request: HTTPServerRequest, limiter: AddressRateLimiter, inputs: DaemonContext.Inputs, log: Log, now: Date
    ) -> HTTPServerResponse? {
        guard let address = clientAddress(request, trustedProxies: inputs.configuration.landing.trustedProxies),
            case .limited(let retryAfter, let first) = limiter.admit(address, now: now)
        else { return nil }
        if first { log.notice("landing requests limited", ["client": AddressRateLimiter.masked(address)]) }
        var response = HTTPServerResponse.text("请求过于频繁，请稍后再试。\n", status: 429)
        response.headers.append(("Retry-After", String(retryAfter)))
        response.headers.append(("Cache-Control", "no-store"))
        return response
    }

    /// The address the limit counts: the peer's, or behind a trusted proxy, the last address that
    /// proxy appended to `X-Forwarded-For` (earlier ones are the client's to write).
    static func clientAddress(_ request: HTTPServerRequest, trustedProxies: [String]) -> String? {
        guard let peer = request.remoteAddress else { return nil }
        guard trustedProxies.contains(peer),
            let forwarded = request.headers.last(where: { $0.name == "x-forwarded-for" })?.value,
            let last = forwarded.split(separator: ",").last,
            let address = LandingSettings.canonicalAddress(last.trimmingCharacters(in: .whitespaces))
        else { return peer }
        return address
    }

    // MARK: Answering

    /// What a path names.
    enum Route: Equatable {
        case page(token: String)
        case feedback(token: String)

        /// `/p/<token>` or `/p/<token>/feedback` with a well-formed token, else nil.
        init?(path: String) {
            guard path.hasPrefix("/p/") else { return nil }
            let rest = path.dropFirst(3)
            if rest.hasSuffix("/feedback") {
                let token = String(rest.dropLast("/feedback".count))
                guard LandingService.isToken(token) else { return nil }
                self = .feedback(token: token)
            } else {
                guard LandingService.isToken(String(rest)) else { return nil }
                self = .page(token: String(rest))
            }
        }
    }

    static func respond(
        to request: HTTPServerRequest, store: StoreWorker, inputs: DaemonContext.Inputs, health: StoreHealth, log: Log,
        now: Date
    ) async -> HTTPServerResponse {
        // Only what could be a token reaches the store.
        switch Route(path: request.path) {
        case nil:
            return notFound
        case .page(let token):
            guard request.method == "GET" || request.method == "HEAD" else { return notAllowed("GET, HEAD") }
            return await page(
                token: token, counted: request.method == "GET",
                client: ClientClass(userAgent: request.header("user-agent")),
                store: store, inputs: inputs, health: health, log: log, now: now)
        case .feedback(let token):
            guard request.method == "POST" else { return notAllowed("POST") }
            return await feedback(
                token: token, request: request, store: store, inputs: inputs, health: health, log: log, now: now)
        }
    }

    /// The page, after counting the open when `counted` (a GET; a HEAD shows nothing to anyone).
    /// A failed count is logged and the page served all the same.
    private static func page(
        token: String, counted: Bool, client: ClientClass, store: StoreWorker, inputs: DaemonContext.Inputs,
        health: StoreHealth, log: Log, now: Date
    ) async -> HTTPServerResponse {
        let ttl = ttl(inputs)
        let found: (LinkTarget, Enterprise, (any Error)?)?
        do {
            found = try await store.run { store in
                guard let target = try store.linkTarget(token: token), isLive(target, ttl: ttl, now: now),
                    let enterprise = try store.enterprise(creditCode: target.creditCode)
                else { return nil }
                guard counted else { return (target, enterprise, nil) }
                do {
                    try store.recordOpen(
                        messageID: target.messageID, campaignID: target.campaignID, client: client, at: now)
                    return (target, enterprise, nil)
                } catch {
                    return (target, enterprise, error)
                }
            }
        } catch {
            return unavailable(error, health: health, log: log)
        }
        guard let (target, enterprise, countFailure) = found, let date = LocalDate(iso: target.campaignDate) else {
            return notFound
        }
        if let countFailure, health.failed(countFailure) {
            log.error("a page open could not be counted", ["error": "\(countFailure)"])
        }
        // The policies its message carried, as the profiles read now.
        let policies = inputs.catalog.profiles(ids: target.policyIDs)
        var renderer = PackagePage(bureau: inputs.renderer.templates.sms.signature)
        renderer.feedbackAction = "\(token)/feedback"
        let page = renderer.render(enterprise: enterprise, policies: policies, date: date)
        return HTTPServerResponse(status: 200, headers: pageHeaders, body: Array(page.utf8))
    }

    /// Stores the page's feedback form as a reply to the link's message and thanks the reader.
    private static func feedback(
        token: String, request: HTTPServerRequest, store: StoreWorker, inputs: DaemonContext.Inputs,
        health: StoreHealth, log: Log, now: Date
    ) async -> HTTPServerResponse {
        let type = request.header("content-type")?.split(separator: ";").first?
            .trimmingCharacters(in: .whitespaces).lowercased()
        guard type == "application/x-www-form-urlencoded" else {
            return .text("请通过页面上的表单提交。\n", status: 415)
        }
        let form: FeedbackForm
        do {
            form = try FeedbackForm(body: request.body)
        } catch {
            let text =
                switch error {
                case .empty: "请填写您要咨询的问题。\n"
                case .tooLong: "留言不能超过\(FeedbackForm.maxCharacters)字。\n"
                case .badEncoding, .badField: "无法识别的提交内容。\n"
                }
            return .text(text, status: 400)
        }
        let feedback = PageFeedback(
            kind: form.kind == .question ? .pageQuestion : .pageNotUseful, text: form.text,
            raw: String(decoding: request.body, as: UTF8.self))
        let ttl = ttl(inputs)
        let stored: (target: LinkTarget, new: Bool)?
        do {
            stored = try await store.run { store in
                guard let target = try store.linkTarget(token: token), isLive(target, ttl: ttl, now: now) else {
                    return nil
                }
                return (target, try store.recordPageFeedback(messageID: target.messageID, feedback, at: now))
            }
        } catch {
            return unavailable(error, health: health, log: log)
        }
        guard let stored else { return notFound }
        if stored.new {
            log.info(
                "page feedback received",
                [
                    "kind": feedback.kind.rawValue, "campaign": stored.target.campaignID,
                    "message": stored.target.messageID,
                ])
        }
        let page = PackagePage(bureau: inputs.renderer.templates.sms.signature)
            .feedbackReceived(form.kind, back: "../\(token)")
        return HTTPServerResponse(status: 200, headers: pageHeaders, body: Array(page.utf8))
    }

    /// `landing.ttl_days` in seconds.
    private static func ttl(_ inputs: DaemonContext.Inputs) -> TimeInterval {
        TimeInterval(inputs.configuration.landing.ttlDays) * 86_400
    }

    /// Expired `landing.ttl_days` after the campaign started: the link names nothing any more.
    private static func isLive(_ target: LinkTarget, ttl: TimeInterval, now: Date) -> Bool {
        now.timeIntervalSince(target.campaignStartAt) <= ttl
    }

    private static func unavailable(_ error: any Error, health: StoreHealth, log: Log) -> HTTPServerResponse {
        if health.failed(error) { log.error("the store cannot be used", ["error": "\(error)"]) }
        return .text("暂时无法访问，请稍后再试。\n", status: 503)
    }

    private static func notAllowed(_ allow: String) -> HTTPServerResponse {
        var response = HTTPServerResponse.text("method not allowed\n", status: 405)
        response.headers.append(("Allow", allow))
        return response
    }

    /// `tokenLength` base62 characters.
    static func isToken(_ text: String) -> Bool {
        text.utf8.count == PackageLink.tokenLength
            && text.utf8.allSatisfy {
                (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0)
            }
    }

    /// The page fetches nothing, is framed by nobody, is kept by no shared cache, and its form
    /// posts only back to this listener.
    static let pageHeaders: [(name: String, value: String)] = [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Cache-Control", "private, no-store"),
        (
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
        ),
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
