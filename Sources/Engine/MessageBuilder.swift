import Delivery
import Messaging
import Registry
import Rules

/// Turns one enterprise's policy package into the message a gateway of a given kind sends.
public enum MessageBuilder {
    public struct MissingTemplate: Error, CustomStringConvertible {
        public var kind: GatewaySettings.Kind
        public var description: String { "no template for \(kind.rawValue) gateways: add templates/\(kind.rawValue).json5" }
    }

    /// - Parameters:
    ///   - id: the message id (idempotency key) the provider echoes back.
    ///   - recipient: the mobile number (SMS gateways) or openid (WeChat).
    public static func outbound(
        id: String, recipient: String, enterprise: Enterprise, policies: [PolicyProfile],
        kind: GatewaySettings.Kind, renderer: PackageRenderer
    ) throws -> OutboundMessage {
        switch kind {
        case .generic:
            let sms = renderer.renderSMS(for: enterprise, policies: policies)
            return OutboundMessage(
                id: id, recipient: recipient, text: sms.text,
                params: [
                    .init(key: "segments", value: String(sms.segments)),
                    .init(key: "policies", value: policies.map(\.id).joined(separator: ",")),
                ])
        case .aliyun:
            guard let sms = renderer.renderAliyun(for: enterprise, policies: policies) else { throw MissingTemplate(kind: kind) }
            return OutboundMessage(
                id: id, recipient: recipient, templateID: sms.templateCode, signName: sms.signName,
                params: sms.params.map { .init(key: $0.key, value: $0.value) })
        case .tencent:
            guard let sms = renderer.renderTencent(for: enterprise, policies: policies) else { throw MissingTemplate(kind: kind) }
            return OutboundMessage(
                id: id, recipient: recipient, templateID: sms.templateID, signName: sms.signName,
                params: sms.params.enumerated().map { .init(key: String($0.offset + 1), value: $0.element) })
        case .wechat:
            let message = renderer.renderWeChat(for: enterprise, policies: policies)
            return OutboundMessage(
                id: id, recipient: recipient, templateID: message.templateID,
                params: message.fields.map { .init(key: $0.key, value: $0.value) }, url: message.url)
        }
    }
}

extension DeliveryService {
    /// The receipts listener's configuration for every gateway that pushes receipts.
    ///
    /// - Throws: `ConfigurationError` when a receipt token cannot be read.
    public static func receiptListenerConfiguration(
        _ configuration: Configuration, environment: [String: String]
    ) throws -> ReceiptListener.Configuration {
        var gateways: [String: ReceiptListener.Gateway] = [:]
        for g in configuration.gateways {
            guard let token = try g.receiptToken.secret(for: "gateways.\(g.name).receipts", environment: environment) else {
                continue
            }
            let kind: ReceiptListener.Kind
            switch g.kind {
            case .aliyun: kind = .aliyun
            case .tencent: kind = .tencent
            case .wechat: kind = .wechat
            case .generic: kind = .generic
            }
            gateways[g.name] = .init(
                kind: kind, authentication: kind == .wechat ? .wechatSignature(token: token) : .pathToken(token))
        }
        let listen = configuration.receiptsListen ?? ("127.0.0.1", 0)
        let result = ReceiptListener.Configuration(
            server: .init(host: listen.host, port: listen.port), gateways: gateways)
        do {
            try result.validate()
        } catch {
            throw ConfigurationError(file: configuration.file ?? "(defaults)", problems: ["receipts: \(error)"])
        }
        return result
    }
}
