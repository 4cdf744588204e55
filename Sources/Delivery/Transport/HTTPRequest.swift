/// An HTTP method.
public struct HTTPMethod: RawRepresentable, Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    public static let get = HTTPMethod(rawValue: "GET")
    public static let post = HTTPMethod(rawValue: "POST")
    public static let put = HTTPMethod(rawValue: "PUT")
    public static let delete = HTTPMethod(rawValue: "DELETE")
    public static let head = HTTPMethod(rawValue: "HEAD")

    public var description: String { rawValue }
}

/// One request for ``CurlTransport``: a plain value, safe to keep for a retry.
public struct HTTPRequest: Sendable, Hashable {
    /// The method. Default `POST`, the gateways' verb.
    public var method: HTTPMethod
    /// The absolute URL (`http://` or `https://`).
    public var url: String
    /// Header fields, sent in order. `Content-Length` is set by the transport.
    public var headers: HTTPHeaders
    /// The body, copied by the transport when the transfer starts.
    public var body: [UInt8]
    /// Deadline for the whole exchange, connection included. Default 10 s.
    public var timeout: Duration
    /// Deadline for establishing the connection (TCP and TLS). Default 3 s.
    public var connectTimeout: Duration
    /// Whether libcurl may send the request again by itself. Default `false`.
    ///
    /// libcurl resends a request, once, on a fresh connection when a *reused* connection closes
    /// before any byte of the answer arrived. That is usually the server's idle timeout racing
    /// the request, but it is also what a gateway that read the request and then crashed looks
    /// like: a second copy of a message to a provider that does not deduplicate. When `false`,
    /// the transport refuses that resend and the request fails with an ambiguous
    /// ``TransportError`` (``TransportError/Code/reset``, ``TransportError/requestSent``)
    /// instead, unless nothing of it had been written. Set it to `true` only when a second copy
    /// is harmless: reads (token fetches, receipt polls) and sends the provider deduplicates.
    public var allowsTransportResend: Bool

    public init(
        method: HTTPMethod = .post,
        url: String,
        headers: HTTPHeaders = [:],
        body: [UInt8] = [],
        timeout: Duration = .seconds(10),
        connectTimeout: Duration = .seconds(3),
        allowsTransportResend: Bool = false
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.allowsTransportResend = allowsTransportResend
    }
}

/// A gateway's answer. Any status is a response; only transport failures throw.
public struct HTTPResponse: Sendable, Hashable {
    /// The status code of the final response.
    public var status: Int
    /// Header fields of the final response; names are lowercased.
    public var headers: HTTPHeaders
    /// The body, at most ``CurlTransport/Configuration/maxResponseBytes``.
    public var body: [UInt8]
    /// Wall time of the whole exchange, in seconds, as libcurl measured it.
    public var totalSeconds: Double

    public init(status: Int, headers: HTTPHeaders = [:], body: [UInt8] = [], totalSeconds: Double = 0) {
        self.status = status
        self.headers = headers
        self.body = body
        self.totalSeconds = totalSeconds
    }

    /// The body decoded as UTF-8 (invalid sequences repaired).
    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}
