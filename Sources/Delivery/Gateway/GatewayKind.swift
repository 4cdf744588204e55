/// The providers PolicyPush talks to: the one name of a gateway's kind, in configuration
/// (`kind: "aliyun"`), adapters, the receipts listener and the stub gateways.
public enum GatewayKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// Aliyun SMS (dysmsapi `SendSms`; `SmsReport` pushes).
    case aliyun
    /// Tencent Cloud SMS (API 3.0 `SendSms`; status callbacks).
    case tencent
    /// WeChat official-account template messages (`TEMPLATESENDJOBFINISH` events).
    case wechat
    /// A generic JSON gateway (`Idempotency-Key`; JSON receipt arrays).
    case generic
}
