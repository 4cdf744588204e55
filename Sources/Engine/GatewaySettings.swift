import Foundation

/// One configured gateway, as read from the `gateways` section of the config.
///
/// Provider-specific keys (`region`, `sdk_app_id`, `app_id`, `token_mode`, `path`, …) stay in
/// `options`; the adapter factory reads the ones its kind needs and rejects the rest.
public struct GatewaySettings: Sendable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case aliyun, tencent, wechat, generic
    }

    public enum CredentialSource: Sendable, Hashable, CustomStringConvertible {
        /// A file (e.g. a systemd credential in `$CREDENTIALS_DIRECTORY`).
        case file(String)
        /// Environment variables with this prefix (`<PREFIX>_ID`, `<PREFIX>_SECRET`).
        case environment(String)
        case none

        public var description: String {
            switch self {
            case .file(let path): "file \(path)"
            case .environment(let prefix): "environment \(prefix)_*"
            case .none: "none"
            }
        }
    }

    public var name: String
    public var kind: Kind
    public var baseURL: String
    public var credentials: CredentialSource
    /// Messages per second (token bucket rate); 0 = unlimited.
    public var rate: Double
    public var burst: Int
    /// Messages per natural day in the configured time zone; 0 = unlimited.
    public var dailyCap: Int
    public var maxInFlight: Int
    public var timeout: Duration
    public var connectTimeout: Duration
    public var retryMaxAttempts: Int
    public var retryBase: Duration
    public var retryMax: Duration
    public var retryMaxAge: Duration
    public var breakerFailureRate: Double
    public var breakerWindow: Int
    public var breakerMinimumCalls: Int
    public var breakerConsecutiveFailures: Int
    public var breakerCoolDown: Duration
    /// Where the secret that receipt pushes must carry comes from (the path token, or WeChat's
    /// push token for its signature); `.none` when the gateway pushes no receipts.
    public var receiptToken: CredentialSource
    /// Share of the channel's traffic, relative to the other gateways of the channel.
    public var weight: Int
    /// The provider's per-recipient frequency limits, applied before sending (messages over them
    /// are deferred, not failed). `nil` = the provider's defaults: Aliyun 50 per day per
    /// signature, template and number; Tencent one identical message per 30 s per number.
    public var recipientLimits: [(limit: Int, period: Duration)]?
    public var options: [String: String]

    public static func defaults(name: String, kind: Kind) -> GatewaySettings {
        GatewaySettings(
            name: name, kind: kind, baseURL: "", credentials: .none, rate: 50, burst: 10, dailyCap: 0,
            maxInFlight: 32, timeout: .seconds(5), connectTimeout: .seconds(2), retryMaxAttempts: 5,
            retryBase: .seconds(1), retryMax: .seconds(300), retryMaxAge: .seconds(24 * 3600),
            breakerFailureRate: 0.5, breakerWindow: 50, breakerMinimumCalls: 20, breakerConsecutiveFailures: 10,
            breakerCoolDown: .seconds(30), receiptToken: .none, weight: 1, recipientLimits: nil, options: [:])
    }
}

extension KeyReader {
    /// The largest number a gateway setting may hold: they become `Int`s and millisecond `Duration`s,
    /// and 1e300 trapped on the way.
    static let largestSetting = 1e15

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
            guard let kind = GatewaySettings.Kind(rawValue: kindText) else {
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
            case (nil, let e?): g.credentials = .environment(e)
            case (nil, nil): break
            default: problem("\(path).credentials", "give either file or env, not both")
            }
            func positive(_ key: String, _ apply: (Double) -> Void, allowZero: Bool = true) {
                guard let v = double("\(path).\(key)") else { return }
                if v < 0 || (!allowZero && v == 0) || !v.isFinite {
                    problem("\(path).\(key)", allowZero ? "must be 0 or more" : "must be more than 0")
                } else if v > Self.largestSetting {
                    problem("\(path).\(key)", "must be at most 10^15")
                } else {
                    apply(v)
                }
            }
            positive("rate") { g.rate = $0 }
            positive("burst", { g.burst = Int($0) }, allowZero: false)
            positive("daily_cap") { g.dailyCap = Int($0) }
            positive("max_in_flight", { g.maxInFlight = Int($0) }, allowZero: false)
            positive("timeout_ms", { g.timeout = .milliseconds(Int64($0)) }, allowZero: false)
            positive("connect_timeout_ms", { g.connectTimeout = .milliseconds(Int64($0)) }, allowZero: false)
            positive("retry.max_attempts", { g.retryMaxAttempts = Int($0) }, allowZero: false)
            positive("retry.base_ms", { g.retryBase = .milliseconds(Int64($0)) }, allowZero: false)
            positive("retry.max_ms", { g.retryMax = .milliseconds(Int64($0)) }, allowZero: false)
            positive("retry.max_age_s", { g.retryMaxAge = .seconds(Int64($0)) }, allowZero: false)
            positive("breaker.failure_rate") { v in
                if v > 1 { problem("\(path).breaker.failure_rate", "must be between 0 and 1") } else { g.breakerFailureRate = v }
            }
            positive("breaker.window", { g.breakerWindow = Int($0) }, allowZero: false)
            positive("breaker.min_calls", { g.breakerMinimumCalls = Int($0) }, allowZero: false)
            positive("breaker.consecutive", { g.breakerConsecutiveFailures = Int($0) }, allowZero: false)
            positive("breaker.cool_down_ms", { g.breakerCoolDown = .milliseconds(Int64($0)) }, allowZero: false)
            positive("weight", { g.weight = Int($0) }, allowZero: false)
            switch (string("\(path).receipts.token_file"), string("\(path).receipts.token_env")) {
            case (let f?, nil): g.receiptToken = .file(f)
            case (nil, let e?): g.receiptToken = .environment(e)
            case (nil, nil): break
            default: problem("\(path).receipts", "give either token_file or token_env, not both")
            }
            if let limits = array("\(path).recipient_limits") {
                var parsed: [(limit: Int, period: Duration)] = []
                for (i, item) in limits.enumerated() {
                    guard case .object(let o) = item, case .number(let limit)? = o["limit"], case .number(let seconds)? = o["per_s"],
                        limit >= 1, seconds > 0, o.count == 2,
                        limit <= Self.largestSetting, seconds <= Self.largestSetting / 1000
                    else {
                        problem("\(path).recipient_limits[\(i)]", "expected { limit: N, per_s: SECONDS }")
                        continue
                    }
                    parsed.append((Int(limit), .milliseconds(Int64(seconds * 1000))))
                }
                g.recipientLimits = parsed
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
