import Delivery
import Foundation

/// One configured gateway, as read from the `gateways` section of the config.
///
/// Provider-specific keys (`region`, `sdk_app_id`, `app_id`, `token_mode`, `path`, …) stay in
/// `options`; the adapter factory reads the ones its kind needs and rejects the rest.
public struct GatewaySettings: Sendable {

    /// Where a single secret comes from (a receipt token): a whole file, or one environment variable.
    public enum SecretSource: Sendable, Hashable, CustomStringConvertible {
        /// A file (e.g. a systemd credential in `$CREDENTIALS_DIRECTORY`).
        case file(String)
        case environment(String)

        public var description: String {
            switch self {
            case .file(let path): "file \(path)"
            case .environment(let name): "environment \(name)"
            }
        }
    }

    public var name: String
    public var kind: GatewayKind
    public var baseURL: String
    /// The provider account's id and secret (a file, or `<PREFIX>_ACCESS_KEY_ID`/`_SECRET`);
    /// `nil` when the gateway needs none.
    public var credentials: CredentialSource?
    /// Messages per second (token bucket rate); 0 = unlimited.
    public var rate: Double
    public var burst: Int
    /// Messages per natural day in the configured time zone; 0 = unlimited.
    public var dailyCap: Int
    public var maxInFlight: Int
    public var timeout: Duration
    public var connectTimeout: Duration
    /// The retry schedule of this gateway's transient failures.
    public var retry: RetryPolicy
    /// When this gateway's circuit opens and how long it stays open.
    public var breaker: CircuitBreaker.Configuration
    /// Where the secret that receipt pushes must carry comes from (the path token, or WeChat's
    /// push token for its signature); `nil` when the gateway pushes no receipts.
    public var receiptToken: SecretSource?
    /// Share of the channel's traffic, relative to the other gateways of the channel.
    public var weight: Int
    /// The provider's per-recipient frequency limits, applied before sending (messages over them
    /// are deferred, not failed). `nil` = the provider's defaults: Aliyun 50 per day per
    /// signature, template and number; Tencent one identical message per 30 s per number.
    public var recipientLimits: [RecipientLimits.Window]?
    /// The replies that opt the sender out of SMS (回T退订), compared after folding
    /// (``OptOutKeywords``). Default `T`, `TD`, `退订`, `N`.
    public var optOutKeywords: [String] = OptOutKeywords.defaults
    public var options: [String: String]

    public static func defaults(name: String, kind: GatewayKind) -> GatewaySettings {
        GatewaySettings(
            name: name, kind: kind, baseURL: "", credentials: nil, rate: 50, burst: 10, dailyCap: 0,
            maxInFlight: 32, timeout: .seconds(5), connectTimeout: .seconds(2),
            retry: RetryPolicy(
                maxAttempts: 5, baseDelay: .seconds(1), maxDelay: .seconds(300), maxAge: .seconds(24 * 3600)),
            breaker: CircuitBreaker.Configuration(
                windowSize: 50, minimumCalls: 20, failureRate: 0.5, consecutiveFailures: 10, coolDown: .seconds(30)),
            receiptToken: nil, weight: 1, recipientLimits: nil, options: [:])
    }
}

extension KeyReader {
    /// Reads `gateways.<name>` objects; problems are recorded with their key paths.
    mutating func gateways() -> [GatewaySettings] {
        guard let section = object("gateways") else { return [] }
        var result: [GatewaySettings] = []
        for name in section.keys.sorted() {
            let path = "gateways.\(name)"
            guard case .object = section[name] else {
                problem(path, "expected an object")
                continue
            }
            guard let kindText = string("\(path).kind") else {
                problem("\(path).kind", "is required (aliyun, tencent, wechat or generic)")
                continue
            }
            guard let kind = GatewayKind(rawValue: kindText) else {
                problem("\(path).kind", "expected aliyun, tencent, wechat or generic, got \"\(kindText)\"")
                continue
            }
            var g = GatewaySettings.defaults(name: name, kind: kind)
            if let url = string("\(path).base_url") {
                if URL(string: url)?.scheme.map({ ["http", "https"].contains($0) }) == true {
                    g.baseURL = url.hasSuffix("/") ? String(url.dropLast()) : url
                } else {
                    problem("\(path).base_url", "expected an http:// or https:// URL")
                }
            } else {
                problem("\(path).base_url", "is required")
            }
            let file = string("\(path).credentials.file")
            let env = string("\(path).credentials.env")
            switch (file, env) {
            case (let f?, nil): g.credentials = .file(f)
            case (nil, let e?): g.credentials = .environment(prefix: e)
            case (nil, nil): break
            default: problem("\(path).credentials", "give either file or env, not both")
            }
            // Every bound is checked before any arithmetic (a rate of 1e19 once trapped converting to Int).
            func bounded(_ key: String, _ range: ClosedRange<Double>, integer: Bool = true, _ apply: (Double) -> Void) {
                if let v = number("\(path).\(key)", in: range, integer: integer) { apply(v) }
            }
            bounded("rate", 0...100_000, integer: false) { g.rate = $0 }
            bounded("burst", 1...100_000) { g.burst = Int($0) }
            bounded("daily_cap", 0...100_000_000) { g.dailyCap = Int($0) }
            bounded("max_in_flight", 1...10_000) { g.maxInFlight = Int($0) }
            bounded("timeout_ms", 100...600_000) { g.timeout = .milliseconds(Int64($0)) }
            bounded("connect_timeout_ms", 100...60_000) { g.connectTimeout = .milliseconds(Int64($0)) }
            bounded("retry.max_attempts", 1...100) { g.retry.maxAttempts = Int($0) }
            bounded("retry.base_ms", 1...3_600_000) { g.retry.baseDelay = .milliseconds(Int64($0)) }
            bounded("retry.max_ms", 1...86_400_000) { g.retry.maxDelay = .milliseconds(Int64($0)) }
            bounded("retry.max_age_s", 1...2_592_000) { g.retry.maxAge = .seconds(Int64($0)) }
            bounded("breaker.failure_rate", 0...1, integer: false) { g.breaker.failureRate = $0 }
            bounded("breaker.window", 1...10_000) { g.breaker.windowSize = Int($0) }
            bounded("breaker.min_calls", 1...10_000) { g.breaker.minimumCalls = Int($0) }
            bounded("breaker.consecutive", 1...10_000) { g.breaker.consecutiveFailures = Int($0) }
            bounded("breaker.cool_down_ms", 1...3_600_000) { g.breaker.coolDown = .milliseconds(Int64($0)) }
            bounded("weight", 1...1000) { g.weight = Int($0) }
            if g.retry.maxDelay < g.retry.baseDelay {
                problem("\(path).retry.max_ms", "must be at least retry.base_ms")
            }
            // A smaller window holds at most its size: an unset minimum follows it down.
            if !has("\(path).breaker.min_calls") {
                g.breaker.minimumCalls = min(g.breaker.minimumCalls, g.breaker.windowSize)
            }
            for issue in g.breaker.problems() { problem("\(path).breaker", issue) }
            switch (string("\(path).receipts.token_file"), string("\(path).receipts.token_env")) {
            case (let f?, nil): g.receiptToken = .file(f)
            case (nil, let e?): g.receiptToken = .environment(e)
            case (nil, nil): break
            default: problem("\(path).receipts", "give either token_file or token_env, not both")
            }
            if let limits = array("\(path).recipient_limits") {
                var parsed: [RecipientLimits.Window] = []
                for (i, item) in limits.enumerated() {
                    guard case .object(let o) = item, case .number(let limit)? = o["limit"],
                        case .number(let seconds)? = o["per_s"],
                        (1...1_000_000).contains(limit), limit == limit.rounded(), (1...31_536_000).contains(seconds),
                        o.count == 2
                    else {
                        problem(
                            "\(path).recipient_limits[\(i)]",
                            "expected { limit: 1 to 1000000, per_s: 1 to 31536000 }")
                        continue
                    }
                    parsed.append(RecipientLimits.Window(limit: Int(limit), per: .milliseconds(Int64(seconds * 1000))))
                }
                g.recipientLimits = parsed
            }
            if let keywords = array("\(path).opt_out_keywords") {
                var parsed: [String] = []
                for (i, item) in keywords.enumerated() {
                    guard case .string(let word) = item, !OptOutKeywords.fold(word).isEmpty, word.count <= 16 else {
                        problem("\(path).opt_out_keywords[\(i)]", "expected a word of 1 to 16 characters")
                        continue
                    }
                    parsed.append(word)
                }
                g.optOutKeywords = parsed
            }
            if let options = object("\(path).options") {
                for (key, value) in options {
                    switch value {
                    case .string(let s): g.options[key] = s
                    case .number(let n): g.options[key] = Int64(exactly: n).map { String($0) } ?? String(n)
                    case .bool(let b): g.options[key] = String(b)
                    default: problem("\(path).options.\(key)", "expected a string, number or boolean")
                    }
                }
            }
            result.append(g)
        }
        return result
    }
}
