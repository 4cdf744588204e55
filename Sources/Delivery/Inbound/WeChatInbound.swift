import Foundation

/// What one signed WeChat push to the official account's server URL is about.
public enum WeChatPush: Sendable, Hashable {
    /// `TEMPLATESENDJOBFINISH`: the outcome of a template message.
    case receipts([Receipt])
    /// An `unsubscribe` event or a follower's text message.
    case inbound(InboundMessage)
    /// Anything else (subscribe, menu clicks, images): acknowledged and dropped.
    case ignored
}

extension WeChatReceiptParser {
    /// Parses a push whose signature the caller has already checked: a template receipt, an
    /// unsubscribe, a follower's text, or something to acknowledge and drop.
    ///
    /// Unsubscribe and text share the receipt's checks: `FromUserName` at most 128 bytes,
    /// `CreateTime` a plausible unix time; a text's `Content` at most 2048 bytes and `MsgId`
    /// unsigned digits. Dedupe keys: `wechat:unsubscribe|<openid>|<CreateTime>` and
    /// `wechat:text|<MsgId>` (WeChat's own advice for recognising its retries).
    public static func parseVerifiedPush(
        _ body: [UInt8], gateway: String, now: Date = Date()
    ) throws(ReceiptError) -> WeChatPush {
        let fields = try MiniXML.flatFields(body)
        if fields["Encrypt"] != nil { throw ReceiptError(.unsupported, "WeChat safe mode is not supported") }
        switch (fields["MsgType"], fields["Event"]) {
        case ("event", "TEMPLATESENDJOBFINISH"):
            return .receipts(try parseVerified(body, gateway: gateway, now: now))
        case ("event", "unsubscribe"):
            let (from, createTime, sentAt) = try sender(fields, now: now)
            return .inbound(
                InboundMessage(
                    gateway: gateway, kind: .wechatUnsubscribe, sender: from, text: "", sentAt: sentAt,
                    dedupeKey: "wechat:unsubscribe|\(from)|\(createTime)", raw: String(decoding: body, as: UTF8.self)))
        case ("text", _):
            let (from, _, sentAt) = try sender(fields, now: now)
            guard let content = fields["Content"], let msgID = fields["MsgId"] ?? fields["MsgID"],
                ReceiptCheck.unsigned(msgID) != nil
            else { throw ReceiptError(.malformed, "WeChat text message lacks Content or MsgId") }
            try ReceiptCheck.length(content, InboundParser.Cap.text, "WeChat Content")
            return .inbound(
                InboundMessage(
                    gateway: gateway, kind: .wechatText, sender: from, text: content, sentAt: sentAt,
                    dedupeKey: "wechat:text|\(msgID)", raw: String(decoding: body, as: UTF8.self)))
        default:
            return .ignored
        }
    }

    private static func sender(
        _ fields: [String: String], now: Date
    ) throws(ReceiptError) -> (openID: String, createTime: String, sentAt: Date) {
        guard let from = fields["FromUserName"], !from.isEmpty, let createTime = fields["CreateTime"] else {
            throw ReceiptError(.malformed, "WeChat push lacks FromUserName or CreateTime")
        }
        try ReceiptCheck.length(from, 128, "WeChat FromUserName")
        try ReceiptCheck.length(fields["ToUserName"], 64, "WeChat ToUserName")
        let sentAt = try ReceiptCheck.unixSeconds(createTime, now: now, "WeChat CreateTime")
        return (from, createTime, sentAt)
    }
}
