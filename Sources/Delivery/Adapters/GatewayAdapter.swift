import Foundation

/// Turns one outbound message into a provider's signed request, and the provider's answer into
/// exactly one ``DeliveryOutcome`` (Delivery/Gateways.md §2).
///
/// Adapters are plain values: the pure halves (`request(for:at:)` and
/// `outcome(for:message:at:)` on each adapter) are public for tests and reuse, and `send`
/// combines them with an ``HTTPClient``.
public protocol GatewayAdapter: Sendable {
    /// The gateway kind, as written in configuration (`generic`, `aliyun`, `tencent`, `wechat`).
    var kind: GatewayKind { get }
    /// Whether a resend with the same message id is safe: the provider deduplicates by it, so an
    /// ``DeliveryOutcome/ambiguous(reason:)`` message may go out again.
    var deduplicates: Bool { get }
    /// How long after the first request the provider still recognises a repeat of the same id;
    /// `nil` for as long as resends happen at all. A resend later than that could deliver twice.
    var deduplicationWindow: Duration? { get }
    /// Sends `message` once (plus the one re-sign or token refresh the provider's rules allow)
    /// and classifies the answer. Never throws: every failure is an outcome.
    func send(_ message: OutboundMessage, using client: any HTTPClient) async -> DeliveryOutcome
}

extension GatewayAdapter {
    public var deduplicationWindow: Duration? { nil }
}

/// Why an adapter could not build a request.
public struct AdapterError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case missingField = "missing_field"
            case invalidField = "invalid_field"
            case invalidConfiguration = "invalid_configuration"
            case signing = "signing_failed"
        }
        fileprivate let base: Base

        /// The message lacks something the provider needs (template id, sign name, text).
        public static let missingField = Code(base: .missingField)
        /// A message field cannot be sent as it is (not representable in the provider's format).
        public static let invalidField = Code(base: .invalidField)
        /// The gateway configuration cannot produce a request (bad base URL, bad body template).
        public static let invalidConfiguration = Code(base: .invalidConfiguration)
        /// Hashing failed (OpenSSL unavailable).
        public static let signing = Code(base: .signing)

        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// The field or setting concerned, never its value.
    public var field: String
    /// The underlying error, when there is one.
    public var cause: (any Error & Sendable)?

    public init(code: Code, field: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.field = field
        self.cause = cause
    }

    public var description: String { "adapter: \(code) (\(field))" }

    public static func == (lhs: AdapterError, rhs: AdapterError) -> Bool {
        lhs.code == rhs.code && lhs.field == rhs.field
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(field)
    }

    /// The outcome of a message whose request cannot be built: the message is at fault for
    /// missing or invalid fields, the gateway for everything else.
    var outcome: DeliveryOutcome {
        let reason = ReasonCode("adapter", "\(code).\(field)")
        switch code.base {
        case .missingField, .invalidField: return .failed(reason: reason, fallback: false)
        case .invalidConfiguration, .signing:
            return .pauseGateway(reason: reason, kind: .configuration, until: nil)
        }
    }
}

extension TransportError {
    /// A short, stable name for reason codes and metric labels.
    var reasonName: String {
        switch code {
        case .connect: "connect"
        case .timeout: "timeout"
        case .timeoutAfterSend: "timeout_after_send"
        case .reset: "reset"
        case .tooLarge: "too_large"
        case .tls: "tls"
        case .cancelled: "cancelled"
        default: "other"
        }
    }

    /// `ambiguous` when the gateway may have acted on the request, else `retry`.
    public var deliveryOutcome: DeliveryOutcome {
        let reason = ReasonCode("transport", reasonName)
        return isAmbiguous ? .ambiguous(reason: reason) : .retry(after: nil, reason: reason)
    }
}

/// Shared steps of the adapters.
enum AdapterSupport {
    /// Sends `request`, turning every thrown error into a `TransportError` (an unknown error is
    /// treated as possibly sent, the safe reading).
    static func exchange(
        _ request: HTTPRequest, using client: any HTTPClient
    ) async -> Result<
        HTTPResponse, TransportError
    > {
        do {
            return .success(try await client.send(request))
        } catch let error as TransportError {
            return .failure(error)
        } catch {
            return .failure(TransportError(code: .other, requestSent: true))
        }
    }

    /// The outcome of an HTTP answer that carries no provider code: a proxy page, an empty
    /// body. 408/425/429/5xx retry (honouring Retry-After); 401/403 pause for credentials; other
    /// 3xx/4xx pause for configuration (wrong URL or method); 2xx is ambiguous, since the
    /// provider may have taken the message without saying so.
    static func outcomeWithoutCode(_ response: HTTPResponse, namespace: String, now: Date) -> DeliveryOutcome {
        let status = response.status
        switch status {
        case 200...299:
            return .ambiguous(reason: ReasonCode(namespace, "unreadable_response"))
        case 408, 425, 429, 500...599:
            return .retry(after: RetryAfter.from(response, now: now), reason: ReasonCode("http", String(status)))
        case 401, 403:
            return .pauseGateway(reason: ReasonCode("http", String(status)), kind: .credentials, until: nil)
        default:
            return .pauseGateway(reason: ReasonCode("http", String(status)), kind: .configuration, until: nil)
        }
    }

    /// Splits a base URL into the part before the path and the host as sent in `Host`.
    static func authority(of baseURL: String) throws -> (origin: String, host: String) {
        guard let schemeEnd = baseURL.range(of: "://") else {
            throw AdapterError(code: .invalidConfiguration, field: "base_url")
        }
        let rest = baseURL[schemeEnd.upperBound...]
        let host = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !host.isEmpty else { throw AdapterError(code: .invalidConfiguration, field: "base_url") }
        let scheme = baseURL[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else {
            throw AdapterError(code: .invalidConfiguration, field: "base_url")
        }
        var hostText = String(host).lowercased()
        if scheme == "http", hostText.hasSuffix(":80") { hostText.removeLast(3) }
        if scheme == "https", hostText.hasSuffix(":443") { hostText.removeLast(4) }
        return (scheme + "://" + String(host), hostText)
    }

    /// `base` without trailing slashes, then `path`.
    static func join(_ base: String, _ path: String) -> String {
        var base = base
        while base.hasSuffix("/") { base.removeLast() }
        return base + path
    }

    static func signingFailure(_ error: any Error) -> AdapterError {
        AdapterError(code: .signing, field: "digest", cause: error as? DigestError)
    }
}
