/// Anything that can exchange one HTTP request for a response: `CurlTransport` in production.
///
/// Adapters, token caches and receipt pushers talk to this protocol so that the transport can
/// be configured (or shared) by whoever owns it.
public protocol HTTPClient: Sendable {
    /// - Throws: `TransportError` when no HTTP response was received.
    func send(_ request: HTTPRequest) async throws -> HTTPResponse
}

extension CurlTransport: HTTPClient {}
