import Delivery
import Foundation

/// Builds the adapter of a configured gateway: credentials loaded, provider options checked.
public enum GatewayFactory {
    /// A configured gateway's adapter and the HTTP client it sends through.
    public struct Built: Sendable {
        public var settings: GatewaySettings
        public var adapter: any GatewayAdapter
        /// The credentials the adapter signs with (its provider's query API uses them too).
        public var credentials: Credentials?
    }

    /// Options each kind understands (under `gateways.<name>.options`).
    static let knownOptions: [GatewayKind: Set<String>] = [
        .aliyun: ["region", "signature_version", "sign_name"],
        .tencent: ["region", "sdk_app_id", "sign_name"],
        .wechat: ["token_scheme"],
        .generic: ["path", "provider_id_field", "body_template", "deduplicates"],
    ]

    /// - Throws: `ConfigurationError` naming the gateway and key, or the credential source (never a secret).
    public static func build(
        _ g: GatewaySettings, client: any HTTPClient,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> Built {
        let path = "gateways.\(g.name)"
        var problems: [String] = []
        for key in g.options.keys.sorted() where !(knownOptions[g.kind]?.contains(key) ?? false) {
            problems.append("\(path).options.\(key): unknown option for a \(g.kind.rawValue) gateway")
        }
        func loadCredentials(required: Bool) throws -> Credentials? {
            guard let source = g.credentials else {
                if required { problems.append("\(path).credentials: required for a \(g.kind.rawValue) gateway") }
                return nil
            }
            return try source.load(environment: environment)
        }
        let adapter: any GatewayAdapter
        var loaded: Credentials?
        func credentials(required: Bool) throws -> Credentials? {
            loaded = try loadCredentials(required: required)
            return loaded
        }
        do {
            switch g.kind {
            case .generic:
                let deduplicates: Bool
                switch g.options["deduplicates"] {
                case nil, "true": deduplicates = true
                case "false": deduplicates = false
                default:
                    deduplicates = false
                    problems.append("\(path).options.deduplicates: expected true or false")
                }
                adapter = GenericJSONAdapter(
                    configuration: .init(
                        url: g.baseURL + (g.options["path"] ?? "/sms/send"),
                        bodyTemplate: g.options["body_template"],
                        providerIDField: g.options["provider_id_field"] ?? "id",
                        timeout: g.timeout, connectTimeout: g.connectTimeout, deduplicates: deduplicates),
                    credentials: try credentials(required: false))
            case .aliyun:
                let version = g.options["signature_version"].map { AliyunSMSAdapter.SignatureVersion(rawValue: $0) }
                if case .some(nil) = version { problems.append("\(path).options.signature_version: expected v2 or v3") }
                let creds = try credentials(required: true)
                adapter = AliyunSMSAdapter(
                    configuration: .init(
                        baseURL: g.baseURL, regionID: g.options["region"] ?? "cn-hangzhou",
                        signatureVersion: (version ?? nil) ?? .v2, defaultSignName: g.options["sign_name"],
                        timeout: g.timeout, connectTimeout: g.connectTimeout),
                    credentials: creds ?? Credentials(id: "", secret: ""))
            case .tencent:
                guard let appID = g.options["sdk_app_id"] else {
                    problems.append("\(path).options.sdk_app_id: required for a tencent gateway")
                    throw ConfigurationError(file: "config", problems: problems)
                }
                let creds = try credentials(required: true)
                adapter = TencentSMSAdapter(
                    configuration: .init(
                        baseURL: g.baseURL, region: g.options["region"] ?? "ap-guangzhou", smsSdkAppID: appID,
                        defaultSignName: g.options["sign_name"], timeout: g.timeout, connectTimeout: g.connectTimeout),
                    credentials: creds ?? Credentials(id: "", secret: ""))
            case .wechat:
                let scheme = g.options["token_scheme"].map { WeChatTokenCache.Scheme(rawValue: $0) }
                if case .some(nil) = scheme {
                    problems.append("\(path).options.token_scheme: expected classic or stable")
                }
                let creds = try credentials(required: true)
                let tokens = WeChatTokenCache(
                    configuration: .init(
                        baseURL: g.baseURL, scheme: (scheme ?? nil) ?? .stable, timeout: g.timeout,
                        connectTimeout: g.connectTimeout),
                    credentials: creds ?? Credentials(id: "", secret: ""), client: client)
                adapter = WeChatTemplateAdapter(
                    configuration: .init(baseURL: g.baseURL, timeout: g.timeout, connectTimeout: g.connectTimeout),
                    tokens: tokens)
            }
        } catch let error as ConfigurationError {
            throw error
        } catch {
            problems.append("\(path).credentials: \(error)")
            throw ConfigurationError(file: "config", problems: problems)
        }
        if !problems.isEmpty { throw ConfigurationError(file: "config", problems: problems) }
        return Built(settings: g, adapter: adapter, credentials: loaded)
    }
}
