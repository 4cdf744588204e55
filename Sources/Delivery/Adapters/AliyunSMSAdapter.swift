import Foundation
import Kit

/// Aliyun SMS `SendSms` (dysmsapi `2017-05-25`, Delivery/Gateways.md §3), one number per request.
///
/// V2 signs a form `POST /` carrying every parameter; V3 mode sends `POST /?<query>` with an
/// empty body and an `ACS3-HMAC-SHA256` `Authorization`. Aliyun has no idempotency: a
/// message without an answer is ambiguous and must be reconciled through receipts.
public struct AliyunSMSAdapter: GatewayAdapter {
    /// Which signature scheme to use.
    public enum SignatureVersion: String, Sendable, Hashable, Codable {
        /// HMAC-SHA1 RPC signature, parameters in a form body.
        case v2
        /// `ACS3-HMAC-SHA256`, parameters in the query.
        case v3
    }

    /// Where and how to send.
    public struct Configuration: Sendable, Hashable {
        /// Scheme and authority, e.g. `https://dysmsapi.aliyuncs.com` or `http://127.0.0.1:PORT`.
        /// Default `https://dysmsapi.aliyuncs.com`.
        public var baseURL: String
        /// `RegionId`. Default `cn-hangzhou`.
        public var regionID: String
        /// Signature scheme. Default ``SignatureVersion/v2``.
        public var signatureVersion: SignatureVersion
        /// Sign name used when a message carries none. Default `nil`.
        public var defaultSignName: String?
        /// Whole-exchange timeout. Default 10 s.
        public var timeout: Duration
        /// Connect timeout. Default 3 s.
        public var connectTimeout: Duration

        public init(
            baseURL: String = "https://dysmsapi.aliyuncs.com", regionID: String = "cn-hangzhou",
            signatureVersion: SignatureVersion = .v2, defaultSignName: String? = nil,
            timeout: Duration = .seconds(10), connectTimeout: Duration = .seconds(3)
        ) {
            self.baseURL = baseURL
            self.regionID = regionID
            self.signatureVersion = signatureVersion
            self.defaultSignName = defaultSignName
            self.timeout = timeout
            self.connectTimeout = connectTimeout
        }
    }

    public let configuration: Configuration
    /// AccessKey id and secret.
    public let credentials: Credentials
    private let clock: @Sendable () -> Date
    private let nonce: @Sendable () -> String

    public var kind: GatewayKind { .aliyun }
    /// Aliyun SMS has no idempotency key.
    public var deduplicates: Bool { false }

    /// - Parameters:
    ///   - clock: the time for `Timestamp` and deferrals.
    ///   - nonce: `SignatureNonce` source; a fresh UUID by default.
    public init(
        configuration: Configuration, credentials: Credentials, clock: @escaping @Sendable () -> Date = { Date() },
        nonce: @escaping @Sendable () -> String = { UUID().uuidString.lowercased() }
    ) {
        self.configuration = configuration
        self.credentials = credentials
        self.clock = clock
        self.nonce = nonce
    }

    /// `SendSms` business parameters for `message`, in a fixed order.
    ///
    /// - Throws: ``AdapterError`` when the template code or sign name is missing.
    public func businessParameters(for message: OutboundMessage) throws -> [(String, String)] {
        guard let template = message.templateID, !template.isEmpty else {
            throw AdapterError(code: .missingField, field: "template_id")
        }
        guard let signName = message.signName ?? configuration.defaultSignName, !signName.isEmpty else {
            throw AdapterError(code: .missingField, field: "sign_name")
        }
        var parameters = [("PhoneNumbers", message.recipient), ("SignName", signName), ("TemplateCode", template)]
        if !message.params.isEmpty {
            parameters.append(("TemplateParam", JSONText.stringObject(message.params.map { ($0.key, $0.value) })))
        }
        parameters.append(("OutId", message.id))
        return parameters
    }

    /// The signed request for `message` at `date`; libcurl may not resend it by itself (Aliyun
    /// would send the SMS twice).
    ///
    /// - Throws: ``AdapterError`` for a message lacking fields, a bad base URL, or a hashing failure.
    public func request(for message: OutboundMessage, at date: Date) throws -> HTTPRequest {
        let business = try businessParameters(for: message)
        let (origin, host) = try AdapterSupport.authority(of: configuration.baseURL)
        let timestamp = CivilTime(date: date).timestampString
        switch configuration.signatureVersion {
        case .v2:
            var parameters = business
            parameters += [
                ("Action", "SendSms"), ("Version", "2017-05-25"), ("Format", "JSON"),
                ("AccessKeyId", credentials.id), ("SignatureMethod", "HMAC-SHA1"), ("SignatureVersion", "1.0"),
                ("SignatureNonce", nonce()), ("Timestamp", timestamp), ("RegionId", configuration.regionID),
            ]
            let signature: String
            do {
                signature = try AliyunSignatureV2(accessKeySecret: credentials.secret)
                    .signature(method: .post, parameters: parameters)
            } catch {
                throw AdapterSupport.signingFailure(error)
            }
            let body =
                AliyunSignatureV2.canonicalQuery(parameters) + "&Signature=" + PercentEncoding.rfc3986(signature)
            return HTTPRequest(
                method: .post, url: origin + "/",
                headers: ["Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"],
                body: Array(body.utf8), timeout: configuration.timeout, connectTimeout: configuration.connectTimeout,
                allowsTransportResend: deduplicates)
        case .v3:
            let query = business + [("RegionId", configuration.regionID)]
            let headers: [(String, String)]
            let signed: AliyunSignatureV3.Signed
            do {
                let payloadHash = Digest.hex(try Digest.sha256([]))
                headers = [
                    ("host", host), ("x-acs-action", "SendSms"), ("x-acs-version", "2017-05-25"),
                    ("x-acs-date", timestamp), ("x-acs-signature-nonce", nonce()),
                    ("x-acs-content-sha256", payloadHash),
                ]
                signed = try AliyunSignatureV3(accessKeyID: credentials.id, accessKeySecret: credentials.secret)
                    .sign(method: .post, path: "/", query: query, headers: headers, payloadHash: payloadHash)
            } catch {
                throw AdapterSupport.signingFailure(error)
            }
            var sent = HTTPHeaders(headers.filter { $0.0 != "host" })
            sent.add(name: "Accept", value: "application/json")
            sent.add(name: "Authorization", value: signed.authorization)
            return HTTPRequest(
                method: .post, url: origin + "/?" + AliyunSignatureV3.canonicalQuery(query), headers: sent,
                body: [], timeout: configuration.timeout, connectTimeout: configuration.connectTimeout,
                allowsTransportResend: deduplicates)
        }
    }

    /// Codes that pause the gateway until the quota resets.
    public static let quotaCodes: Set<String> = ["isv.DAY_LIMIT_CONTROL", "isv.MONTH_LIMIT_CONTROL"]
    /// Codes that pause the gateway until an operator tops up.
    public static let billingCodes: Set<String> = ["isv.AMOUNT_NOT_ENOUGH", "isv.OUT_OF_SERVICE"]
    /// Transient codes, besides every `Throttling*`.
    public static let retryCodes: Set<String> = ["InternalError", "ServiceUnavailable", "isp.SYSTEM_ERROR"]
    /// Codes that fail the message for good.
    public static let permanentCodes: Set<String> = [
        "isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT", "isv.TEMPLATE_MISSING_PARAMETERS",
        "isv.TEMPLATE_PARAMS_ILLEGAL", "isv.INVALID_JSON_PARAM", "isv.PARAM_LENGTH_LIMIT",
        "isv.PARAM_NOT_SUPPORT_URL", "isv.BLACK_KEY_CONTROL_LIMIT", "isv.SMS_CONTENT_ILLEGAL",
        "isv.INVALID_PARAMETERS", "isv.DOMESTIC_NUMBER_NOT_SUPPORTED",
    ]
    /// Codes that stop the gateway until an operator fixes its configuration.
    public static let configurationCodes: Set<String> = [
        "isv.SMS_TEMPLATE_ILLEGAL", "isv.SMS_SIGNATURE_ILLEGAL", "isv.SMS_SIGNATURE_SCENE_ILLEGAL",
        "isv.SIGN_STATE_ILLEGAL", "isv.SMS_SIGN_ILLEGAL", "isv.EXTEND_CODE_ERROR", "isp.RAM_PERMISSION_DENY",
        "isv.PRODUCT_UN_SUBSCRIPT", "isv.PRODUCT_UNSUBSCRIBE", "isv.ACCOUNT_NOT_EXISTS", "isv.ACCOUNT_ABNORMAL",
        "isv.DENY_IP_RANGE", "SignatureDoesNotMatch", "InvalidAccessKeyId.NotFound",
    ]

    private struct Body: Decodable {
        var code: String?
        var message: String?
        var bizID: String?

        enum CodingKeys: String, CodingKey {
            case code = "Code"
            case message = "Message"
            case bizID = "BizId"
        }
    }

    /// Classifies an answer by its `Code`, whatever the HTTP status (§3 table). An unknown code
    /// retries (conservative) under its raw name; a body without a code is classified by status.
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
        guard let body = try? JSONDecoder().decode(Body.self, from: Data(response.body)), let code = body.code else {
            return AdapterSupport.outcomeWithoutCode(response, namespace: "aliyun", now: date)
        }
        return Self.classify(code: code, message: body.message, bizID: body.bizID, response: response, at: date)
    }

    static func classify(
        code: String, message: String?, bizID: String?, response: HTTPResponse, at date: Date
    )
        -> DeliveryOutcome
    {
        let reason = ReasonCode("aliyun", code)
        if code == "OK" { return .accepted(providerID: bizID) }
        if code == "isv.BUSINESS_LIMIT_CONTROL" {
            return .deferred(until: businessLimitEnd(message: message ?? "", at: date), reason: reason)
        }
        if code == "isv.DAY_LIMIT_CONTROL" {
            return .pauseGateway(reason: reason, kind: .quota, until: ChinaTime.startOfNextDay(after: date))
        }
        if code == "isv.MONTH_LIMIT_CONTROL" {
            return .pauseGateway(reason: reason, kind: .quota, until: ChinaTime.startOfNextMonth(after: date))
        }
        if billingCodes.contains(code) { return .pauseGateway(reason: reason, kind: .billing, until: nil) }
        if permanentCodes.contains(code) { return .failed(reason: reason, fallback: false) }
        if configurationCodes.contains(code) { return .pauseGateway(reason: reason, kind: .configuration, until: nil) }
        // Throttling*, InternalError, ServiceUnavailable, isp.SYSTEM_ERROR, and any code we do
        // not know: the request was refused, so another attempt is safe.
        return .retry(after: RetryAfter.from(response, now: date), reason: reason)
    }

    /// When an `isv.BUSINESS_LIMIT_CONTROL` window reopens, from its `Message`: the next UTC+8
    /// minute (`触发分钟级流控`), the next UTC+8 hour (`触发小时级流控`), or 24 h later (`触发天级流控`,
    /// a rolling day). An unrecognised message waits for the next minute.
    public static func businessLimitEnd(message: String, at date: Date) -> Date {
        if message.contains("小时级") { return ChinaTime.startOfNextHour(after: date) }
        if message.contains("天级") { return date.addingTimeInterval(86_400) }
        return ChinaTime.startOfNextMinute(after: date)
    }

    public func send(_ message: OutboundMessage, using client: any HTTPClient) async -> DeliveryOutcome {
        let request: HTTPRequest
        do {
            request = try self.request(for: message, at: clock())
        } catch let error as AdapterError {
            return error.outcome
        } catch {
            return AdapterSupport.signingFailure(error).outcome
        }
        let result = await AdapterSupport.exchange(request, using: client)
        return outcome(for: result, message: message, at: clock())
    }
}
