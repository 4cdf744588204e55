import Delivery
import Foundation
import Messaging
import Registry
import Rules

/// What the outbox stores for one message: the package rendered for every gateway kind of its
/// channel, so dispatch can fail over between providers without rendering again.
public struct MessagePayload: Sendable, Hashable, Codable {
    public var sms: RenderedSMS?
    public var aliyun: AliyunSMS?
    public var tencent: TencentSMS?
    public var wechat: RenderedWeChat?
    /// For a WeChat message of a campaign that allows fallback: the mobile number an SMS
    /// fallback goes to, with `sms`/`aliyun`/`tencent` rendered for it.
    public var fallbackMobile: String?

    public init(
        sms: RenderedSMS? = nil, aliyun: AliyunSMS? = nil, tencent: TencentSMS? = nil, wechat: RenderedWeChat? = nil,
        fallbackMobile: String? = nil
    ) {
        self.sms = sms
        self.aliyun = aliyun
        self.tencent = tencent
        self.wechat = wechat
        self.fallbackMobile = fallbackMobile
    }

    /// Renders the package of `enterprise` for `channel`.
    public static func render(
        _ channel: Channel, enterprise: Enterprise, policies: [PolicyProfile], renderer: PackageRenderer
    ) -> MessagePayload {
        switch channel {
        case .sms:
            MessagePayload(
                sms: renderer.renderSMS(for: enterprise, policies: policies),
                aliyun: renderer.renderAliyun(for: enterprise, policies: policies),
                tencent: renderer.renderTencent(for: enterprise, policies: policies))
        case .wechat:
            MessagePayload(wechat: renderer.renderWeChat(for: enterprise, policies: policies))
        }
    }

    /// The message a gateway of `kind` sends; `nil` when the payload has no rendering for it.
    public func outbound(id: String, recipient: String, kind: GatewaySettings.Kind) -> OutboundMessage? {
        switch kind {
        case .generic:
            guard let sms else { return nil }
            return OutboundMessage(id: id, recipient: recipient, text: sms.text)
        case .aliyun:
            guard let aliyun else { return nil }
            return OutboundMessage(
                id: id, recipient: recipient, templateID: aliyun.templateCode, signName: aliyun.signName,
                params: aliyun.params.map { .init(key: $0.key, value: $0.value) })
        case .tencent:
            guard let tencent else { return nil }
            return OutboundMessage(
                id: id, recipient: recipient, templateID: tencent.templateID, signName: tencent.signName,
                params: tencent.params.enumerated().map { .init(key: String($0.offset + 1), value: $0.element) })
        case .wechat:
            guard let wechat else { return nil }
            return OutboundMessage(
                id: id, recipient: recipient, templateID: wechat.templateID,
                params: wechat.fields.map { .init(key: $0.key, value: $0.value) }, url: wechat.url)
        }
    }

    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? Array(encoder.encode(self))) ?? []
    }

    public static func decode(_ bytes: [UInt8]) throws -> MessagePayload {
        try JSONDecoder().decode(MessagePayload.self, from: Data(bytes))
    }
}
