internal import CCurl
import Synchronization

/// An HTTP client over libcurl's multi interface, shared by every gateway adapter.
///
/// One dedicated thread owns a `CURLM` multi handle and runs `curl_multi_poll`; ``send(_:)``
/// hands requests over through a lock-protected queue and `curl_multi_wakeup`, and awaits a
/// continuation the thread resumes. Connections are kept alive and reused (HTTP/2 multiplexed
/// where the gateway offers it over TLS); easy handles are pooled and never leave that thread.
///
/// - Important: call ``shutdown()`` when done; it fails pending requests with
///   ``TransportError/Code/cancelled`` and joins the thread.
public final class CurlTransport: Sendable {
    /// Connection and safety limits.
    public struct Configuration: Sendable, Hashable {
        /// Most connections to one host (`CURLMOPT_MAX_HOST_CONNECTIONS`); further requests wait. Default 64.
        public var maxConnectionsPerHost: Int
        /// Most connections overall (`CURLMOPT_MAX_TOTAL_CONNECTIONS`). Default 256.
        public var maxConnections: Int
        /// A PEM CA bundle to trust instead of the system store. Default `nil`.
        public var caBundlePath: String?
        /// A proxy URL. Default `nil`: no proxy, whatever `http_proxy` says.
        public var proxy: String?
        /// Largest response body accepted; larger ones fail with ``TransportError/Code/tooLarge``. Default 1 MiB.
        public var maxResponseBytes: Int
        /// Verify the server's certificate and host name. Default `true`; turn off only for stubs.
        public var verifyTLS: Bool
        /// Negotiate HTTP/2 over TLS when the server offers it (`CURL_HTTP_VERSION_2TLS`). Default `true`.
        public var allowHTTP2: Bool
        /// Reuse connections between requests. Default `true`.
        public var keepAlive: Bool

        public init(
            maxConnectionsPerHost: Int = 64,
            maxConnections: Int = 256,
            caBundlePath: String? = nil,
            proxy: String? = nil,
            maxResponseBytes: Int = 1 << 20,
            verifyTLS: Bool = true,
            allowHTTP2: Bool = true,
            keepAlive: Bool = true
        ) {
            self.maxConnectionsPerHost = maxConnectionsPerHost
            self.maxConnections = maxConnections
            self.caBundlePath = caBundlePath
            self.proxy = proxy
            self.maxResponseBytes = maxResponseBytes
            self.verifyTLS = verifyTLS
            self.allowHTTP2 = allowHTTP2
            self.keepAlive = keepAlive
        }

        /// Every problem with the configuration, each with its key path; empty when valid.
        public func validate() -> [String] {
            var problems: [String] = []
            if maxConnectionsPerHost < 1 { problems.append("maxConnectionsPerHost: must be at least 1") }
            if maxConnections < maxConnectionsPerHost {
                problems.append("maxConnections: must be at least maxConnectionsPerHost")
            }
            if maxResponseBytes < 1 { problems.append("maxResponseBytes: must be at least 1") }
            if let caBundlePath, caBundlePath.isEmpty { problems.append("caBundlePath: must not be empty") }
            return problems
        }
    }

    public let configuration: Configuration
    private let loop: TransferLoop

    /// Creates the transport and starts its thread.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        self.loop = TransferLoop(configuration: configuration)
        loop.start()
    }

    /// Sends `request` and returns the response, whatever its status.
    ///
    /// Cancelling the awaiting task aborts the transfer promptly.
    ///
    /// - Important: libcurl resends a request by itself when a *reused* connection closes before
    ///   any byte of the answer arrived (usually the server's idle timeout racing the request, but
    ///   a gateway that crashed after reading it looks the same). The transport allows that only
    ///   for requests with ``HTTPRequest/allowsTransportResend`` set; any other request written
    ///   to such a connection fails with an ambiguous ``TransportError`` instead of going out twice.
    ///
    /// - Throws: ``TransportError`` when no HTTP response was received.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let transfer = Transfer(request: request, maxResponseBytes: configuration.maxResponseBytes)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                transfer.continuation = continuation
                if !loop.submit(transfer) {
                    transfer.continuation = nil
                    continuation.resume(throwing: TransportError(code: .cancelled))
                }
            }
        } onCancel: {
            transfer.cancelled.store(true, ordering: .relaxed)
            loop.requestCancellationCheck()
        }
    }

    /// Stops taking requests, fails pending ones with ``TransportError/Code/cancelled`` and joins
    /// the transport thread. Idempotent.
    public func shutdown() async {
        await loop.shutdown()
    }
}
