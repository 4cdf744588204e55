import Foundation
import Kit

/// The access token of one WeChat official account, shared by every sender of that account.
///
/// A fetch through the classic endpoint invalidates the previous token (after a grace period),
/// so exactly one component may refresh: concurrent callers of ``token()`` await one stored
/// fetch task (single flight). The token is refreshed ``Configuration/refreshMargin`` before
/// `expires_in` runs out, and on demand after ``invalidate(_:)``.
public actor WeChatTokenCache {
    /// Which token endpoint to use; the two are isolated from each other (Delivery/Gateways.md §5).
    public enum Scheme: String, Sendable, Hashable, Codable {
        /// `GET /cgi-bin/token?grant_type=client_credential&appid=…&secret=…`.
        case classic
        /// `POST /cgi-bin/stable_token` with `force_refresh: false`.
        case stable
    }

    /// Where and how to fetch tokens.
    public struct Configuration: Sendable, Hashable {
        /// Scheme and authority. Default `https://api.weixin.qq.com`.
        public var baseURL: String
        /// Token endpoint. Default ``Scheme/stable``.
        public var scheme: Scheme
        /// How long before expiry a token is replaced; at most half its lifetime. Default 300 s.
        public var refreshMargin: TimeInterval
        /// Whole-exchange timeout. Default 10 s.
        public var timeout: Duration
        /// Connect timeout. Default 3 s.
        public var connectTimeout: Duration

        public init(
            baseURL: String = "https://api.weixin.qq.com", scheme: Scheme = .stable, refreshMargin: TimeInterval = 300,
            timeout: Duration = .seconds(10), connectTimeout: Duration = .seconds(3)
        ) {
            self.baseURL = baseURL
            self.scheme = scheme
            self.refreshMargin = refreshMargin
            self.timeout = timeout
            self.connectTimeout = connectTimeout
        }
    }

    private struct Fetched: Sendable {
        var token: String
        var refreshAt: Date
        var expiresAt: Date
    }

    public let configuration: Configuration
    private let credentials: Credentials
    private let client: any HTTPClient
    private let clock: @Sendable () -> Date
    private var cached: Fetched?
    private var inFlight: Task<Fetched, any Error>?

    /// How many token fetches this cache has started: lets tests prove single flight.
    public private(set) var refreshCount = 0

    /// - Parameters:
    ///   - credentials: AppID (``Credentials/id``) and AppSecret.
    ///   - client: the transport for token requests.
    ///   - clock: the time against which `expires_in` is counted.
    public init(
        configuration: Configuration = Configuration(), credentials: Credentials, client: any HTTPClient,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configuration = configuration
        self.credentials = credentials
        self.client = client
        self.clock = clock
    }

    /// A valid access token, fetched if none is cached or the cached one is due for refresh.
    ///
    /// - Throws: ``WeChatTokenError`` when the fetch fails and no unexpired token is cached.
    public func token() async throws -> String {
        if let cached, clock() < cached.refreshAt { return cached.token }
        let task: Task<Fetched, any Error>
        if let inFlight {
            task = inFlight
        } else {
            task = Task { [configuration, credentials, client, clock] in
                try await Self.fetch(
                    configuration: configuration, credentials: credentials, client: client, clock: clock)
            }
            inFlight = task
            refreshCount += 1
        }
        do {
            let fetched = try await task.value
            // Another caller may have finished (or replaced) this fetch while we waited.
            if inFlight == task {
                inFlight = nil
                cached = fetched
            }
            return fetched.token
        } catch {
            if inFlight == task { inFlight = nil }
            // A failed early refresh still leaves an unexpired token usable.
            if let cached, clock() < cached.expiresAt { return cached.token }
            throw error
        }
    }

    /// Drops `failingToken` after the provider refused it, but only if it is still the cached
    /// token: a sender that lost the race to a refresh must not throw away the new token.
    public func invalidate(_ failingToken: String) {
        if cached?.token == failingToken { cached = nil }
    }

    private static func fetch(
        configuration: Configuration, credentials: Credentials, client: any HTTPClient,
        clock: @Sendable () -> Date
    ) async throws -> Fetched {
        let (origin, _): (String, String)
        do {
            (origin, _) = try AdapterSupport.authority(of: configuration.baseURL)
        } catch {
            throw WeChatTokenError(code: .malformed, errcode: nil, transport: nil)
        }
        // Both fetches may be resent by libcurl: a repeat returns a token (the stable one the
        // same token), it sends nothing to anyone.
        let request: HTTPRequest
        switch configuration.scheme {
        case .classic:
            let url =
                origin + "/cgi-bin/token?grant_type=client_credential&appid=" + PercentEncoding.rfc3986(credentials.id)
                + "&secret=" + PercentEncoding.rfc3986(credentials.secret)
            request = HTTPRequest(
                method: .get, url: url, headers: ["Accept": "application/json"], timeout: configuration.timeout,
                connectTimeout: configuration.connectTimeout, allowsTransportResend: true)
        case .stable:
            let body = JSONText.object([
                ("grant_type", JSONText.string("client_credential")), ("appid", JSONText.string(credentials.id)),
                ("secret", JSONText.string(credentials.secret)), ("force_refresh", "false"),
            ])
            request = HTTPRequest(
                method: .post, url: origin + "/cgi-bin/stable_token",
                headers: ["Content-Type": "application/json; charset=utf-8", "Accept": "application/json"],
                body: Array(body.utf8), timeout: configuration.timeout, connectTimeout: configuration.connectTimeout,
                allowsTransportResend: true)
        }
        let started = clock()
        let response: HTTPResponse
        switch await AdapterSupport.exchange(request, using: client) {
        case .failure(let error): throw WeChatTokenError(code: .transport, errcode: nil, transport: error)
        case .success(let value): response = value
        }
        struct Body: Decodable {
            var accessToken: String?
            var expiresIn: Int?
            var errcode: Int?
            enum CodingKeys: String, CodingKey {
                case accessToken = "access_token"
                case expiresIn = "expires_in"
                case errcode
            }
        }
        guard let body = try? JSONDecoder().decode(Body.self, from: Data(response.body)) else {
            throw WeChatTokenError(code: .malformed, errcode: nil, transport: nil)
        }
        if let errcode = body.errcode, errcode != 0 {
            throw WeChatTokenError(code: .rejected, errcode: errcode, transport: nil)
        }
        guard let token = body.accessToken, !token.isEmpty, let lifetime = body.expiresIn, lifetime > 0 else {
            throw WeChatTokenError(code: .malformed, errcode: nil, transport: nil)
        }
        let margin = min(configuration.refreshMargin, TimeInterval(lifetime) / 2)
        return Fetched(
            token: token, refreshAt: started.addingTimeInterval(TimeInterval(lifetime) - margin),
            expiresAt: started.addingTimeInterval(TimeInterval(lifetime)))
    }
}

/// Why no WeChat access token could be had.
public struct WeChatTokenError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case rejected, transport, malformed
        }
        fileprivate let base: Base

        /// WeChat answered with an `errcode` (40013 bad AppID, 40125 bad AppSecret, 40164 IP…).
        public static let rejected = Code(base: .rejected)
        /// No HTTP answer.
        public static let transport = Code(base: .transport)
        /// The answer was not a token (or the base URL is unusable).
        public static let malformed = Code(base: .malformed)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// WeChat's `errcode`, for ``Code/rejected``.
    public var errcode: Int?
    /// The transport failure, for ``Code/transport``.
    public var transport: TransportError?

    public var description: String {
        if let errcode { return "wechat token: \(code) (\(errcode))" }
        return "wechat token: \(code)"
    }

    /// What a send that could not get a token becomes: busy and transport failures retry (the
    /// message was not sent), a daily quota pauses to the next UTC+8 day, anything else pauses
    /// the gateway for its credentials.
    func outcome(at date: Date) -> DeliveryOutcome {
        switch code.base {
        case .transport:
            return .retry(after: nil, reason: ReasonCode("transport", transport?.reasonName ?? "other"))
        case .malformed:
            return .retry(after: nil, reason: ReasonCode("wechat", "token_unreadable"))
        case .rejected:
            let reason = ReasonCode("wechat", String(errcode ?? 0))
            switch errcode {
            case -1, 45011: return .retry(after: nil, reason: reason)
            case 45009: return .pauseGateway(reason: reason, kind: .quota, until: ChinaTime.startOfNextDay(after: date))
            default: return .pauseGateway(reason: reason, kind: .credentials, until: nil)
            }
        }
    }
}
