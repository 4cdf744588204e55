import Config
import Delivery
import Foundation
import Kit
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
    public func outbound(id: String, recipient: String, kind: GatewayKind) -> OutboundMessage? {
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

    /// The payload as the outbox stores it: the bytes `JSONEncoder` writes with `.sortedKeys` and
    /// `.withoutEscapingSlashes`, written by hand because planning encodes one per message and
    /// `JSONEncoder` took a third of a campaign's planning time.
    public func encoded() -> [UInt8] {
        var w = PayloadJSONWriter()
        w.beginObject()
        if let aliyun {
            w.key("aliyun")
            w.beginObject()
            w.key("params")
            w.beginArray()
            for param in aliyun.params {
                w.beginObject()
                w.key("key")
                w.value(param.key)
                w.key("value")
                w.value(param.value)
                w.endObject()
            }
            w.endArray()
            w.key("signName")
            w.value(aliyun.signName)
            w.key("templateCode")
            w.value(aliyun.templateCode)
            w.endObject()
        }
        if let fallbackMobile {
            w.key("fallbackMobile")
            w.value(fallbackMobile)
        }
        if let sms {
            w.key("sms")
            w.beginObject()
            w.key("includedPolicies")
            w.value(sms.includedPolicies)
            w.key("length")
            w.value(sms.length)
            w.key("segments")
            w.value(sms.segments)
            w.key("text")
            w.value(sms.text)
            w.endObject()
        }
        if let tencent {
            w.key("tencent")
            w.beginObject()
            w.key("params")
            w.beginArray()
            for param in tencent.params { w.value(param) }
            w.endArray()
            w.key("signName")
            w.value(tencent.signName)
            w.key("templateID")
            w.value(tencent.templateID)
            w.endObject()
        }
        if let wechat {
            w.key("wechat")
            w.beginObject()
            w.key("fields")
            w.beginArray()
            for field in wechat.fields {
                w.beginObject()
                w.key("key")
                w.value(field.key)
                w.key("value")
                w.value(field.value)
                w.endObject()
            }
            w.endArray()
            w.key("templateID")
            w.value(wechat.templateID)
            if let url = wechat.url {
                w.key("url")
                w.value(url)
            }
            w.endObject()
        }
        w.endObject()
        return w.bytes
    }

    /// The payload `bytes` hold, as `JSONDecoder` reads it; read by hand (``PayloadJSONReader``)
    /// because the daemon decodes one per message it sends. Text the reader does not expect goes
    /// to `JSONDecoder`, whose value or error stands.
    public static func decode(_ bytes: [UInt8]) throws -> MessagePayload {
        if let payload = try? PayloadJSONReader.read(bytes) { return payload }
        return try JSONDecoder().decode(MessagePayload.self, from: Data(bytes))
    }
}

/// Compact JSON written straight into bytes; keys are written in the order given.
private struct PayloadJSONWriter {
    var bytes: [UInt8] = []
    /// No comma before the next value: at the start of a container or right after a key.
    private var first = true

    init() { bytes.reserveCapacity(1024) }

    private mutating func separate() {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
    }

    mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        first = true
    }

    mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        first = false
    }

    mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        first = true
    }

    mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        first = false
    }

    mutating func key(_ name: String) {
        value(name)
        bytes.append(UInt8(ascii: ":"))
        first = true
    }

    mutating func value(_ number: Int) {
        separate()
        bytes.append(contentsOf: String(number).utf8)
    }

    /// A string literal escaped as `JSONEncoder` does (quote, backslash and control characters),
    /// and U+2028 and U+2029 too, as every JSON string we write.
    mutating func value(_ text: String) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        JSONText.append(escaped: text, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }
}
