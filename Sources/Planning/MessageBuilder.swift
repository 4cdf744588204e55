import Config
import Delivery
import Messaging
import Registry
import Rules

/// Turns one enterprise's policy package into the message a gateway of a given kind sends.
public enum MessageBuilder {
    public struct MissingTemplate: Error, CustomStringConvertible {
        public var kind: GatewayKind
        public var description: String {
            "no template for \(kind.rawValue) gateways: add templates/\(kind.rawValue).json5"
        }
    }

    /// - Parameters:
    ///   - id: the message id (idempotency key) the provider echoes back.
    ///   - recipient: the mobile number (SMS gateways) or openid (WeChat).
    public static func outbound(
        id: String, recipient: String, enterprise: Enterprise, policies: [PolicyProfile],
        kind: GatewayKind, renderer: PackageRenderer
    ) throws -> OutboundMessage {
        let channel: Channel = kind == .wechat ? .wechat : .sms
        let payload = MessagePayload.render(channel, enterprise: enterprise, policies: policies, renderer: renderer)
        guard let message = payload.outbound(id: id, recipient: recipient, kind: kind) else {
            throw MissingTemplate(kind: kind)
        }
        return message
    }
}
