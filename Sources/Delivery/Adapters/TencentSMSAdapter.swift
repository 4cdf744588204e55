import Foundation
import Kit

/// Tencent Cloud SMS `SendSms` (API 3.0, `2021-01-11`, Delivery/Gateways.md §4), one number per request,
/// signed with TC3-HMAC-SHA256.
///
/// Tencent has no idempotency: `SessionContext` carries our id for receipts only.
public struct TencentSMSAdapter: GatewayAdapter {
    /// Where and how to send.
    public struct Configuration: Sendable, Hashable {
        /// Scheme and authority. Default `https://sms.tencentcloudapi.com`.
        public var baseURL: String
        /// `X-TC-Region`. Default `ap-guangzhou`.
        public var region: String
        /// `SmsSdkAppId`, e.g. `1400006666`.
        public var smsSdkAppID: String
        /// Sign name used when a message carries none. Default `nil`.
        public var defaultSignName: String?
        /// Whole-exchange timeout. Default 10 s.
        public var timeout: Duration
        /// Connect timeout. Default 3 s.
        public var connectTimeout: Duration

        public init(
            baseURL: String = "https://sms.tencentcloudapi.com", region: String = "ap-guangzhou",
            smsSdkAppID: String, defaultSignName: String? = nil, timeout: Duration = .seconds(10),
            connectTimeout: Duration = .seconds(3)
        ) {
            self.baseURL = baseURL
            self.region = region
            self.smsSdkAppID = smsSdkAppID
            self.defaultSignName = defaultSignName
            self.timeout = timeout
            self.connectTimeout = connectTimeout
        }
    }

    public let configuration: Configuration
    /// SecretId and SecretKey.
    public let credentials: Credentials
    private let clock: @Sendable () -> Date

    public var kind: GatewayKind { .tencent }
    /// Tencent SMS has no idempotency key.
    public var deduplicates: Bool { false }

    public init(
        configuration: Configuration, credentials: Credentials, clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configuration = configuration
        self.credentials = credentials
        self.clock = clock
    }

    /// The recipient in E.164: an 11-digit mainland number gets `+86`; `0086…`/`86…` become `+86…`.
    public static func e164(_ recipient: String) -> String {
        if recipient.hasPrefix("+") { return recipient }
        if recipient.hasPrefix("0086") { return "+86" + recipient.dropFirst(4) }
        if recipient.count == 13, recipient.hasPrefix("86") { return "+" + recipient }
        return "+86" + recipient
    }

    /// The JSON payload for `message`.
    ///
    /// - Throws: ``AdapterError`` when the template id or sign name is missing.
    public func payload(for message: OutboundMessage) throws -> String {
        guard let template = message.templateID, !template.isEmpty else {
            throw AdapterError(code: .missingField, field: "template_id")
        }
        guard let signName = message.signName ?? configuration.defaultSignName, !signName.isEmpty else {
            throw AdapterError(code: .missingField, field: "sign_name")
        }
        guard message.id.utf8.count < 512 else { throw AdapterError(code: .invalidField, field: "id") }
        return JSONText.object([
            ("PhoneNumberSet", JSONText.array([JSONText.string(Self.e164(message.recipient))])),
            ("SmsSdkAppId", JSONText.string(configuration.smsSdkAppID)),
            ("TemplateId", JSONText.string(template)),
            ("SignName", JSONText.string(signName)),
            ("TemplateParamSet", JSONText.array(message.params.map { JSONText.string($0.value) })),
            ("SessionContext", JSONText.string(message.id)),
        ])
    }

    /// The signed request for `message` at `date` (`X-TC-Timestamp` is its Unix second); libcurl
    /// may not resend it by itself (Tencent would send the SMS twice).
    ///
    /// - Throws: ``AdapterError`` for a message lacking fields, a bad base URL, or a hashing failure.
    public func request(for message: OutboundMessage, at date: Date) throws -> HTTPRequest {
        let body = Array(try payload(for: message).utf8)
        let (origin, host) = try AdapterSupport.authority(of: configuration.baseURL)
        let timestamp = Int64(date.timeIntervalSince1970.rounded(.down))
        let signed: TencentTC3Signer.Signed
        do {
            signed = try TencentTC3Signer(secretID: credentials.id, secretKey: credentials.secret, service: "sms")
                .sign(payload: body, host: host, timestamp: timestamp)
        } catch {
            throw AdapterSupport.signingFailure(error)
        }
        let headers: HTTPHeaders = [
            "Content-Type": TencentTC3Signer.jsonContentType,
            "X-TC-Action": "SendSms",
            "X-TC-Version": "2021-01-11",
            "X-TC-Region": configuration.region,
            "X-TC-Timestamp": String(timestamp),
            "Authorization": signed.authorization,
        ]
        return HTTPRequest(
            method: .post, url: origin + "/", headers: headers, body: body, timeout: configuration.timeout,
            connectTimeout: configuration.connectTimeout, allowsTransportResend: deduplicates)
    }

    /// Transient codes.
    public static let retryCodes: Set<String> = [
        "RequestLimitExceeded", "RequestLimitExceeded.GlobalRegionUinLimitExceeded",
        "RequestLimitExceeded.IPLimitExceeded", "InternalError", "InternalError.Timeout",
        "InternalError.SendAndRecvFail", "InternalError.UnknownError", "InternalError.OtherError",
    ]
    /// Clock skew: re-sign and send once more, then treat as configuration.
    public static let clockCodes: Set<String> = ["AuthFailure.SignatureExpire", "InternalError.RequestTimeException"]
    /// Frequency windows (deferred, not an attempt).
    public static let deferCodes: Set<String> = [
        "LimitExceeded.PhoneNumberThirtySecondLimit", "LimitExceeded.PhoneNumberOneHourLimit",
        "LimitExceeded.PhoneNumberDailyLimit", "LimitExceeded.PhoneNumberSameContentDailyLimit",
        "LimitExceeded.DeliveryFrequencyLimit", "FailedOperation.MarketingSendTimeConstraint",
    ]
    /// Codes that pause the gateway until the next UTC+8 day.
    public static let quotaCodes: Set<String> = [
        "LimitExceeded.AppDailyLimit", "LimitExceeded.DailyLimit", "LimitExceeded.AppMainlandChinaDailyLimit",
        "LimitExceeded.AppGlobalDailyLimit",
    ]
    /// Codes that pause the gateway until an operator tops up.
    public static let billingCodes: Set<String> = [
        "FailedOperation.InsufficientBalanceInSmsPackage", "UnauthorizedOperation.SerivceSuspendDueToArrears",
    ]
    /// Codes that fail the message for good.
    public static let permanentCodes: Set<String> = [
        "InvalidParameterValue.IncorrectPhoneNumber", "FailedOperation.PhoneNumberInBlacklist",
        "FailedOperation.ContainSensitiveWord", "InvalidParameterValue.ContentLengthLimit",
        "InvalidParameterValue.TemplateParameterFormatError", "InvalidParameterValue.TemplateParameterLengthLimit",
        "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter", "MissingParameter.EmptyPhoneNumberSet",
        "LimitExceeded.PhoneNumberCountLimit", "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber",
    ]
    /// Codes that stop the gateway until an operator fixes its configuration.
    public static let configurationCodes: Set<String> = [
        "FailedOperation.SignatureIncorrectOrUnapproved", "FailedOperation.TemplateIncorrectOrUnapproved",
        "InvalidParameterValue.SdkAppIdNotExist", "UnauthorizedOperation.SmsSdkAppIdVerifyFail",
        "UnauthorizedOperation.SdkAppIdIsDisabled", "UnauthorizedOperation.RequestIpNotInWhitelist",
        "UnauthorizedOperation.IndividualUserMarketingSmsPermissionDeny", "AuthFailure.SignatureFailure",
        "AuthFailure.SecretIdNotFound",
    ]

    private struct Envelope: Decodable {
        struct Inner: Decodable {
            struct Failure: Decodable {
                var code: String
                enum CodingKeys: String, CodingKey { case code = "Code" }
            }
            struct Status: Decodable {
                var code: String?
                var serialNo: String?
                enum CodingKeys: String, CodingKey {
                    case code = "Code"
                    case serialNo = "SerialNo"
                }
            }
            var error: Failure?
            var sendStatusSet: [Status]?
            enum CodingKeys: String, CodingKey {
                case error = "Error"
                case sendStatusSet = "SendStatusSet"
            }
        }
        var response: Inner?
        enum CodingKeys: String, CodingKey { case response = "Response" }
    }

    /// The provider's code of an answer: `Response.Error.Code`, else `SendStatusSet[0].Code`.
    static func code(of response: HTTPResponse) -> (code: String, serialNo: String?)? {
        guard let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(response.body)),
            let inner = envelope.response
        else { return nil }
        if let error = inner.error { return (error.code, nil) }
        guard let status = inner.sendStatusSet?.first, let code = status.code else { return nil }
        return (code, status.serialNo)
    }

    /// Whether the answer is a clock-skew refusal (re-sign and resend once).
    public func isClockRefusal(_ result: Result<HTTPResponse, TransportError>) -> Bool {
        guard case .success(let response) = result, let code = Self.code(of: response)?.code else { return false }
        return Self.clockCodes.contains(code)
    }

    /// Classifies an answer by `Response.Error.Code` or the first number's `Code`, whatever the
    /// HTTP status (§4 table). Clock codes retry (``send(_:using:)`` re-signs once, then pauses);
    /// an unknown code retries under its raw name.
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
        guard let (code, serialNo) = Self.code(of: response) else {
            return AdapterSupport.outcomeWithoutCode(response, namespace: "tencent", now: date)
        }
        let reason = ReasonCode("tencent", code)
        if code == "Ok" { return .accepted(providerID: serialNo) }
        if let until = Self.deferralEnd(code: code, at: date) { return .deferred(until: until, reason: reason) }
        if Self.quotaCodes.contains(code) {
            return .pauseGateway(reason: reason, kind: .quota, until: ChinaTime.startOfNextDay(after: date))
        }
        if Self.billingCodes.contains(code) { return .pauseGateway(reason: reason, kind: .billing, until: nil) }
        if Self.permanentCodes.contains(code) { return .failed(reason: reason, fallback: false) }
        if Self.configurationCodes.contains(code) {
            return .pauseGateway(reason: reason, kind: .configuration, until: nil)
        }
        return .retry(after: RetryAfter.from(response, now: date), reason: reason)
    }

    /// When a frequency window reopens: 30 s; the next UTC+8 hour for the one-hour and delivery
    /// frequency limits; the next UTC+8 day for daily limits; 08:00 UTC+8 for marketing hours.
    static func deferralEnd(code: String, at date: Date) -> Date? {
        switch code {
        case "LimitExceeded.PhoneNumberThirtySecondLimit": date.addingTimeInterval(30)
        case "LimitExceeded.PhoneNumberOneHourLimit", "LimitExceeded.DeliveryFrequencyLimit":
            ChinaTime.startOfNextHour(after: date)
        case "LimitExceeded.PhoneNumberDailyLimit", "LimitExceeded.PhoneNumberSameContentDailyLimit":
            ChinaTime.startOfNextDay(after: date)
        case "FailedOperation.MarketingSendTimeConstraint": ChinaTime.next(hour: 8, after: date)
        default: nil
        }
    }

    /// Sends once; on a clock-skew refusal re-signs with a fresh timestamp and sends once more,
    /// and pauses the gateway (configuration: the host clock is wrong) if that is refused too.
    public func send(_ message: OutboundMessage, using client: any HTTPClient) async -> DeliveryOutcome {
        var resigned = false
        while true {
            let request: HTTPRequest
            do {
                request = try self.request(for: message, at: clock())
            } catch let error as AdapterError {
                return error.outcome
            } catch {
                return AdapterSupport.signingFailure(error).outcome
            }
            let result = await AdapterSupport.exchange(request, using: client)
            if case .success(let response) = result, let code = Self.code(of: response)?.code,
                Self.clockCodes.contains(code)
            {
                if !resigned {
                    resigned = true
                    continue
                }
                return .pauseGateway(reason: ReasonCode("tencent", code), kind: .configuration, until: nil)
            }
            return outcome(for: result, message: message, at: clock())
        }
    }
}
