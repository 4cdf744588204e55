import Foundation
import HTTPServer
import Kit
import Synchronization

/// The HTTP endpoint providers push receipts to.
///
/// Routes:
/// - `POST /receipts/{gateway}` (or `/receipts/{gateway}/{token}` with a path token): parses the
///   push, hands the new receipts to the consumer, and answers the provider's success body only
///   after the consumer returned. A consumer failure answers `500` so the provider pushes again.
/// - `GET /receipts/{gateway}` for a WeChat gateway: the URL verification handshake, echoing
///   `echostr` after the signature check.
/// - `POST /inbound/{gateway}/{token}` (or header token) for an SMS gateway: the provider's push
///   of replies (``InboundParser``), handed to the `inbound` consumer and answered like receipts.
///   WeChat replies and unsubscribes arrive on the `/receipts/{gateway}` server URL with the
///   template receipts (``WeChatReceiptParser/parseVerifiedPush(_:gateway:now:)``). Without an
///   `inbound` consumer, `/inbound/` is `404` and WeChat's inbound events are acknowledged unread.
/// - Anything else goes to the optional `routes` closure (`/metrics`, `/healthz`), else `404`.
///
/// Statuses: malformed or unsupported body `400` (a field over its provider's cap, an implausible
/// time or number included), missing credentials `401`, wrong credentials or
/// stale WeChat timestamp `403`, unknown gateway `404`, wrong method `405`, too many receipts or
/// too large a body `413` (the latter answered by the server before the listener sees it).
///
/// Re-pushed receipts (same ``Receipt/dedupeKey`` for the same gateway) among the last
/// ``Configuration/dedupeCapacity`` are acknowledged without reaching the consumer. Two identical
/// pushes racing each other may both reach it; the consumer must be idempotent anyway.
///
/// A signed WeChat push binds its `(timestamp, nonce)` to its body for the freshness window
/// (``Configuration/replayCapacity`` pairs at most): the same pair with another body is refused
/// `403` (``Rejection/replayed``), since the signature does not cover the body; the same pair with
/// the same body is WeChat retrying and, once the first was stored, is answered `success`
/// without being parsed again (``Stats/repeatedPushes``).
///
/// The listener is meant to face the Internet: its server's defaults (`HTTPServer.Configuration`)
/// close a connection idle for 10 s, hold at most 32 connections per client address and 1024 in
/// all, and refuse ambiguous body framing, so a crowd of slow clients from one address cannot
/// starve the providers' pushes or `/healthz`.
///
/// - Important: call ``stop()`` or ``stop(draining:)`` when done. ``stop()`` closes the connection of
///   a push still being handled without an answer (the provider pushes it again);
///   ``stop(draining:)`` first lets pushes already received be answered.
public final class ReceiptListener: Sendable {
    /// Receives the new receipts of one push; throwing makes the provider push again.
    public typealias Consumer = @Sendable ([Receipt]) async throws -> Void
    /// Receives the new replies and unsubscribes of one push; throwing makes the provider push again.
    public typealias InboundConsumer = @Sendable ([InboundMessage]) async throws -> Void
    /// Extra routes served on the same port; nil means "not mine" (`404`).
    public typealias Routes = @Sendable (HTTPServerRequest) async throws -> HTTPServerResponse?

    private let core: ListenerCore
    private let server: HTTPServer

    /// Creates a stopped listener.
    ///
    /// - Parameters:
    ///   - configuration: address, limits and gateways; checked by ``start()``.
    ///   - clock: the current time, for WeChat's timestamp window and the plausibility of pushed
    ///     times (none may be more than a day past it).
    ///   - routes: extra routes for paths outside `/receipts/`.
    ///   - inbound: stores replies and unsubscribes; nil serves no `/inbound/` route.
    ///   - consumer: stores the receipts.
    public init(
        configuration: Configuration,
        clock: @escaping @Sendable () -> Date = { Date() },
        routes: Routes? = nil,
        inbound: InboundConsumer? = nil,
        consumer: @escaping Consumer
    ) {
        let core = ListenerCore(
            configuration: configuration, clock: clock, routes: routes, inbound: inbound, consumer: consumer)
        self.core = core
        self.server = HTTPServer(configuration: configuration.server) { request in await core.handle(request) }
    }

    /// Validates the configuration, binds and starts serving.
    ///
    /// - Throws: ``ConfigurationError`` or `HTTPServerError`.
    public func start() throws {
        try core.configuration.validate()
        try server.start()
    }

    /// The bound port while running, else `0`.
    public var port: Int { server.port }

    /// Stops serving. Idempotent.
    ///
    /// A push whose consumer is still running, or whose answer is not yet written, gets its
    /// connection closed without an answer.
    public func stop() { server.stop() }

    /// Lets the pushes already received be answered (consumer returned, answer written) for at
    /// most `timeout`, then stops. Idempotent.
    ///
    /// A caller that reacts to a receipt its consumer was handed and then shuts down calls this,
    /// so that the provider gets its acknowledgement rather than a closed connection.
    public func stop(draining timeout: Duration) async { await server.stop(draining: timeout) }

    /// Counters since creation.
    public var stats: Stats { core.state.withLock { $0.stats } }

    /// Answers one request as the listener would; lets the daemon mount the listener on a server it owns.
    public func handle(_ request: HTTPServerRequest) async -> HTTPServerResponse { await core.handle(request) }
}

/// The listener's configuration and mutable state, shared with the server's handler.
final class ListenerCore: Sendable {
    struct State: ~Copyable {
        var stats = ReceiptListener.Stats()
        var recent: RecentKeys
        var replays: WeChatReplayCache
    }

    let configuration: ReceiptListener.Configuration
    let clock: @Sendable () -> Date
    let routes: ReceiptListener.Routes?
    let inbound: ReceiptListener.InboundConsumer?
    let consumer: ReceiptListener.Consumer
    let state: Mutex<State>

    init(
        configuration: ReceiptListener.Configuration, clock: @escaping @Sendable () -> Date,
        routes: ReceiptListener.Routes?, inbound: ReceiptListener.InboundConsumer?,
        consumer: @escaping ReceiptListener.Consumer
    ) {
        self.configuration = configuration
        self.clock = clock
        self.routes = routes
        self.inbound = inbound
        self.consumer = consumer
        self.state = Mutex(
            State(
                recent: RecentKeys(capacity: max(1, configuration.dedupeCapacity)),
                replays: WeChatReplayCache(capacity: configuration.replayCapacity)))
    }

    func handle(_ request: HTTPServerRequest) async -> HTTPServerResponse {
        let segments = request.path.split(separator: "/", omittingEmptySubsequences: false)
        let isInbound = segments.count >= 3 && segments[1] == "inbound" && inbound != nil
        guard segments.count >= 3, segments[0].isEmpty, segments[1] == "receipts" || isInbound else {
            if let routes, let response = try? await routes(request) { return response }
            return .notFound
        }
        guard segments.count <= 4, let gateway = configuration.gateways[String(segments[2])],
            !(isInbound && gateway.kind == .wechat)
        else {
            return reject(.unknownGateway, .text("unknown receipt gateway\n", status: 404))
        }
        let name = String(segments[2])
        let pathToken = segments.count == 4 ? String(segments[3]) : nil
        if isInbound {
            guard request.method == "POST" else {
                var response = HTTPServerResponse.text("method not allowed\n", status: 405)
                response.headers.append(("Allow", "POST"))
                return reject(.methodNotAllowed, response)
            }
            if let refusal = authenticate(request, gateway: gateway, pathToken: pathToken) { return refusal }
            do {
                return await deliver(
                    inbound: try parseInbound(request, kind: gateway.kind, name: name), kind: gateway.kind)
            } catch {
                return reject(error)
            }
        }

        switch (request.method, gateway.kind) {
        case ("POST", _), ("GET", .wechat): break
        default:
            var response = HTTPServerResponse.text("method not allowed\n", status: 405)
            response.headers.append(("Allow", gateway.kind == .wechat ? "GET, POST" : "POST"))
            return reject(.methodNotAllowed, response)
        }

        if let refusal = authenticate(request, gateway: gateway, pathToken: pathToken) { return refusal }

        if request.method == "GET" {
            guard let echo = request.queryValue("echostr") else {
                return reject(.malformed, .text("missing echostr\n", status: 400))
            }
            return .text(echo)
        }

        var replayKey: String?
        if case .wechatSignature(_, let maxAge) = gateway.authentication {
            switch admitSigned(request, gateway: name, maxAge: maxAge) {
            case .process(let key): replayKey = key
            case .alreadyStored:
                state.withLock { $0.stats.repeatedPushes += 1 }
                return .text(WeChatReceiptParser.successReply)
            case .refuse(let response): return response
            }
        }

        let receipts: [Receipt]
        do {
            if gateway.kind == .wechat {
                // One server URL for template receipts, unsubscribes and followers' texts.
                switch try parseWeChat(request, name: name) {
                case .receipts(let parsed): receipts = parsed
                case .inbound(let message):
                    let response = await deliver(inbound: [message], kind: .wechat)
                    if let replayKey, response.status == 200 { state.withLock { $0.replays.markStored(replayKey) } }
                    return response
                case .ignored: receipts = []
                }
            } else {
                receipts = try parse(request, kind: gateway.kind, name: name)
            }
        } catch {
            return reject(error)
        }
        return await deliver(receipts, gateway: name, kind: gateway.kind, replayKey: replayKey)
    }

    private func parseWeChat(_ request: HTTPServerRequest, name: String) throws(ReceiptError) -> WeChatPush {
        // The signature was checked in `authenticate`.
        if request.queryValue("encrypt_type") == "aes" {
            throw ReceiptError(.unsupported, "WeChat safe mode is not supported")
        }
        return try WeChatReceiptParser.parseVerifiedPush(request.body, gateway: name, now: clock())
    }

    private func parseInbound(
        _ request: HTTPServerRequest, kind: GatewayKind, name: String
    ) throws(ReceiptError) -> [InboundMessage] {
        let now = clock()
        let limit = configuration.maxReceiptsPerPush
        switch kind {
        case .aliyun: return try InboundParser.aliyun(request.body, gateway: name, now: now, maxItems: limit)
        case .tencent: return try InboundParser.tencent(request.body, gateway: name, now: now, maxItems: limit)
        case .generic: return try InboundParser.generic(request.body, gateway: name, now: now, maxItems: limit)
        case .wechat: throw ReceiptError(.unsupported, "WeChat pushes inbound events to its server URL")
        }
    }

    /// Hands new replies to the inbound consumer (re-pushes are acknowledged, not handed on).
    private func deliver(inbound messages: [InboundMessage], kind: GatewayKind) async -> HTTPServerResponse {
        let fresh: [InboundMessage] = state.withLock { state in
            var seen = Set<String>()
            let fresh = messages.filter { message in
                let key = RecentKeys.key(gateway: "inbound\u{0}" + message.gateway, message.dedupeKey)
                return !state.recent.contains(key) && seen.insert(key).inserted
            }
            state.stats.inboundReceived += messages.count
            state.stats.inboundDuplicates += messages.count - fresh.count
            return fresh
        }
        if !fresh.isEmpty {
            guard let inbound else { return success(kind) }
            do {
                try await inbound(fresh)
            } catch {
                return reject(.consumerFailed, .text("replies not stored, push again\n", status: 500))
            }
        }
        state.withLock { state in
            for message in fresh {
                state.recent.insert(RecentKeys.key(gateway: "inbound\u{0}" + message.gateway, message.dedupeKey))
            }
            state.stats.inboundAccepted += fresh.count
        }
        return success(kind)
    }

    private func success(_ kind: GatewayKind) -> HTTPServerResponse {
        switch kind {
        case .aliyun: .json(AliyunReceiptParser.successReply)
        case .tencent: .json(TencentReceiptParser.successReply)
        case .generic: .json(GenericReceiptParser.successReply)
        case .wechat: .text(WeChatReceiptParser.successReply)
        }
    }

    private enum Admission {
        case process(key: String)
        case alreadyStored
        case refuse(HTTPServerResponse)
    }

    /// Binds a signed WeChat push's `(timestamp, nonce)` to its body (see ``ReceiptListener``).
    private func admitSigned(_ request: HTTPServerRequest, gateway: String, maxAge: Duration?) -> Admission {
        // Both are covered by the verified signature, so only WeChat chose them; the caps only
        // bound the cache's memory.
        guard let timestamp = request.queryValue("timestamp"), let nonce = request.queryValue("nonce"),
            timestamp.utf8.count <= 32, nonce.utf8.count <= 128,
            let digest = try? Digest.sha256(request.body)
        else { return .refuse(reject(.malformed, .text("malformed receipt\n", status: 400))) }
        let now = clock()
        let window = maxAge ?? WeChatReceiptParser.defaultMaxAge
        let seconds = window.seconds
        // The signature check refuses the timestamp once it is `maxAge` old: remember it until then.
        let signedAt = maxAge == nil ? nil : Int64(timestamp).map { Date(timeIntervalSince1970: Double($0)) }
        let expires = (signedAt ?? now).addingTimeInterval(seconds)
        let key = WeChatReplayCache.key(gateway: gateway, timestamp: timestamp, nonce: nonce)
        let verdict = state.withLock { $0.replays.admit(key: key, digest: digest, expires: expires, now: now) }
        switch verdict {
        case .process: return .process(key: key)
        case .alreadyStored: return .alreadyStored
        case .forged: return .refuse(reject(.replayed, .text("forbidden\n", status: 403)))
        }
    }

    /// nil when the request may proceed, else the refusal.
    private func authenticate(
        _ request: HTTPServerRequest, gateway: ReceiptListener.Gateway, pathToken: String?
    ) -> HTTPServerResponse? {
        let unauthorized = HTTPServerResponse.text("unauthorized\n", status: 401)
        let forbidden = HTTPServerResponse.text("forbidden\n", status: 403)
        switch gateway.authentication {
        case .pathToken(let token):
            guard let pathToken, !pathToken.isEmpty else { return reject(.unauthenticated, unauthorized) }
            return ConstantTime.equals(pathToken, token) ? nil : reject(.unauthenticated, forbidden)
        case .headerToken(let token):
            guard pathToken == nil else {
                return reject(.unknownGateway, .text("unknown receipt gateway\n", status: 404))
            }
            guard let presented = request.header(configuration.tokenHeader) else {
                return reject(.unauthenticated, unauthorized)
            }
            return ConstantTime.equals(presented, token) ? nil : reject(.unauthenticated, forbidden)
        case .wechatSignature(let token, let maxAge):
            guard pathToken == nil else {
                return reject(.unknownGateway, .text("unknown receipt gateway\n", status: 404))
            }
            guard request.queryValue("signature") != nil, request.queryValue("timestamp") != nil,
                request.queryValue("nonce") != nil
            else { return reject(.unauthenticated, unauthorized) }
            do {
                try WeChatSignature.verify(query: request.query, token: token, now: clock(), maxAge: maxAge)
                return nil
            } catch {
                return reject(.unauthenticated, forbidden)
            }
        }
    }

    private func parse(
        _ request: HTTPServerRequest, kind: GatewayKind, name: String
    ) throws(ReceiptError) -> [Receipt] {
        guard request.body.count <= configuration.server.maxBodyBytes else {
            throw ReceiptError(.tooLarge, "body larger than the configured limit")
        }
        let now = clock()
        let limit = configuration.maxReceiptsPerPush
        switch kind {
        case .aliyun: return try AliyunReceiptParser.parse(request.body, gateway: name, now: now, maxItems: limit)
        case .tencent: return try TencentReceiptParser.parse(request.body, gateway: name, now: now, maxItems: limit)
        case .generic: return try GenericReceiptParser.parse(request.body, gateway: name, now: now, maxItems: limit)
        case .wechat:
            // The signature was checked in `authenticate`.
            if request.queryValue("encrypt_type") == "aes" {
                throw ReceiptError(.unsupported, "WeChat safe mode is not supported")
            }
            return try WeChatReceiptParser.parseVerified(request.body, gateway: name, now: now)
        }
    }

    private func deliver(
        _ receipts: [Receipt], gateway: String, kind: GatewayKind, replayKey: String?
    ) async -> HTTPServerResponse {
        let (fresh, duplicates): ([Receipt], Int) = state.withLock { state in
            var seen = Set<String>()
            var fresh: [Receipt] = []
            for receipt in receipts {
                let key = RecentKeys.key(gateway: gateway, receipt.dedupeKey)
                if state.recent.contains(key) || !seen.insert(key).inserted { continue }
                fresh.append(receipt)
            }
            state.stats.received += receipts.count
            return (fresh, receipts.count - fresh.count)
        }
        if !fresh.isEmpty {
            do {
                try await consumer(fresh)
            } catch {
                return reject(.consumerFailed, .text("receipts not stored, push again\n", status: 500))
            }
        }
        state.withLock { state in
            if let replayKey { state.replays.markStored(replayKey) }
            for receipt in fresh { state.recent.insert(RecentKeys.key(gateway: gateway, receipt.dedupeKey)) }
            state.stats.accepted += fresh.count
            state.stats.duplicates += duplicates
        }
        return success(kind)
    }

    private func reject(_ error: ReceiptError) -> HTTPServerResponse {
        switch error.code {
        case .unauthenticated: return reject(.unauthenticated, .text("forbidden\n", status: 403))
        case .tooLarge: return reject(.tooLarge, .text("too many receipts\n", status: 413))
        case .unsupported: return reject(.unsupported, .text("unsupported receipt\n", status: 400))
        default: return reject(.malformed, .text("malformed receipt\n", status: 400))
        }
    }

    private func reject(
        _ reason: ReceiptListener.Rejection, _ response: HTTPServerResponse
    ) -> HTTPServerResponse {
        state.withLock { $0.stats.rejected[reason, default: 0] += 1 }
        return response
    }
}

/// A bounded set of recent dedupe keys; the oldest is forgotten first.
struct RecentKeys {
    let capacity: Int
    private var members: Set<String> = []
    private var ring: [String] = []
    private var next = 0

    init(capacity: Int) { self.capacity = capacity }

    static func key(gateway: String, _ dedupeKey: String) -> String { gateway + "\u{0}" + dedupeKey }

    func contains(_ key: String) -> Bool { members.contains(key) }

    mutating func insert(_ key: String) {
        guard !members.contains(key) else { return }
        if ring.count < capacity {
            ring.append(key)
        } else {
            members.remove(ring[next])
            ring[next] = key
            next = (next + 1) % capacity
        }
        members.insert(key)
    }
}
