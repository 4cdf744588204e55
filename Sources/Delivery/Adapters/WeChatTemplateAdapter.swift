import Foundation
import Kit

/// WeChat official-account template messages (Delivery/Gateways.md §5), sent with an access token from a
/// shared ``WeChatTokenCache``.
///
/// `client_msg_id` carries our id, so WeChat drops a repeat within 10 minutes: an ambiguous
/// message may be resent.
public struct WeChatTemplateAdapter: GatewayAdapter {
    /// Where and how to send.
    public struct Configuration: Sendable, Hashable {
        /// Scheme and authority. Default `https://api.weixin.qq.com`.
        public var baseURL: String
        /// Whole-exchange timeout. Default 10 s.
        public var timeout: Duration
        /// Connect timeout. Default 3 s.
        public var connectTimeout: Duration

        public init(
            baseURL: String = "https://api.weixin.qq.com", timeout: Duration = .seconds(10),
            connectTimeout: Duration = .seconds(3)
        ) {
            self.baseURL = baseURL
            self.timeout = timeout
            self.connectTimeout = connectTimeout
        }
    }

    public let configuration: Configuration
    /// The account's token cache, shared with every other sender of the account.
    public let tokens: WeChatTokenCache
    private let clock: @Sendable () -> Date

    public var kind: GatewayKind { .wechat }
    /// WeChat deduplicates by `client_msg_id`.
    public var deduplicates: Bool { true }
    /// WeChat keeps a `client_msg_id` for 10 minutes; nine leave room for clock skew and the
    /// request's own time.
    public var deduplicationWindow: Duration? { .seconds(540) }

    public init(
        configuration: Configuration = Configuration(), tokens: WeChatTokenCache,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configuration = configuration
        self.tokens = tokens
        self.clock = clock
    }

    /// The longest id sent as is in `client_msg_id`.
    public static let maxClientMessageIDLength = 64

    /// Our id, or when longer than 64 bytes the first 32 hex digits of its SHA-256 (stable).
    public static func clientMessageID(for id: String) throws -> String {
        guard id.utf8.count > maxClientMessageIDLength else { return id }
        return String(Digest.hex(try Digest.sha256(id)).prefix(32))
    }

    /// The JSON body for `message`.
    ///
    /// - Throws: ``AdapterError`` when the template id is missing.
    public func body(for message: OutboundMessage) throws -> String {
        guard let template = message.templateID, !template.isEmpty else {
            throw AdapterError(code: .missingField, field: "template_id")
        }
        let clientMessageID: String
        do {
            clientMessageID = try Self.clientMessageID(for: message.id)
        } catch {
            throw AdapterSupport.signingFailure(error)
        }
        var members = [("touser", JSONText.string(message.recipient)), ("template_id", JSONText.string(template))]
        if let url = message.url, !url.isEmpty { members.append(("url", JSONText.string(url))) }
        members.append(("client_msg_id", JSONText.string(clientMessageID)))
        members.append(
            ("data", JSONText.object(message.params.map { ($0.key, JSONText.stringObject([("value", $0.value)])) })))
        return JSONText.object(members)
    }

    /// The send request for `message` with `accessToken`; libcurl may resend it by itself, since
    /// WeChat drops the repeat by `client_msg_id`.
    ///
    /// - Throws: ``AdapterError`` for a message lacking its template id or a bad base URL.
    public func request(for message: OutboundMessage, accessToken: String, at date: Date) throws -> HTTPRequest {
        let body = try body(for: message)
        let (origin, _) = try AdapterSupport.authority(of: configuration.baseURL)
        return HTTPRequest(
            method: .post,
            url: origin + "/cgi-bin/message/template/send?access_token=" + PercentEncoding.rfc3986(accessToken),
            headers: ["Content-Type": "application/json; charset=utf-8", "Accept": "application/json"],
            body: Array(body.utf8), timeout: configuration.timeout, connectTimeout: configuration.connectTimeout,
            allowsTransportResend: deduplicates)
    }

    /// Token refused (40001 invalid, 40014 malformed, 42001 expired): refresh and resend once.
    public static let tokenCodes: Set<Int> = [40001, 40014, 42001]
    /// Busy or too frequent: retry.
    public static let retryCodes: Set<Int> = [-1, 45011]
    /// Permanent for this recipient, but another channel may reach them: not following, invalid
    /// openid. (A user who blocks us shows up in the receipt, `failed:user block`.)
    public static let fallbackCodes: Set<Int> = [43004, 40003]
    /// Permanent for the message: our account blacklisted the user (43019), refused, over limit,
    /// marketing, non-compliant.
    public static let permanentCodes: Set<Int> = [43019, 48002, 47003, 40249, 40250]
    /// Configuration: bad or restricted template, IP not allowlisted, unauthorised API.
    public static let configurationCodes: Set<Int> = [40037, 43116, 40164, 48001]

    private struct Body: Decodable {
        var errcode: Int?
        var msgid: Int64?
    }

    /// The `errcode` of an answer (0 for a body with a `msgid` and no code).
    static func errcode(of response: HTTPResponse) -> (errcode: Int, msgid: Int64?)? {
        guard let body = try? JSONDecoder().decode(Body.self, from: Data(response.body)) else { return nil }
        if let errcode = body.errcode { return (errcode, body.msgid) }
        if let msgid = body.msgid { return (0, msgid) }
        return nil
    }

    /// Whether the answer refused the access token (40001/40014/42001).
    public func isTokenRefusal(_ result: Result<HTTPResponse, TransportError>) -> Bool {
        guard case .success(let response) = result, let code = Self.errcode(of: response)?.errcode else {
            return false
        }
        return Self.tokenCodes.contains(code)
    }

    /// Classifies an answer by `errcode`, whatever the HTTP status (§5 table). Token refusals
    /// retry here (``send(_:using:)`` refreshes and resends once, then pauses); 45009 pauses
    /// to the next UTC+8 midnight; an unknown errcode retries under its raw value.
    public func outcome(
        for result: Result<HTTPResponse, TransportError>, message: OutboundMessage, at date: Date
    )
        -> DeliveryOutcome
    {
        let response: HTTPResponse
        switch result {
        case .failure(let error): return error.deliveryOutcome
        case .success(let value): response = value
        }
        guard let (code, msgid) = Self.errcode(of: response) else {
            return AdapterSupport.outcomeWithoutCode(response, namespace: "wechat", now: date)
        }
        let reason = ReasonCode("wechat", String(code))
        if code == 0 { return .accepted(providerID: msgid.map { String($0) }) }
        if code == 45009 {
            return .pauseGateway(reason: reason, kind: .quota, until: ChinaTime.startOfNextDay(after: date))
        }
        if Self.fallbackCodes.contains(code) { return .failed(reason: reason, fallback: true) }
        if Self.permanentCodes.contains(code) { return .failed(reason: reason, fallback: false) }
        if Self.configurationCodes.contains(code) {
            return .pauseGateway(reason: reason, kind: .configuration, until: nil)
        }
        return .retry(after: RetryAfter.from(response, now: date), reason: reason)
    }

    /// Sends with the cached token; on a token refusal invalidates that token, fetches one again
    /// and resends once; a second refusal pauses the gateway (credentials).
    public func send(_ message: OutboundMessage, using client: any HTTPClient) async -> DeliveryOutcome {
        var refreshed = false
        while true {
            let token: String
            do {
                token = try await tokens.token()
            } catch let error as WeChatTokenError {
                return error.outcome(at: clock())
            } catch {
                return .retry(after: nil, reason: ReasonCode("wechat", "token_unavailable"))
            }
            let request: HTTPRequest
            do {
                request = try self.request(for: message, accessToken: token, at: clock())
            } catch let error as AdapterError {
                return error.outcome
            } catch {
                return AdapterSupport.signingFailure(error).outcome
            }
            let result = await AdapterSupport.exchange(request, using: client)
            if case .success(let response) = result, let code = Self.errcode(of: response)?.errcode,
                Self.tokenCodes.contains(code)
            {
                await tokens.invalidate(token)
                if !refreshed {
                    refreshed = true
                    continue
                }
                return .pauseGateway(reason: ReasonCode("wechat", String(code)), kind: .credentials, until: nil)
            }
            return outcome(for: result, message: message, at: clock())
        }
    }
}
