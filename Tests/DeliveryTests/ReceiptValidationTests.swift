import Foundation
import Testing

@testable import Delivery

/// Every number and field of a push is checked before any arithmetic or storage: absurd times,
/// sizes and overlong fields make the push malformed, and nothing traps.
@Suite struct ReceiptValidationTests {
    func wechat(
        createTime: String = "1395658920", msgID: String = "200163836", from: String = "oia2TjuEGTNoeX76QEjQNrcURxG8",
        status: String = "success"
    ) -> [UInt8] {
        receiptBytes(
            """
            <xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName><FromUserName><![CDATA[\(from)]]></FromUserName>
            <CreateTime>\(createTime)</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event>
            <MsgID>\(msgID)</MsgID><Status><![CDATA[\(status)]]></Status></xml>
            """)
    }

    func aliyun(_ fields: [String: String], success: String = "true") -> [UInt8] {
        var report: [String: String] = [
            "phone_number": "13812345678", "send_time": "2017-01-01 00:00:00", "report_time": "2017-01-01 00:00:05",
            "err_code": "DELIVERED", "err_msg": "用户接收成功", "sms_size": "1", "biz_id": "900619746936498440^0",
            "out_id": "m-1",
        ]
        report.merge(fields) { $1 }
        let members = report.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\(json($0.value))" }
        return receiptBytes("[{" + members.joined(separator: ",") + ",\"success\":\(success)}]")
    }

    func tencent(_ fields: [String: String]) -> [UInt8] {
        var report: [String: String] = [
            "user_receive_time": "2015-10-17 08:03:04", "nationcode": "86", "mobile": "13800001111",
            "report_status": "SUCCESS", "errmsg": "DELIVRD", "description": "用户短信送达成功",
            "sid": "5000:1045710669157053657849499619",
            "ext": "msg-1",
        ]
        report.merge(fields) { $1 }
        let members = report.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\(json($0.value))" }
        return receiptBytes("[{" + members.joined(separator: ",") + "}]")
    }

    func generic(_ fields: [String: String]) -> [UInt8] {
        var item: [String: String] = [
            "idempotency_key": "c1-e42-sms", "provider_id": "gen-7", "status": "delivered", "code": "DELIVRD",
            "time": "2026-01-02T03:04:05Z",
        ]
        item.merge(fields) { $1 }
        let members = item.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\(json($0.value))" }
        return receiptBytes("[{" + members.joined(separator: ",") + "}]")
    }

    /// A JSON string literal (the values here need no escaping beyond quotes).
    func json(_ value: String) -> String { "\"" + value.replacingOccurrences(of: "\"", with: "\\\"") + "\"" }

    // MARK: Numbers

    @Test(arguments: [
        "9300000000000000", "9223372036854775807", "99999999999999999999999", "-1", "0", "946684799", "1e10",
        "+1395658920", " 1395658920", "NaN", "0x53", "4102444800",
    ])
    func wechatCreateTimeMustBeAPlausibleUnixTime(createTime: String) {
        #expect(
            receiptErrorCode { try WeChatReceiptParser.parseVerified(wechat(createTime: createTime), gateway: "wx") }
                == .malformed, "CreateTime \(createTime)")
    }

    @Test(arguments: ["-5", "abc", "18446744073709551616", "1.5", ""])
    func wechatMsgIDMustBeAnUnsignedInteger(msgID: String) {
        #expect(
            receiptErrorCode { try WeChatReceiptParser.parseVerified(wechat(msgID: msgID), gateway: "wx") }
                == .malformed, "MsgID \(msgID)")
    }

    @Test(arguments: [
        ["report_time": "9999-12-31 23:59:59"], ["report_time": "1970-01-01 08:00:00"],
        ["send_time": "9999-12-31 23:59:59"], ["sms_size": "99999999999999999999"], ["sms_size": "-1"],
        ["sms_size": "NaN"], ["sms_size": "100000"],
    ])
    func aliyunTimesAndSizesMustBePlausible(fields: [String: String]) {
        #expect(
            receiptErrorCode { try AliyunReceiptParser.parse(aliyun(fields), gateway: "a") } == .malformed,
            "\(fields)")
    }

    @Test(arguments: ["9999-12-31 23:59:59", "1999-12-31 23:59:59"])
    func tencentReceiveTimeMustBePlausible(time: String) {
        #expect(
            receiptErrorCode { try TencentReceiptParser.parse(tencent(["user_receive_time": time]), gateway: "t") }
                == .malformed, "\(time)")
    }

    @Test(arguments: ["9999-12-31T23:59:59Z", "1900-01-01T00:00:00Z", "0001-01-01T00:00:00Z"])
    func genericTimeMustBePlausible(time: String) {
        #expect(
            receiptErrorCode { try GenericReceiptParser.parse(generic(["time": time]), gateway: "g") } == .malformed,
            "\(time)")
    }

    /// The window is inclusive at both ends: 2000-01-01T00:00:00Z and exactly one day past now.
    @Test func theWindowRunsFrom2000ToOneDayPastNow() throws {
        let now = Date(timeIntervalSince1970: 1_780_000_000)
        let lastSecond = Date(timeIntervalSince1970: 1_780_086_400)
        let first = try WeChatReceiptParser.parseVerified(wechat(createTime: "946684800"), gateway: "wx", now: now)
        #expect(first.first?.occurredAt == ReceiptCheck.earliest)
        let last = try WeChatReceiptParser.parseVerified(wechat(createTime: "1780086400"), gateway: "wx", now: now)
        #expect(last.first?.occurredAt == lastSecond)
        #expect(
            receiptErrorCode {
                try WeChatReceiptParser.parseVerified(wechat(createTime: "1780086401"), gateway: "wx", now: now)
            } == .malformed)

        #expect(
            try AliyunReceiptParser.parse(aliyun(["report_time": "2026-05-30 04:26:40"]), gateway: "a", now: now)
                .first?.occurredAt == lastSecond)
        #expect(
            receiptErrorCode {
                try AliyunReceiptParser.parse(aliyun(["report_time": "2026-05-30 04:26:41"]), gateway: "a", now: now)
            } == .malformed)
        #expect(
            try TencentReceiptParser.parse(
                tencent(["user_receive_time": "2026-05-30 04:26:40"]), gateway: "t", now: now
            )
            .first?.occurredAt == lastSecond)
        #expect(
            receiptErrorCode {
                try TencentReceiptParser.parse(
                    tencent(["user_receive_time": "2026-05-30 04:26:41"]), gateway: "t", now: now)
            } == .malformed)
        #expect(
            try GenericReceiptParser.parse(generic(["time": "2026-05-29T20:26:40Z"]), gateway: "g", now: now).first?
                .occurredAt == lastSecond)
        #expect(
            receiptErrorCode {
                try GenericReceiptParser.parse(generic(["time": "2026-05-29T20:26:41Z"]), gateway: "g", now: now)
            } == .malformed)
        // An unreadable Aliyun or Tencent time is still no reason to refuse the report.
        #expect(try AliyunReceiptParser.parse(aliyun(["report_time": "soon"]), gateway: "a").first?.occurredAt == nil)
        #expect(
            try TencentReceiptParser.parse(tencent(["user_receive_time": "soon"]), gateway: "t").first?.occurredAt
                == nil)
    }

    /// `UserReceiveTime` of a pull is a unix time: out-of-range values are dropped, never converted.
    @Test func tencentPullWithAnAbsurdUserReceiveTimeNeverTraps() throws {
        for value in ["9223372036854775807", "-9223372036854775808", "\"99999999999999\"", "-1"] {
            let body = #"""
                {"Response":{"PullSmsSendStatusSet":[{"UserReceiveTime":\#(value),"SerialNo":"2019:1","ReportStatus":"SUCCESS"}],"RequestId":"r"}}
                """#
            let receipts = try TencentReceiptPoller.parse(receiptBytes(body), gateway: "tx")
            #expect(receipts.first?.occurredAt == nil, "\(value)")
        }
    }

    // MARK: Field lengths

    /// Each field at its cap is accepted, one byte over it makes the push malformed.
    static let aliyunCaps: [(String, Int)] = [
        ("out_id", 256), ("biz_id", 64), ("phone_number", 32), ("err_code", 64), ("err_msg", 256),
        ("report_time", 32), ("send_time", 32),
    ]

    @Test func aliyunFieldsAreCapped() throws {
        for (field, cap) in Self.aliyunCaps where !field.hasSuffix("_time") {
            _ = try AliyunReceiptParser.parse(aliyun([field: String(repeating: "1", count: cap)]), gateway: "a")
            #expect(
                receiptErrorCode {
                    try AliyunReceiptParser.parse(aliyun([field: String(repeating: "1", count: cap + 1)]), gateway: "a")
                } == .malformed, "\(field)")
        }
        #expect(
            receiptErrorCode {
                try AliyunReceiptParser.parse(aliyun(["report_time": String(repeating: "1", count: 33)]), gateway: "a")
            } == .malformed)
    }

    static let tencentCaps: [(String, Int)] = [
        ("ext", 511), ("sid", 128), ("mobile", 32), ("nationcode", 8), ("errmsg", 64), ("description", 512),
    ]

    @Test func tencentFieldsAreCapped() throws {
        for (field, cap) in Self.tencentCaps {
            _ = try TencentReceiptParser.parse(tencent([field: String(repeating: "1", count: cap)]), gateway: "t")
            #expect(
                receiptErrorCode {
                    try TencentReceiptParser.parse(
                        tencent([field: String(repeating: "1", count: cap + 1)]), gateway: "t")
                } == .malformed, "\(field)")
        }
    }

    static let genericCaps: [(String, Int)] = [
        ("idempotency_key", 128), ("id", 128), ("message_id", 128), ("provider_id", 128), ("code", 128),
    ]

    @Test func genericFieldsAreCapped() throws {
        for (field, cap) in Self.genericCaps {
            _ = try GenericReceiptParser.parse(generic([field: String(repeating: "1", count: cap)]), gateway: "g")
            #expect(
                receiptErrorCode {
                    try GenericReceiptParser.parse(
                        generic([field: String(repeating: "1", count: cap + 1)]), gateway: "g")
                } == .malformed, "\(field)")
        }
    }

    @Test func wechatFieldsAreCapped() throws {
        _ = try WeChatReceiptParser.parseVerified(wechat(from: String(repeating: "o", count: 128)), gateway: "wx")
        #expect(
            receiptErrorCode {
                try WeChatReceiptParser.parseVerified(wechat(from: String(repeating: "o", count: 129)), gateway: "wx")
            } == .malformed)
        #expect(
            receiptErrorCode {
                try WeChatReceiptParser.parseVerified(
                    wechat(status: "failed:" + String(repeating: "x", count: 64)), gateway: "wx")
            } == .malformed)
        #expect(
            receiptErrorCode {
                try WeChatReceiptParser.parseVerified(wechat(msgID: String(repeating: "1", count: 21)), gateway: "wx")
            } == .malformed)
    }

    /// Caps count UTF-8 bytes: a Chinese message of 86 characters (258 bytes) is over 256.
    @Test func capsCountBytes() {
        #expect(
            receiptErrorCode {
                try AliyunReceiptParser.parse(aliyun(["err_msg": String(repeating: "败", count: 86)]), gateway: "a")
            } == .malformed)
    }

    @Test func miniXMLCharacterReferencesAreDigitsOnly() throws {
        #expect(try MiniXML.flatFields(receiptBytes("<xml><A>&#65;&#x42;</A></xml>"))["A"] == "AB")
        for reference in ["&#+65;", "&#-65;", "&#x+42;", "&#6 5;", "&#xG;", "&#１;"] {
            #expect(
                receiptErrorCode { try MiniXML.flatFields(receiptBytes("<xml><A>\(reference)</A></xml>")) }
                    == .malformed, "\(reference)")
        }
    }
}
