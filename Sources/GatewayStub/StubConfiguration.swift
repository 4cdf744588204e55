import Delivery
import Foundation
import Kit

/// Wall time and sleeping for a stub gateway: signature skews, limits, token lifetimes and the
/// receipt pusher's schedule all read it, so tests can substitute their own.
public protocol StubClock: Sendable {
    /// The current wall time.
    func now() -> Date
    /// Suspends until `deadline` (returns at once when it has passed).
    ///
    /// - Throws: `CancellationError` when the waiting task is cancelled.
    func sleep(until deadline: Date) async throws
}

/// The system clock: `Date()` and `Task.sleep`.
public struct SystemStubClock: StubClock {
    public init() {}

    public func now() -> Date { Date() }

    public func sleep(until deadline: Date) async throws {
        let seconds = deadline.timeIntervalSinceNow
        if seconds > 0 { try await Task.sleep(for: .nanoseconds(Int64(seconds * 1e9))) }
    }
}

/// Test credentials a stub accepts. Defaults are fixed, well-known test values.
public struct StubCredentials: Sendable, Hashable, Codable {
    /// Aliyun `AccessKeyId`. Default `testId`.
    public var accessKeyId: String
    /// Aliyun AccessKey secret. Default `testSecret`.
    public var accessKeySecret: String
    /// Tencent `SecretId`. Default `AKIDstubSecretId`.
    public var secretId: String
    /// Tencent `SecretKey`. Default `stubSecretKey`.
    public var secretKey: String
    /// Tencent `SmsSdkAppId`. Default `1400006666`.
    public var smsSdkAppId: String
    /// WeChat `appid`. Default `wxstubappid`.
    public var appId: String
    /// WeChat `secret`. Default `stubappsecret`.
    public var appSecret: String
    /// WeChat server token that signs event pushes. Default `testtoken`.
    public var pushToken: String
    /// Generic gateway bearer token; `nil` accepts any request without `Authorization`.
    public var bearerToken: String?

    public init(
        accessKeyId: String = "testId", accessKeySecret: String = "testSecret",
        secretId: String = "AKIDstubSecretId", secretKey: String = "stubSecretKey", smsSdkAppId: String = "1400006666",
        appId: String = "wxstubappid", appSecret: String = "stubappsecret", pushToken: String = "testtoken",
        bearerToken: String? = nil
    ) {
        self.accessKeyId = accessKeyId
        self.accessKeySecret = accessKeySecret
        self.secretId = secretId
        self.secretKey = secretKey
        self.smsSdkAppId = smsSdkAppId
        self.appId = appId
        self.appSecret = appSecret
        self.pushToken = pushToken
        self.bearerToken = bearerToken
    }

    /// Decodes a credentials file; absent keys keep their defaults.
    public init(from decoder: any Decoder) throws {
        let defaults = StubCredentials()
        let container = try decoder.container(keyedBy: CodingKeys.self)
        accessKeyId = try container.decodeIfPresent(String.self, forKey: .accessKeyId) ?? defaults.accessKeyId
        accessKeySecret =
            try container.decodeIfPresent(String.self, forKey: .accessKeySecret) ?? defaults.accessKeySecret
        secretId = try container.decodeIfPresent(String.self, forKey: .secretId) ?? defaults.secretId
        secretKey = try container.decodeIfPresent(String.self, forKey: .secretKey) ?? defaults.secretKey
        smsSdkAppId = try container.decodeIfPresent(String.self, forKey: .smsSdkAppId) ?? defaults.smsSdkAppId
        appId = try container.decodeIfPresent(String.self, forKey: .appId) ?? defaults.appId
        appSecret = try container.decodeIfPresent(String.self, forKey: .appSecret) ?? defaults.appSecret
        pushToken = try container.decodeIfPresent(String.self, forKey: .pushToken) ?? defaults.pushToken
        bearerToken = try container.decodeIfPresent(String.self, forKey: .bearerToken)
    }
}

/// The form of the `Retry-After` header on scripted `429` answers.
public enum StubRetryAfter: Sendable, Hashable {
    /// `Retry-After: <seconds>`.
    case seconds(Int)
    /// `Retry-After: <IMF-fixdate>`, that many seconds after the stub's `now`.
    case httpDate(secondsFromNow: Int)
}

/// Scripted faults. Every rate is a probability in `0...1`; all default to off. Draws come from
/// one generator seeded with ``seed``, so the same sequence of requests meets the same faults.
public struct StubFaults: Sendable, Hashable {
    /// Seed of the fault and receipt generator. Default `1`.
    public var seed: UInt64
    /// Provider error code → rate. Codes are the provider's (`isv.BUSINESS_LIMIT_CONTROL`,
    /// `LimitExceeded.PhoneNumberThirtySecondLimit`, `45009`), or `http:<status>` for a bare HTTP
    /// status. `CODE|message` overrides the message (`isv.BUSINESS_LIMIT_CONTROL|触发小时级流控Permits:5`).
    public var errorRates: [String: Double]
    /// Rate of the provider's rate-limit answer: `429 Too Many Requests` with a `Retry-After` header
    /// (generic; Aliyun `Throttling.User`), or, as those providers answer, HTTP 200 with Tencent's
    /// `RequestLimitExceeded` error body or WeChat's errcode `45011`, without `Retry-After`.
    /// Counted in ``StubStats/rejected`` as `429`, `RequestLimitExceeded` or `45011`.
    public var rateLimitRate: Double
    /// The `Retry-After` value of the `429` answers. Default `.seconds(1)`.
    public var retryAfter: StubRetryAfter
    /// Fixed latency added to every answer. Default zero.
    public var latency: Duration
    /// Uniform jitter in `0..<jitter` added to ``latency``. Default zero.
    public var jitter: Duration
    /// Rate of sends that are accepted and counted but answered only after ``timeoutDelay``
    /// (beyond any sane client timeout); their receipt follows the normal outcome rules.
    public var timeoutRate: Double
    /// Delay of those answers. Default 60 s.
    public var timeoutDelay: Duration
    /// Rate of requests whose connection is closed without an answer, before the send is processed.
    public var resetRate: Double
    /// Rate of sends that are accepted, certain to be delivered (receipt `delivered`), and answered
    /// only after ``slowDelay``, when the client has given up.
    public var slowDeliveredRate: Double
    /// Delay of those answers. Default 30 s.
    public var slowDelay: Duration
    /// Rate of sends that are processed and accepted (counted, receipts scheduled, records kept for
    /// `QuerySendDetails` and the pulls) after which the connection is closed without any answer
    /// byte, as when the provider or a proxy dies between committing the send and answering.
    /// A client that resends on its own (libcurl does on a reused connection) makes the stub
    /// accept again where the provider has no idempotency: see ``StubStats/duplicateDeliveries``.
    public var dropAfterAcceptRate: Double

    public init(
        seed: UInt64 = 1, errorRates: [String: Double] = [:], rateLimitRate: Double = 0,
        retryAfter: StubRetryAfter = .seconds(1), latency: Duration = .zero, jitter: Duration = .zero,
        timeoutRate: Double = 0, timeoutDelay: Duration = .seconds(60), resetRate: Double = 0,
        slowDeliveredRate: Double = 0, slowDelay: Duration = .seconds(30), dropAfterAcceptRate: Double = 0
    ) {
        self.seed = seed
        self.errorRates = errorRates
        self.rateLimitRate = rateLimitRate
        self.retryAfter = retryAfter
        self.latency = latency
        self.jitter = jitter
        self.timeoutRate = timeoutRate
        self.timeoutDelay = timeoutDelay
        self.resetRate = resetRate
        self.slowDeliveredRate = slowDeliveredRate
        self.slowDelay = slowDelay
        self.dropAfterAcceptRate = dropAfterAcceptRate
    }
}

/// Delivery receipts: their outcome, and how they are pushed.
public struct StubReceipts: Sendable, Hashable {
    /// Where to POST receipts in the provider's format; `nil` pushes nothing (Aliyun
    /// `QuerySendDetails` and Tencent `PullSmsSendStatus` still answer).
    public var url: String?
    /// Time from acceptance to the receipt. Not time-scaled. Default 100 ms.
    public var delay: Duration
    /// Most receipts in one push (Tencent caps it at 100; WeChat pushes one event at a time). Default 100.
    public var batchSize: Int
    /// Rate of receipts pushed twice. Default 0.
    public var duplicateRate: Double
    /// Rate of receipts never pushed. Default 0.
    public var lossRate: Double
    /// Whether each push lists its receipts in shuffled order. Default `false`.
    public var reorder: Bool
    /// Rate of messages whose receipt reports failure. Default 0.
    public var failureRate: Double
    /// Failure codes to draw from; empty uses the provider's (`UNDELIV`, `MBBLACK`; WeChat
    /// `failed:user block`, `failed: system failed`).
    public var failureCodes: [String]
    /// Re-push delays after the first failed push, before time scaling; `nil` uses the provider's
    /// (Aliyun 1, 5, 10 min; Tencent 2 more; WeChat 3 attempts within 15 s).
    public var repushSchedule: [Duration]?
    /// Deadline of one push. Default 5 s (WeChat's).
    public var pushTimeout: Duration

    public init(
        url: String? = nil, delay: Duration = .milliseconds(100), batchSize: Int = 100, duplicateRate: Double = 0,
        lossRate: Double = 0, reorder: Bool = false, failureRate: Double = 0, failureCodes: [String] = [],
        repushSchedule: [Duration]? = nil, pushTimeout: Duration = .seconds(5)
    ) {
        self.url = url
        self.delay = delay
        self.batchSize = batchSize
        self.duplicateRate = duplicateRate
        self.lossRate = lossRate
        self.reorder = reorder
        self.failureRate = failureRate
        self.failureCodes = failureCodes
        self.repushSchedule = repushSchedule
        self.pushTimeout = pushTimeout
    }
}

/// Replies from recipients: an SMS sent back (Aliyun SmsUp, Tencent reply callback, the generic
/// reply push) or, for WeChat, an `unsubscribe` event, pushed a receipt delay after a delivered
/// message's receipt.
public struct StubReplies: Sendable, Hashable {
    /// Where to POST replies in the provider's format (the daemon's `/inbound/{gateway}/{token}`);
    /// WeChat pushes its unsubscribe events to ``StubReceipts/url``, its one server URL. `nil`
    /// (and, for WeChat, no receipts URL) pushes none.
    public var url: String?
    /// Rate of delivered messages whose recipient replies. Default 0.
    public var rate: Double
    /// The reply's text. Default `T` (回T退订).
    public var text: String

    public init(url: String? = nil, rate: Double = 0, text: String = "T") {
        self.url = url
        self.rate = rate
        self.text = text
    }
}

/// Provider limits the stubs enforce.
public struct StubLimits: Sendable, Hashable {
    /// Aliyun notifications per signature + template + number in a rolling 24 h. Default 50.
    public var aliyunDailyPerNumber: Int
    /// Tencent window in which the same content to the same number is refused. Default 30 s.
    public var tencentSameContentWindow: Duration
    /// Tencent sends per number in a rolling 24 h before `LimitExceeded.PhoneNumberDailyLimit`;
    /// `nil` (default) leaves it to the account settings, i.e. off.
    public var tencentDailyPerNumber: Int?
    /// WeChat `client_msg_id` dedupe window. Default 10 min.
    public var wechatDedupeWindow: Duration

    public init(
        aliyunDailyPerNumber: Int = 50, tencentSameContentWindow: Duration = .seconds(30),
        tencentDailyPerNumber: Int? = nil, wechatDedupeWindow: Duration = .seconds(600)
    ) {
        self.aliyunDailyPerNumber = aliyunDailyPerNumber
        self.tencentSameContentWindow = tencentSameContentWindow
        self.tencentDailyPerNumber = tencentDailyPerNumber
        self.wechatDedupeWindow = wechatDedupeWindow
    }
}

/// WeChat access-token behaviour.
public struct StubTokenSettings: Sendable, Hashable {
    /// Lifetime of an issued token (`expires_in`). Default 7200 s.
    public var lifetime: Duration
    /// Sends a token serves before it answers `42001`; `nil` = unlimited. Scripts expiry races.
    public var sendsPerToken: Int?
    /// How long a classic token survives a newer fetch. Default 300 s.
    public var grace: Duration

    public init(lifetime: Duration = .seconds(7200), sendsPerToken: Int? = nil, grace: Duration = .seconds(300)) {
        self.lifetime = lifetime
        self.sendsPerToken = sendsPerToken
        self.grace = grace
    }
}

/// Everything a ``StubGateway`` needs.
public struct StubConfiguration: Sendable {
    /// Which provider to imitate.
    public var kind: GatewayKind
    /// Port on `127.0.0.1`; `0` picks an ephemeral one. Default `0`.
    public var port: Int
    /// Credentials the stub accepts.
    public var credentials: StubCredentials
    /// Scripted faults, all off by default.
    public var faults: StubFaults
    /// Receipt outcome and pushing.
    public var receipts: StubReceipts
    /// Replies and unsubscribes.
    public var replies: StubReplies
    /// Provider limits.
    public var limits: StubLimits
    /// WeChat token behaviour.
    public var tokens: StubTokenSettings
    /// Paths the generic gateway accepts sends on. Default `["/sms/send"]`.
    public var genericPaths: [String]
    /// Whether the generic gateway honours `Idempotency-Key` (replay, `409` in flight, `422` on a
    /// different body). When `false` the header is still required, but every request is processed
    /// and a repeat is accepted and counted again, as by a provider that ignores the key.
    /// Default `true`.
    public var genericDeduplicates: Bool
    /// Factor applied to provider schedules (receipt re-pushes): `0.001` turns Aliyun's
    /// 1-minute re-push into 60 ms. Default `1`.
    public var timeScale: Double
    /// Wall time and sleeping. Default ``SystemStubClock``.
    public var clock: any StubClock

    public init(
        kind: GatewayKind, port: Int = 0, credentials: StubCredentials = StubCredentials(),
        faults: StubFaults = StubFaults(), receipts: StubReceipts = StubReceipts(),
        replies: StubReplies = StubReplies(), limits: StubLimits = StubLimits(),
        tokens: StubTokenSettings = StubTokenSettings(), genericPaths: [String] = ["/sms/send"],
        genericDeduplicates: Bool = true, timeScale: Double = 1, clock: any StubClock = SystemStubClock()
    ) {
        self.kind = kind
        self.port = port
        self.credentials = credentials
        self.faults = faults
        self.receipts = receipts
        self.replies = replies
        self.limits = limits
        self.tokens = tokens
        self.genericPaths = genericPaths
        self.genericDeduplicates = genericDeduplicates
        self.timeScale = timeScale
        self.clock = clock
    }
}

/// Why a stub could not be configured or started.
public struct StubError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate let raw: String
        /// A command-line option is unknown, lacks its value or has a malformed one.
        public static let invalidOption = Code(raw: "invalid option")
        /// The credentials file cannot be read or decoded.
        public static let credentials = Code(raw: "unreadable credentials")
        /// Receipts are configured but no push client was given.
        public static let noPushClient = Code(raw: "receipts url without a push client")
        /// The server could not start (port taken, already started).
        public static let cannotStart = Code(raw: "cannot start")
        public var description: String { raw }
    }

    /// The kind of failure.
    public var code: Code
    /// Details for the operator (an option name, a path); never a secret.
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "stub: \(code): \(message)" }
}
