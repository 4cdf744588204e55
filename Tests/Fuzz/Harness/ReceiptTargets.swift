// Receipt bodies as providers push them, and the pollers' answers.

import Delivery
import Foundation

/// Touches every field, so lazily built strings (masking, descriptions) are exercised too.
private func consume(_ receipts: [Receipt]) {
    for receipt in receipts { _ = receipt.description }
}

/// Folds every reply's text as the opt-out check does.
private func consume(_ replies: [InboundMessage]) {
    let keywords = OptOutKeywords()
    for reply in replies { _ = (reply.description, keywords.matches(reply.text)) }
}

/// Aliyun `SmsReport` and `SmsUp` pushes and `QuerySendDetails` answers.
func fuzzAliyun(_ bytes: [UInt8]) {
    if let receipts = try? AliyunReceiptParser.parse(bytes, gateway: "aliyun") { consume(receipts) }
    if let replies = try? InboundParser.aliyun(bytes, gateway: "aliyun") { consume(replies) }
    if let page = try? AliyunReceiptPoller.parse(bytes, gateway: "aliyun", bizID: "123^456") { consume(page.receipts) }
}

/// Tencent status callbacks and `PullSmsSendStatus` / `PullSmsSendStatusByPhoneNumber` answers.
func fuzzTencent(_ bytes: [UInt8]) {
    if let receipts = try? TencentReceiptParser.parse(bytes, gateway: "tencent") { consume(receipts) }
    if let replies = try? InboundParser.tencent(bytes, gateway: "tencent") { consume(replies) }
    if let receipts = try? TencentReceiptPoller.parse(bytes, gateway: "tencent") { consume(receipts) }
}

/// The generic gateway's receipt push.
func fuzzGeneric(_ bytes: [UInt8]) {
    if let receipts = try? GenericReceiptParser.parse(bytes, gateway: "generic") { consume(receipts) }
    if let replies = try? InboundParser.generic(bytes, gateway: "generic") { consume(replies) }
}

private let weChatToken = "fuzz-token"
private let weChatNow = Date(timeIntervalSince1970: 1_395_658_920)

/// A WeChat push: the first line is the query (`signature=…&timestamp=…&nonce=…`), the rest the
/// XML body. The query is checked as sent (almost always a mismatch), then re-signed so the
/// timestamp window and the body are reached through `parse` as well.
func fuzzWeChat(_ bytes: [UInt8]) {
    let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
    let body = Array(bytes[min(newline + 1, bytes.endIndex)...])
    var query: [(name: String, value: String)] = String(decoding: bytes[..<newline], as: UTF8.self)
        .split(separator: "&", omittingEmptySubsequences: false)
        .map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
    for maxAge in [WeChatReceiptParser.defaultMaxAge, nil] {
        if let receipts = try? WeChatReceiptParser.parse(
            body, query: query, gateway: "wechat", token: weChatToken, now: weChatNow, maxAge: maxAge)
        {
            consume(receipts)
        }
    }
    func value(_ name: String) -> String? { query.first { $0.name == name }?.value }
    if let timestamp = value("timestamp"), let nonce = value("nonce"),
        let signature = try? WeChatSignature.compute(token: weChatToken, timestamp: timestamp, nonce: nonce)
    {
        query.removeAll { $0.name == "signature" }
        query.append(("signature", signature))
        for maxAge in [WeChatReceiptParser.defaultMaxAge, nil] {
            if let receipts = try? WeChatReceiptParser.parse(
                body, query: query, gateway: "wechat", token: weChatToken, now: weChatNow, maxAge: maxAge)
            {
                consume(receipts)
            }
        }
    }
    if let receipts = try? WeChatReceiptParser.parseVerified(body, gateway: "wechat") { consume(receipts) }
}

/// The XML reader (`MiniXML`) on any document: `parseVerified` parses the whole document before it
/// checks the root, the fields and the event.
func fuzzMiniXML(_ bytes: [UInt8]) {
    if let receipts = try? WeChatReceiptParser.parseVerified(bytes, gateway: "wechat") { consume(receipts) }
    switch try? WeChatReceiptParser.parseVerifiedPush(bytes, gateway: "wechat") {
    case .receipts(let receipts): consume(receipts)
    case .inbound(let message): consume([message])
    case .ignored, nil: break
    }
}
