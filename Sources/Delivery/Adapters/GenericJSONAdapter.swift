import Foundation
import Kit

/// A generic HTTP/JSON SMS gateway (Delivery/Gateways.md §7): one `POST` per message with a quoted
/// `Idempotency-Key`, classified by HTTP status.
///
/// The default body is `{"id":…,"to":…,"text":…,"template":…,"params":{…}}` (absent fields
/// omitted). ``Configuration/bodyTemplate`` replaces it: a JSON text whose `{{id}}`, `{{to}}`
/// and `{{text}}` placeholders receive JSON-escaped values without quotes, e.g.
/// `{"msisdn":"{{to}}","content":"{{text}}","ref":"{{id}}"}`.
public struct GenericJSONAdapter: GatewayAdapter {
    /// Where and how to send.
    public struct Configuration: Sendable, Hashable {
        /// The full URL requests are posted to, e.g. `http://127.0.0.1:8080/send`.
        public var url: String
        /// Extra header fields sent with every request. Default none.
        public var headers: [String: String]
        /// A JSON body template with `{{id}}`, `{{to}}`, `{{text}}` placeholders; `nil` for the
        /// default body. Default `nil`.
        public var bodyTemplate: String?
        /// The response field holding the provider's id; dots walk into objects (`data.id`).
        /// `bizId` and `messageId` are tried after it. Default `id`.
        public var providerIDField: String
        /// Whole-exchange timeout. Default 10 s.
        public var timeout: Duration
        /// Connect timeout. Default 3 s.
        public var connectTimeout: Duration
        /// Whether the gateway drops a repeat of an `Idempotency-Key` it has already taken.
        /// Default `true`.
        ///
        /// When `false`, a message without an answer is ambiguous and is not sent again (it waits
        /// for reconciliation), and libcurl may not resend a request by itself.
        public var deduplicates: Bool

        public init(
            url: String, headers: [String: String] = [:], bodyTemplate: String? = nil,
            providerIDField: String = "id", timeout: Duration = .seconds(10), connectTimeout: Duration = .seconds(3),
            deduplicates: Bool = true
        ) {
            self.url = url
            self.headers = headers
            self.bodyTemplate = bodyTemplate
            self.providerIDField = providerIDField
            self.timeout = timeout
            self.connectTimeout = connectTimeout
            self.deduplicates = deduplicates
        }
    }

    public let configuration: Configuration
    /// Sent as `Authorization: Bearer <secret>` when present.
    public let credentials: Credentials?
    private let clock: @Sendable () -> Date

    public var kind: GatewayKind { .generic }
    /// Whether the gateway honours `Idempotency-Key` (``Configuration/deduplicates``).
    public var deduplicates: Bool { configuration.deduplicates }

    public init(
        configuration: Configuration, credentials: Credentials? = nil,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configuration = configuration
        self.credentials = credentials
        self.clock = clock
    }

    /// Statuses to retry with backoff (or Retry-After); 409 is a request still in flight.
    public static let retryStatuses: Set<Int> = [408, 409, 425, 429, 500, 502, 503, 504]
    /// Statuses that fail the message for good.
    public static let permanentStatuses: Set<Int> = [400, 404, 405, 410, 413, 422, 501]
    /// Statuses that pause the gateway for its credentials.
    public static let credentialStatuses: Set<Int> = [401, 403]

    /// The request for `message`; libcurl may resend it by itself only when the gateway
    /// ``deduplicates``.
    ///
    /// - Throws: ``AdapterError`` when the id cannot be an sf-string (non-printable-ASCII).
    public func request(for message: OutboundMessage, at date: Date) throws -> HTTPRequest {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        headers.add(name: "Accept", value: "application/json")
        for (name, value) in configuration.headers.sorted(by: { $0.key < $1.key }) {
            headers.replaceOrAdd(name: name, value: value)
        }
        headers.replaceOrAdd(name: "Idempotency-Key", value: try Self.structuredString(message.id))
        if let credentials {
            headers.replaceOrAdd(name: "Authorization", value: "Bearer " + credentials.secret)
        }
        return HTTPRequest(
            method: .post, url: configuration.url, headers: headers, body: bodyBytes(for: message),
            timeout: configuration.timeout, connectTimeout: configuration.connectTimeout,
            allowsTransportResend: deduplicates)
    }

    /// The JSON body for `message`.
    public func body(for message: OutboundMessage) -> String {
        String(decoding: bodyBytes(for: message), as: UTF8.self)
    }

    /// The JSON body for `message` as the request carries it. The default body is written straight
    /// into bytes: built from a string per member and joined, it cost a few allocations per message.
    func bodyBytes(for message: OutboundMessage) -> [UInt8] {
        if let template = configuration.bodyTemplate {
            return Array(
                template.replacingOccurrences(of: "{{id}}", with: JSONText.escaped(message.id))
                    .replacingOccurrences(of: "{{to}}", with: JSONText.escaped(message.recipient))
                    .replacingOccurrences(of: "{{text}}", with: JSONText.escaped(message.text ?? "")).utf8)
        }
        var out: [UInt8] = []
        out.reserveCapacity(64 + message.id.utf8.count + message.recipient.utf8.count + (message.text?.utf8.count ?? 0))
        func member(_ name: StaticString, _ value: String, first: Bool = false) {
            out.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
            out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(UInt8(ascii: "\""))
            JSONText.append(escaped: value, to: &out)
            out.append(UInt8(ascii: "\""))
        }
        member("\"id\":", message.id, first: true)
        member("\"to\":", message.recipient)
        if let text = message.text { member("\"text\":", text) }
        if let template = message.templateID { member("\"template\":", template) }
        out.append(contentsOf: #","params":{"#.utf8)
        for (index, param) in message.params.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "\""))
            JSONText.append(escaped: param.key, to: &out)
            out.append(contentsOf: #"":""#.utf8)
            JSONText.append(escaped: param.value, to: &out)
            out.append(UInt8(ascii: "\""))
        }
        out.append(contentsOf: "}}".utf8)
        return out
    }

    /// An RFC 8941 sf-string: quoted, `\` and `"` escaped, printable ASCII only.
    static func structuredString(_ value: String) throws -> String {
        guard value.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) else {
            throw AdapterError(code: .invalidField, field: "id")
        }
        // Escaped byte by byte: Foundation's `replacingOccurrences` bridged every id through
        // NSString, for ids that (ours) never hold either character.
        var quoted: [UInt8] = [UInt8(ascii: "\"")]
        quoted.reserveCapacity(value.utf8.count + 2)
        for byte in value.utf8 {
            if byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") { quoted.append(UInt8(ascii: "\\")) }
            quoted.append(byte)
        }
        quoted.append(UInt8(ascii: "\""))
        return String(decoding: quoted, as: UTF8.self)
    }

    /// Classifies an answer by HTTP status (§7): 2xx accepted; 408/409/425/429/500/502/503/504
    /// retry with Retry-After; 400/404/405/410/413/422/501 failed; 401/403 pause (credentials);
    /// other 5xx retry, other 4xx failed, 1xx/3xx pause (configuration).
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
        let status = response.status
        let reason = ReasonCode("http", String(status))
        if (200...299).contains(status) { return .accepted(providerID: providerID(in: response.body)) }
        if Self.retryStatuses.contains(status) {
            return .retry(after: RetryAfter.from(response, now: date), reason: reason)
        }
        if Self.credentialStatuses.contains(status) {
            return .pauseGateway(reason: reason, kind: .credentials, until: nil)
        }
        if Self.permanentStatuses.contains(status) || (400...499).contains(status) {
            return .failed(reason: reason, fallback: false)
        }
        if (500...599).contains(status) {
            return .retry(after: RetryAfter.from(response, now: date), reason: reason)
        }
        return .pauseGateway(reason: reason, kind: .configuration, until: nil)
    }

    /// The provider id in a JSON body: the configured field, then `bizId`, then `messageId`.
    func providerID(in body: [UInt8]) -> String? {
        guard !body.isEmpty, let object = try? JSONSerialization.jsonObject(with: Data(body)) else { return nil }
        for path in [configuration.providerIDField, "bizId", "messageId"] {
            var current: Any? = object
            for key in path.split(separator: ".") { current = (current as? [String: Any])?[String(key)] }
            if let text = current as? String, !text.isEmpty { return text }
            if let number = current as? NSNumber, !(current is Bool) { return number.stringValue }
        }
        return nil
    }

    public func send(_ message: OutboundMessage, using client: any HTTPClient) async -> DeliveryOutcome {
        let now = clock()
        let request: HTTPRequest
        do {
            request = try self.request(for: message, at: now)
        } catch let error as AdapterError {
            return error.outcome
        } catch {
            return AdapterSupport.signingFailure(error).outcome
        }
        let result = await AdapterSupport.exchange(request, using: client)
        return outcome(for: result, message: message, at: clock())
    }
}
