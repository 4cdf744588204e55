import Delivery
import Foundation
import Kit

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A test-only ``HTTPClient`` over Foundation's `URLSession`, so adapter tests exchange real
/// HTTP with a loopback server until `CurlTransport` replaces it.
final class URLSessionClient: HTTPClient {
    private let session: URLSession

    init() {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 16
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        session = URLSession(configuration: configuration)
    }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        guard let url = URL(string: request.url) else { throw TransportError(code: .other) }
        var urlRequest = URLRequest(url: url)
        urlRequest.httpMethod = request.method.rawValue
        for (name, value) in request.headers { urlRequest.addValue(value, forHTTPHeaderField: name) }
        if !request.body.isEmpty { urlRequest.httpBody = Data(request.body) }
        urlRequest.timeoutInterval = request.timeout.seconds
        let session = self.session
        return try await withCheckedThrowingContinuation { continuation in
            session.dataTask(with: urlRequest) { data, response, error in
                if let error {
                    continuation.resume(throwing: Self.transportError(error))
                    return
                }
                guard let http = response as? HTTPURLResponse else {
                    continuation.resume(throwing: TransportError(code: .other, requestSent: true))
                    return
                }
                var headers = HTTPHeaders()
                for (name, value) in http.allHeaderFields {
                    headers.add(name: "\(name)".lowercased(), value: "\(value)")
                }
                continuation.resume(
                    returning: HTTPResponse(status: http.statusCode, headers: headers, body: Array(data ?? Data())))
            }.resume()
        }
    }

    private static func transportError(_ error: any Error) -> TransportError {
        switch (error as? URLError)?.code {
        case .cannotConnectToHost?, .cannotFindHost?: TransportError(code: .connect)
        case .timedOut?: TransportError(code: .timeoutAfterSend, requestSent: true)
        case .networkConnectionLost?: TransportError(code: .reset, requestSent: true)
        default: TransportError(code: .other, requestSent: true)
        }
    }
}
