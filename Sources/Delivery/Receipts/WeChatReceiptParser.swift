import Foundation

/// Parses WeChat `TEMPLATESENDJOBFINISH` events (Delivery/Gateways.md §5), plain-text mode.
///
/// The signature check comes first, before a byte of the body is read. Other events and messages
/// posted to the same server URL (subscribe, clicks, user text) yield no receipts and are
/// acknowledged. Safe mode (`<Encrypt>`, `encrypt_type=aes`) is refused as unsupported.
///
/// `Status`: `success` → delivered; `failed:user block` → failed, SMS fallback allowed;
/// `failed: system failed` (and any other `failed…`) → failed. The dedupe key is
/// `FromUserName + CreateTime`, refined with `MsgID` so that two template messages to one user
/// in the same second stay apart.
///
/// `CreateTime` must be a unix time in plain digits between 2000-01-01 and one day past now, and
/// `MsgID` an unsigned 64-bit integer in plain digits; anything else is `.malformed`, and so is
/// a `FromUserName` (the openid) over 128 bytes, a `ToUserName` over 64 or a `Status` over 64.
public enum WeChatReceiptParser {
    /// The body WeChat expects (within 5 s) once the event is stored.
    public static let successReply = "success"

    /// The default timestamp window: WeChat retries within 15 s, so five minutes tolerates clock
    /// skew and retries while refusing old captured requests.
    public static let defaultMaxAge: Duration = .seconds(300)

    /// Verifies the signature, then parses the event.
    ///
    /// - Parameters:
    ///   - body: the request body (XML).
    ///   - query: the request's query arguments (`signature`, `timestamp`, `nonce`, ...).
    ///   - gateway: the configured gateway name, copied into the receipt.
    ///   - token: the server-URL token configured in the WeChat console.
    ///   - now: the current time, from the injected clock.
    ///   - maxAge: the timestamp window (see ``defaultMaxAge``); nil turns the check off.
    /// - Throws: ``ReceiptError`` `.unauthenticated`, `.malformed`, `.unsupported`.
    public static func parse(
        _ body: [UInt8], query: [(name: String, value: String)], gateway: String, token: String, now: Date,
        maxAge: Duration? = defaultMaxAge
    ) throws(ReceiptError) -> [Receipt] {
        try WeChatSignature.verify(query: query, token: token, now: now, maxAge: maxAge)
        if query.contains(where: { $0.name == "encrypt_type" && $0.value == "aes" }) {
            throw ReceiptError(.unsupported, "WeChat safe mode is not supported")
        }
        return try parseVerified(body, gateway: gateway, now: now)
    }

    /// Parses an event whose signature the caller has already checked.
    ///
    /// - Parameter now: the current time; a `CreateTime` more than a day past it is refused.
    public static func parseVerified(
        _ body: [UInt8], gateway: String, now: Date = Date()
    ) throws(ReceiptError) -> [Receipt] {
        let fields = try MiniXML.flatFields(body)
        if fields["Encrypt"] != nil { throw ReceiptError(.unsupported, "WeChat safe mode is not supported") }
        guard fields["MsgType"] == "event", fields["Event"] == "TEMPLATESENDJOBFINISH" else { return [] }
        guard let from = nonEmpty(fields["FromUserName"]), let createTime = fields["CreateTime"],
            let msgID = nonEmpty(fields["MsgID"]), let statusText = fields["Status"]
        else { throw ReceiptError(.malformed, "WeChat TEMPLATESENDJOBFINISH lacks a field") }
        try ReceiptCheck.length(from, 128, "WeChat FromUserName")
        try ReceiptCheck.length(fields["ToUserName"], 64, "WeChat ToUserName")
        try ReceiptCheck.length(statusText, 64, "WeChat Status")
        let occurredAt = try ReceiptCheck.unixSeconds(createTime, now: now, "WeChat CreateTime")
        guard ReceiptCheck.unsigned(msgID) != nil else {
            throw ReceiptError(.malformed, "WeChat MsgID is not an unsigned integer")
        }
        let status: Receipt.Status
        var fallback = false
        switch statusText {
        case "success":
            status = .delivered
        case "failed:user block":
            status = .failed
            fallback = true
        default:
            guard statusText.hasPrefix("failed") else {
                throw ReceiptError(.unsupported, "unknown WeChat template status")
            }
            status = .failed
        }
        return [
            Receipt(
                gateway: gateway, providerID: msgID, recipient: from, status: status, reasonCode: statusText,
                fallbackAllowed: fallback, occurredAt: occurredAt,
                dedupeKey: "wechat:" + [from, createTime, msgID].joined(separator: "|")
            )
        ]
    }
}
