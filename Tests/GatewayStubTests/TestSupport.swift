import Delivery
import Foundation
import FoundationNetworking
import GatewayStub
import HTTPServer
import Kit
import Synchronization

/// A test-only `HTTPClient` over FoundationNetworking's URLSession.
struct URLSessionClient: HTTPClient {
    let session: URLSession

    init() {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 8
        session = URLSession(configuration: configuration)
    }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        guard let url = URL(string: request.url) else { throw TransportError(code: .other) }
        var urlRequest = URLRequest(url: url)
        urlRequest.httpMethod = request.method.rawValue
        for field in request.headers.fields { urlRequest.addValue(field.value, forHTTPHeaderField: field.name) }
        if !request.body.isEmpty { urlRequest.httpBody = Data(request.body) }
        urlRequest.timeoutInterval = request.timeout.seconds
        do {
            let (data, response) = try await session.data(for: urlRequest)
            guard let http = response as? HTTPURLResponse else { throw TransportError(code: .other) }
            var headers = HTTPHeaders()
            for (name, value) in http.allHeaderFields {
                headers.add(name: "\(name)".lowercased(), value: "\(value)")
            }
            return HTTPResponse(status: http.statusCode, headers: headers, body: Array(data))
        } catch let error as URLError {
            switch error.code {
            case .timedOut: throw TransportError(code: .timeoutAfterSend, requestSent: true)
            case .cannotConnectToHost: throw TransportError(code: .connect)
            case .cancelled: throw TransportError(code: .cancelled)
            default: throw TransportError(code: .reset, requestSent: true)
            }
        }
    }
}

/// Starts a stub, runs `body` with it, and stops it whatever happens.
func withStub<T>(
    _ configuration: StubConfiguration, pushClient: (any HTTPClient)? = nil,
    _ body: (StubGateway, String) async throws -> T
) async throws -> T {
    let stub = StubGateway(configuration: configuration, pushClient: pushClient)
    let port = try stub.start()
    do {
        let result = try await body(stub, "http://127.0.0.1:\(port)")
        await stub.stop()
        return result
    } catch {
        await stub.stop()
        throw error
    }
}

/// Parses a JSON object body.
func jsonObject(_ response: HTTPResponse) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
}

func jsonArray(_ bytes: [UInt8]) -> [[String: Any]] {
    (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [[String: Any]] ?? []
}

/// An in-process receipt receiver: answers pushes from a script (then `fallback`) and streams them.
final class PushReceiver: Sendable {
    let server: HTTPServer
    let pushes: AsyncStream<HTTPServerRequest>
    private let continuation: AsyncStream<HTTPServerRequest>.Continuation

    init(script: [HTTPServerResponse] = [], fallback: HTTPServerResponse) {
        let (stream, continuation) = AsyncStream<HTTPServerRequest>.makeStream(bufferingPolicy: .unbounded)
        self.pushes = stream
        self.continuation = continuation
        let remaining = Mutex(script)
        server = HTTPServer { request in
            continuation.yield(request)
            return remaining.withLock { $0.isEmpty ? fallback : $0.removeFirst() }
        }
    }

    func start() throws -> String {
        try server.start()
        return "http://127.0.0.1:\(server.port)/receipts"
    }

    func stop() async {
        continuation.finish()
        let server = self.server
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                server.stop()
                done.resume()
            }
        }
    }
}

/// Collects the next `count` pushes.
func collect(_ count: Int, from iterator: inout AsyncStream<HTTPServerRequest>.Iterator) async -> [HTTPServerRequest] {
    var result: [HTTPServerRequest] = []
    while result.count < count, let next = await iterator.next() { result.append(next) }
    return result
}

// MARK: Independent test-side signers

enum AliyunSigner {
    static func stringToSign(method: String, _ params: [String: String]) -> String {
        let canonical = params.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            .map { PercentEncoding.rfc3986($0) + "=" + PercentEncoding.rfc3986(params[$0] ?? "") }
            .joined(separator: "&")
        return method + "&" + PercentEncoding.rfc3986("/") + "&" + PercentEncoding.rfc3986(canonical)
    }

    static func signature(method: String, _ params: [String: String], secret: String) throws -> String {
        Digest.base64(try Digest.hmacSHA1(key: secret + "&", data: stringToSign(method: method, params)))
    }

    /// Common parameters plus `business`, signed; `overrides` change them before signing.
    static func params(
        _ business: [String: String], nonce: String = UUID().uuidString, timestamp: Date = Date(),
        keyID: String = "testId"
    ) -> [String: String] {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss'Z'"
        var params = [
            "AccessKeyId": keyID, "Format": "JSON", "RegionId": "cn-hangzhou", "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": nonce, "SignatureVersion": "1.0", "Timestamp": formatter.string(from: timestamp),
            "Version": "2017-05-25",
        ]
        params.merge(business) { _, new in new }
        return params
    }

    static func query(
        _ params: [String: String], secret: String = "testSecret", method: String = "GET"
    ) throws
        -> String
    {
        let signature = try signature(method: method, params, secret: secret)
        return
            (params.map { PercentEncoding.rfc3986($0.key) + "=" + PercentEncoding.rfc3986($0.value) }
            + ["Signature=" + PercentEncoding.rfc3986(signature)]).joined(separator: "&")
    }
}

enum TC3Signer {
    static func authorization(
        secretID: String, secretKey: String, service: String, host: String, contentType: String, timestamp: Int,
        payload: [UInt8], method: String = "POST", query: String = ""
    ) throws -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        let date = formatter.string(from: Date(timeIntervalSince1970: TimeInterval(timestamp)))
        let canonical =
            "\(method)\n/\n\(query)\ncontent-type:\(contentType)\nhost:\(host)\n\ncontent-type;host\n"
            + Digest.hex(try Digest.sha256(payload))
        let scope = "\(date)/\(service)/tc3_request"
        let toSign = "TC3-HMAC-SHA256\n\(timestamp)\n\(scope)\n" + Digest.hex(try Digest.sha256(canonical))
        var key = try Digest.hmacSHA256(key: "TC3" + secretKey, data: date)
        key = try Digest.hmacSHA256(key: key, data: Array(service.utf8))
        key = try Digest.hmacSHA256(key: key, data: Array("tc3_request".utf8))
        let signature = Digest.hex(try Digest.hmacSHA256(key: key, data: Array(toSign.utf8)))
        return
            "TC3-HMAC-SHA256 Credential=\(secretID)/\(scope), SignedHeaders=content-type;host, Signature=\(signature)"
    }

    /// A signed Tencent SMS request to the stub at `base`.
    static func request(
        base: String, action: String = "SendSms", body: String, secretKey: String = "stubSecretKey",
        timestamp: Int = Int(Date().timeIntervalSince1970), timeout: Duration = .seconds(5)
    ) throws -> HTTPRequest {
        let host = String(base.dropFirst("http://".count))
        let payload = Array(body.utf8)
        let authorization = try authorization(
            secretID: "AKIDstubSecretId", secretKey: secretKey, service: "sms", host: host,
            contentType: "application/json", timestamp: timestamp, payload: payload)
        return HTTPRequest(
            method: .post, url: base + "/",
            headers: [
                "Content-Type": "application/json", "Host": host, "X-TC-Action": action,
                "X-TC-Version": "2021-01-11", "X-TC-Region": "ap-guangzhou", "X-TC-Timestamp": String(timestamp),
                "Authorization": authorization,
            ],
            body: payload, timeout: timeout)
    }

    /// A signed API 3.0 `GET` to the stub at `base`: `parameters` in the query string, as the
    /// Python SDK writes it (`urlencode`: RFC 3986 with `+` for a space) unless `form` is false.
    static func getRequest(
        base: String, action: String = "SendSms", parameters: [(String, String)], form: Bool = true,
        secretKey: String = "stubSecretKey", timestamp: Int = Int(Date().timeIntervalSince1970)
    ) throws -> HTTPRequest {
        let host = String(base.dropFirst("http://".count))
        var query = parameters.map { PercentEncoding.rfc3986($0.0) + "=" + PercentEncoding.rfc3986($0.1) }
            .joined(separator: "&")
        if form { query = query.replacingOccurrences(of: "%20", with: "+") }
        let contentType = "application/x-www-form-urlencoded"
        let authorization = try authorization(
            secretID: "AKIDstubSecretId", secretKey: secretKey, service: "sms", host: host, contentType: contentType,
            timestamp: timestamp, payload: [], method: "GET", query: query)
        return HTTPRequest(
            method: .get, url: base + "/?" + query,
            headers: [
                "Content-Type": contentType, "Host": host, "X-TC-Action": action, "X-TC-Version": "2021-01-11",
                "X-TC-Region": "ap-guangzhou", "X-TC-Timestamp": String(timestamp), "Authorization": authorization,
            ],
            timeout: .seconds(5))
    }
}

enum AliyunV3Signer {
    /// Lowercase names, values joined by `,` per name, sorted; returns (SignedHeaders, Signature).
    static func sign(
        method: String, query: [(String, String)], headers: [(String, String)], payloadHash: String, secret: String
    ) throws -> (signedHeaders: String, signature: String) {
        var grouped: [String: [String]] = [:]
        for (name, value) in headers {
            grouped[name.lowercased(), default: []].append(value.trimmingCharacters(in: .whitespaces))
        }
        let names = grouped.keys.sorted()
        let canonicalHeaders = names.map { $0 + ":" + (grouped[$0] ?? []).joined(separator: ",") + "\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let canonicalQuery = query.sorted { $0.0 < $1.0 }
            .map { PercentEncoding.rfc3986($0.0) + "=" + PercentEncoding.rfc3986($0.1) }.joined(separator: "&")
        let canonicalRequest =
            "\(method)\n/\n\(canonicalQuery)\n\(canonicalHeaders)\n\(signedHeaders)\n\(payloadHash)"
        let toSign = "ACS3-HMAC-SHA256\n" + Digest.hex(try Digest.sha256(canonicalRequest))
        return (signedHeaders, Digest.hex(try Digest.hmacSHA256(key: secret, data: toSign)))
    }
}
