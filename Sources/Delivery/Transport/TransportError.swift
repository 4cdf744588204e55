/// A request that got no HTTP response.
///
/// Check ``isAmbiguous`` before retrying: when the request may have reached the gateway, a
/// resend can deliver the message twice, so it must go out with the same idempotency key or
/// wait for reconciliation.
public struct TransportError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure; new kinds may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case connect = "connect failed"
            case timeout = "timed out before the request was sent"
            case timeoutAfterSend = "timed out after the request was sent"
            case reset = "connection reset"
            case tooLarge = "response too large"
            case tls = "TLS failure"
            case cancelled = "cancelled"
            case other = "transport failure"
        }
        fileprivate let base: Base

        /// The connection could not be established (refused, unreachable, DNS): never ambiguous.
        public static let connect = Code(base: .connect)
        /// The deadline passed before the request was fully sent (connect timeouts included): the
        /// gateway cannot have acted on it.
        public static let timeout = Code(base: .timeout)
        /// The request was fully sent but no answer came in time: the outcome is unknown.
        public static let timeoutAfterSend = Code(base: .timeoutAfterSend)
        /// The peer closed or reset the connection; see ``TransportError/requestSent``.
        ///
        /// Also the failure of a request that was written to a reused connection which then
        /// closed without an answer, when ``HTTPRequest/allowsTransportResend`` kept libcurl from
        /// sending it again (``TransportError/curlCode`` 65 `CURLE_SEND_FAIL_REWIND`, or 42 for a
        /// request without a body): always with ``TransportError/requestSent``, hence ambiguous.
        public static let reset = Code(base: .reset)
        /// The response exceeded ``CurlTransport/Configuration/maxResponseBytes``.
        public static let tooLarge = Code(base: .tooLarge)
        /// Handshake or certificate verification failed.
        public static let tls = Code(base: .tls)
        /// The awaiting task was cancelled or the transport shut down.
        public static let cancelled = Code(base: .cancelled)
        /// Any other libcurl failure; see ``TransportError/curlCode``.
        public static let other = Code(base: .other)

        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// libcurl's `CURLcode`, when libcurl reported the failure.
    public let curlCode: Int?
    /// Whether the whole request had been written to the connection.
    public let requestSent: Bool

    public init(code: Code, curlCode: Int? = nil, requestSent: Bool = false) {
        self.code = code
        self.curlCode = curlCode
        self.requestSent = requestSent
    }

    /// Whether the gateway may have received and acted on the request.
    public var isAmbiguous: Bool { code == .timeoutAfterSend || (requestSent && code != .connect) }

    /// A payload-free description, fit for logs and metric labels.
    public var description: String {
        if let curlCode { return "transport: \(code) (curl \(curlCode))" }
        return "transport: \(code)"
    }
}
