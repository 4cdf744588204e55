import Foundation
import Testing

@testable import Delivery

/// Bytes of a string, for parser inputs.
func receiptBytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// WeChat push query for vector E (Delivery/Gateways.md §9).
let receiptWeChatQueryE: [(name: String, value: String)] = [
    ("signature", "30d7c91db269b3e0cb3e1a131646b6d1ae4750f5"), ("timestamp", "1409304348"), ("nonce", "xxxxxx"),
]
let receiptWeChatNowE = Date(timeIntervalSince1970: 1_409_304_348 + 10)

func receiptTemplateEvent(
    status: String, from: String = "oia2TjuEGTNoeX76QEjQNrcURxG8", msgID: String = "200163836"
)
    -> String
{
    """
    <xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName><FromUserName><![CDATA[\(from)]]></FromUserName>
    <CreateTime>1395658920</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event>
    <MsgID>\(msgID)</MsgID><Status><![CDATA[\(status)]]></Status></xml>
    """
}

/// A deterministic generator for fuzzing, so failures reproduce.
struct ReceiptFuzzRandom: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct ReceiptParserTests {
    // MARK: Aliyun SmsReport

    @Test func aliyunSampleReport() throws {
        let body = #"""
            [{"phone_number":"13812345678","send_time":"2017-01-01 00:00:00","report_time":"2017-01-01 00:00:00","success":true,"err_code":"DELIVERED","err_msg":"用户接收成功","sms_size":"1","biz_id":"900619746936498440^0","out_id":"msg-67890"},
             {"phone_number":"13912345678","send_time":"2017-01-01 00:00:00","report_time":"2017-01-01 00:01:02","success":false,"err_code":"UNDELIV","err_msg":"失败","sms_size":"2","biz_id":"900619746936498440^0"}]
            """#
        let receipts = try AliyunReceiptParser.parse(receiptBytes(body), gateway: "aliyun-main")
        #expect(receipts.count == 2)
        let first = receipts[0]
        #expect(first.gateway == "aliyun-main")
        #expect(first.messageID == "msg-67890")
        #expect(first.providerID == "900619746936498440^0")
        #expect(first.recipient == "13812345678")
        #expect(first.status == .delivered)
        #expect(first.reasonCode == "DELIVERED")
        #expect(!first.fallbackAllowed)
        #expect(first.occurredAt == Date(timeIntervalSince1970: 1_483_200_000))  // 2017-01-01 00:00 UTC+8
        #expect(first.dedupeKey == "aliyun:900619746936498440^0|13812345678|2017-01-01 00:00:00|DELIVERED")
        #expect(receipts[1].status == .failed)
        #expect(receipts[1].reasonCode == "UNDELIV")
        #expect(receipts[1].messageID == nil)
        #expect(receipts[1].occurredAt == Date(timeIntervalSince1970: 1_483_200_062))
    }

    @Test func aliyunWrongShapesAreMalformed() {
        let cases = [
            #"{"phone_number":"13812345678"}"#,  // not an array
            #"[{"phone_number":"13812345678","success":"true","biz_id":"1"}]"#,  // success as a string
            #"[{"phone_number":"13812345678","success":true,"sms_size":1,"biz_id":"1"}]"#,  // sms_size as a number
            #"[{"phone_number":"13812345678","success":true}]"#,  // no biz_id
            #"[{"phone_number":"1381234"#,  // truncated
            "",
        ]
        for body in cases {
            #expect(throws: ReceiptError(.malformed, "Aliyun SmsReport is not the expected JSON")) {
                try AliyunReceiptParser.parse(receiptBytes(body), gateway: "a")
            }
        }
        #expect((try? AliyunReceiptParser.parse(receiptBytes("[]"), gateway: "a")) == [])
    }

    @Test func aliyunUnreadableTimeKeepsTheReport() throws {
        let body = #"[{"phone_number":"13812345678","report_time":"","success":true,"biz_id":"1"}]"#
        let receipts = try AliyunReceiptParser.parse(receiptBytes(body), gateway: "a")
        #expect(receipts.first?.occurredAt == nil)
        #expect(receipts.first?.reasonCode == "DELIVERED")
    }

    // MARK: Tencent callback

    @Test func tencentCallback() throws {
        let body = #"""
            [{"user_receive_time":"2015-10-17 08:03:04","nationcode":"86","mobile":"13800001111","report_status":"SUCCESS","errmsg":"DELIVRD","description":"用户短信送达成功","sid":"5000:104571066915705365784949","ext":"msg-1"},
             {"user_receive_time":"2015-10-17 08:03:05","nationcode":"86","mobile":"13800002222","report_status":"FAIL","errmsg":"MK:0001","description":"失败","sid":"5000:2"}]
            """#
        let receipts = try TencentReceiptParser.parse(receiptBytes(body), gateway: "tx")
        #expect(receipts.count == 2)
        #expect(receipts[0].status == .delivered)
        #expect(receipts[0].reasonCode == "DELIVRD")
        #expect(receipts[0].messageID == "msg-1")
        #expect(receipts[0].providerID == "5000:104571066915705365784949")
        #expect(receipts[0].recipient == "13800001111")
        let expected = Date(timeIntervalSince1970: 1_445_040_184)  // 2015-10-17 00:03:04 UTC
        #expect(receipts[0].occurredAt == expected)
        #expect(receipts[0].dedupeKey == "tencent:5000:104571066915705365784949|SUCCESS|1445040184")
        #expect(receipts[1].status == .failed)
        #expect(receipts[1].reasonCode == "MK:0001")
        #expect(receipts[1].messageID == nil)
    }

    @Test func tencentLimitsAndErrors() {
        let item =
            #"{"user_receive_time":"2015-10-17 08:03:04","mobile":"13800001111","report_status":"SUCCESS","sid":"s"}"#
        let hundredAndOne = "[" + Array(repeating: item, count: 101).joined(separator: ",") + "]"
        #expect(throws: ReceiptError.self) { try TencentReceiptParser.parse(receiptBytes(hundredAndOne), gateway: "t") }
        do {
            _ = try TencentReceiptParser.parse(receiptBytes(hundredAndOne), gateway: "t")
        } catch {
            #expect(error.code == .tooLarge)
        }
        let hundred = "[" + Array(repeating: item, count: 100).joined(separator: ",") + "]"
        #expect((try? TencentReceiptParser.parse(receiptBytes(hundred), gateway: "t"))?.count == 100)
        #expect(
            receiptErrorCode {
                try TencentReceiptParser.parse(receiptBytes(#"[{"report_status":"SUCCESS"}]"#), gateway: "t")
            }
                == .malformed)
        #expect(
            receiptErrorCode {
                try TencentReceiptParser.parse(receiptBytes(#"[{"report_status":"MAYBE","sid":"s"}]"#), gateway: "t")
            }
                == .unsupported)
        #expect(
            receiptErrorCode {
                try TencentReceiptParser.parse(receiptBytes(#"[{"report_status":1,"sid":"s"}]"#), gateway: "t")
            }
                == .malformed)
    }

    // MARK: WeChat

    @Test func wechatSignatureVectorE1() throws {
        #expect(
            try WeChatSignature.compute(token: "testtoken", timestamp: "1409304348", nonce: "xxxxxx")
                == "30d7c91db269b3e0cb3e1a131646b6d1ae4750f5")
        try WeChatSignature.verify(
            query: receiptWeChatQueryE, token: "testtoken", now: receiptWeChatNowE, maxAge: .seconds(300))
    }

    @Test func wechatStatuses() throws {
        func parse(_ status: String) throws -> Receipt? {
            try WeChatReceiptParser.parse(
                receiptBytes(receiptTemplateEvent(status: status)), query: receiptWeChatQueryE, gateway: "wx",
                token: "testtoken",
                now: receiptWeChatNowE
            ).first
        }
        let success = try #require(try parse("success"))
        #expect(success.status == .delivered)
        #expect(success.providerID == "200163836")
        #expect(success.recipient == "oia2TjuEGTNoeX76QEjQNrcURxG8")
        #expect(success.messageID == nil)
        #expect(success.occurredAt == Date(timeIntervalSince1970: 1_395_658_920))
        #expect(success.dedupeKey == "wechat:oia2TjuEGTNoeX76QEjQNrcURxG8|1395658920|200163836")
        #expect(success.reasonCode == "success")

        let blocked = try #require(try parse("failed:user block"))
        #expect(blocked.status == .failed)
        #expect(blocked.fallbackAllowed)
        #expect(blocked.reasonCode == "failed:user block")

        let system = try #require(try parse("failed: system failed"))
        #expect(system.status == .failed)
        #expect(!system.fallbackAllowed)

        #expect(receiptErrorCode { try parse("pending") } == .unsupported)
    }

    @Test func wechatChecksTheSignatureBeforeParsing() {
        var badQuery = receiptWeChatQueryE
        badQuery[0].value = "0000000000000000000000000000000000000000"
        // A garbage body with a bad signature is unauthenticated, not malformed: the body is never read.
        #expect(
            receiptErrorCode {
                try WeChatReceiptParser.parse(
                    receiptBytes("<not xml"), query: badQuery, gateway: "wx", token: "testtoken", now: receiptWeChatNowE
                )
            } == .unauthenticated)
        #expect(
            receiptErrorCode {
                try WeChatReceiptParser.parse(
                    receiptBytes("<not xml"), query: [], gateway: "wx", token: "testtoken", now: receiptWeChatNowE)
            } == .unauthenticated)
        #expect(
            receiptErrorCode {
                try WeChatReceiptParser.parse(
                    receiptBytes("<not xml"), query: receiptWeChatQueryE, gateway: "wx", token: "testtoken",
                    now: receiptWeChatNowE)
            } == .malformed)
    }

    @Test func wechatTimestampWindow() throws {
        let late = receiptWeChatNowE.addingTimeInterval(600)
        #expect(
            receiptErrorCode {
                try WeChatReceiptParser.parse(
                    receiptBytes(receiptTemplateEvent(status: "success")), query: receiptWeChatQueryE, gateway: "wx",
                    token: "testtoken",
                    now: late)
            } == .unauthenticated)
        let early = Date(timeIntervalSince1970: 1_409_304_348 - 301)
        #expect(
            receiptErrorCode {
                try WeChatReceiptParser.parse(
                    receiptBytes(receiptTemplateEvent(status: "success")), query: receiptWeChatQueryE, gateway: "wx",
                    token: "testtoken",
                    now: early)
            } == .unauthenticated)
        // The window can be widened or turned off for replay tests.
        let replayed = try WeChatReceiptParser.parse(
            receiptBytes(receiptTemplateEvent(status: "success")), query: receiptWeChatQueryE, gateway: "wx",
            token: "testtoken", now: late,
            maxAge: nil)
        #expect(replayed.count == 1)
    }

    @Test func wechatOtherEventsYieldNothingAndSafeModeIsRefused() throws {
        let subscribe = """
            <xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName>
            <CreateTime>1</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>
            """
        #expect(try WeChatReceiptParser.parseVerified(receiptBytes(subscribe), gateway: "wx").isEmpty)
        let text = "<xml><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]></Content></xml>"
        #expect(try WeChatReceiptParser.parseVerified(receiptBytes(text), gateway: "wx").isEmpty)
        let encrypted = "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Encrypt><![CDATA[abc]]></Encrypt></xml>"
        #expect(
            receiptErrorCode { try WeChatReceiptParser.parseVerified(receiptBytes(encrypted), gateway: "wx") }
                == .unsupported)
    }

    @Test func miniXMLHandlesCDATAEntitiesCommentsAndRefusesDoctype() throws {
        let document = """
            <?xml version="1.0" encoding="UTF-8"?>
            <!-- a comment -->
            <xml a="1" b='2'><A><![CDATA[x]]y<z>]]></A><B>a &amp; b &lt;&#x4E2D;&#25991;&gt;</B><C/>
            <D><Nested><Deep>v</Deep></Nested></D></xml>
            """
        let fields = try MiniXML.flatFields(receiptBytes(document))
        #expect(fields["A"] == "x]]y<z>")
        #expect(fields["B"] == "a & b <中文>")
        #expect(fields["C"] == "")
        #expect(fields["D"] == "")
        let refused = [
            #"<!DOCTYPE xml [<!ENTITY e "boom">]><xml><A>&e;</A></xml>"#,
            "<xml><A>1</B></xml>",
            "<xml><A><![CDATA[open</A></xml>",
            "<xml><A>1</A></xml><xml/>",
            "<xml><A>&bogus;</A></xml>",
            "<xml><A>&#0;</A></xml>",
            "<root><A>1</A></root>",
            String(repeating: "<a>", count: 40) + String(repeating: "</a>", count: 40),
            "",
        ]
        for text in refused {
            #expect(receiptErrorCode { try MiniXML.flatFields(receiptBytes(text)) } == .malformed, "\(text.prefix(20))")
        }
    }

    @Test func parsersNeverTrapOnTruncatedOrRandomInput() {
        let samples = [
            receiptTemplateEvent(status: "failed:user block"),
            #"[{"phone_number":"13812345678","report_time":"2017-01-01 00:00:00","success":true,"sms_size":"1","biz_id":"1"}]"#,
            #"[{"user_receive_time":"2015-10-17 08:03:04","report_status":"SUCCESS","sid":"s"}]"#,
            #"[{"id":"m1","status":"delivered","code":"DELIVRD","time":"2026-01-02T03:04:05Z"}]"#,
        ]
        var random = ReceiptFuzzRandom(state: 42)
        for sample in samples {
            let full = receiptBytes(sample)
            var inputs = (0...full.count).map { Array(full.prefix($0)) }
            for _ in 0..<200 {
                var mutated = full
                for _ in 0..<3 {
                    mutated[Int.random(in: 0..<mutated.count, using: &random)] = UInt8.random(
                        in: 0...255, using: &random)
                }
                inputs.append(mutated)
            }
            for input in inputs {
                _ = try? WeChatReceiptParser.parseVerified(input, gateway: "g")
                _ = try? AliyunReceiptParser.parse(input, gateway: "g")
                _ = try? TencentReceiptParser.parse(input, gateway: "g")
                _ = try? GenericReceiptParser.parse(input, gateway: "g")
            }
        }
    }

    // MARK: Generic

    @Test func genericReceipts() throws {
        let body = #"""
            [{"id":"m1","status":"delivered","code":"DELIVRD","time":"2026-01-02T03:04:05Z"},
             {"id":"m2","status":"failed","time":"2026-01-02T03:04:05.250Z"},
             {"id":"m3","status":"failed","code":"BLOCKED"}]
            """#
        let receipts = try GenericReceiptParser.parse(receiptBytes(body), gateway: "gen")
        #expect(receipts.map(\.messageID) == ["m1", "m2", "m3"])
        #expect(receipts[0].status == .delivered)
        #expect(receipts[0].reasonCode == "DELIVRD")
        #expect(receipts[0].occurredAt == Date(timeIntervalSince1970: 1_767_323_045))
        #expect(receipts[1].reasonCode == "FAILED")
        #expect(receipts[1].occurredAt == Date(timeIntervalSince1970: 1_767_323_045.25))
        #expect(receipts[2].occurredAt == nil)
        #expect(
            receiptErrorCode {
                try GenericReceiptParser.parse(receiptBytes(#"[{"id":"m","status":"queued"}]"#), gateway: "g")
            }
                == .unsupported)
        #expect(
            receiptErrorCode {
                try GenericReceiptParser.parse(
                    receiptBytes(#"[{"id":"m","status":"failed","time":"yesterday"}]"#), gateway: "g")
            } == .malformed)
        #expect(
            receiptErrorCode {
                try GenericReceiptParser.parse(receiptBytes(#"[{"id":"","status":"failed"}]"#), gateway: "g")
            }
                == .malformed)
        #expect(
            receiptErrorCode {
                try GenericReceiptParser.parse(receiptBytes(#"[{"id":7,"status":"failed"}]"#), gateway: "g")
            } == .malformed
        )
    }

    /// Each id shape a generic gateway may push: the fields (before `status`), then our id, the
    /// provider's id and the dedupe key expected.
    static let genericIDShapes: [(String, String?, String?, String)] = [
        (#""id":"m1""#, "m1", "m1", "generic:m1|delivered|DELIVRD|"),
        (#""message_id":"m1""#, "m1", "m1", "generic:m1|delivered|DELIVRD|"),
        (#""id":"m1","provider_id":"p1""#, "m1", "p1", "generic:m1|delivered|DELIVRD|"),
        (#""idempotency_key":"m1","id":"p1""#, "m1", "p1", "generic:m1|delivered|DELIVRD|"),
        (#""idempotency_key":"m1","message_id":"p1""#, "m1", "p1", "generic:m1|delivered|DELIVRD|"),
        (#""id":"m1","message_id":"p1""#, "m1", "p1", "generic:m1|delivered|DELIVRD|"),
        (#""idempotency_key":"m1","id":"p1","message_id":"p2""#, "m1", "p1", "generic:m1|delivered|DELIVRD|"),
        (#""idempotency_key":"m1","provider_id":"p1","id":"x""#, "m1", "p1", "generic:m1|delivered|DELIVRD|"),
        (#""idempotency_key":"m1""#, "m1", nil, "generic:m1|delivered|DELIVRD|"),
        (#""idempotency_key":"m1","id":"""#, "m1", nil, "generic:m1|delivered|DELIVRD|"),
        (#""provider_id":"p1""#, nil, "p1", "generic:|p1|delivered|DELIVRD|"),
        (#""provider_id":"p1","message_id":"m1""#, "m1", "p1", "generic:m1|delivered|DELIVRD|"),
    ]

    @Test(arguments: genericIDShapes)
    func genericReceiptIDFields(fields: String, ours: String?, provider: String?, dedupeKey: String) throws {
        let body = "[{\(fields),\"status\":\"delivered\",\"code\":\"DELIVRD\"}]"
        let receipt = try #require(try GenericReceiptParser.parse(receiptBytes(body), gateway: "gen").first)
        #expect(receipt.messageID == ours)
        #expect(receipt.providerID == provider)
        #expect(receipt.dedupeKey == dedupeKey)
    }

    @Test(arguments: [
        #""status":"delivered""#, #""id":"","message_id":"","status":"failed""#,
        #""provider_id":null,"status":"failed""#,
    ])
    func genericReceiptWithoutAnyIDIsMalformed(fields: String) {
        #expect(
            receiptErrorCode { try GenericReceiptParser.parse(receiptBytes("[{\(fields)}]"), gateway: "g") }
                == .malformed)
    }

    /// The stub gateway's push: `id` is our id, or the provider id when the stub has none of ours.
    @Test func genericReceiptAsTheStubPushesIt() throws {
        let body = #"""
            [{"id":"c1-e42-sms","provider_id":"gen-7","status":"delivered","code":"DELIVRD","time":"2026-01-02T03:04:05Z"},
             {"id":"gen-8","provider_id":"gen-8","status":"failed","code":"UNDELIV","time":"2026-01-02T03:04:05Z"}]
            """#
        let receipts = try GenericReceiptParser.parse(receiptBytes(body), gateway: "gen")
        #expect(receipts.map(\.messageID) == ["c1-e42-sms", "gen-8"])
        #expect(receipts.map(\.providerID) == ["gen-7", "gen-8"])
        #expect(receipts[0].dedupeKey == "generic:c1-e42-sms|delivered|DELIVRD|2026-01-02T03:04:05Z")
        #expect(receipts[1].status == .failed)
    }

    // MARK: Receipt

    @Test func descriptionMasksTheRecipient() {
        let receipt = Receipt(
            gateway: "aliyun", messageID: "m1", providerID: "b1", recipient: "13812341234", status: .failed,
            reasonCode: "UNDELIV", dedupeKey: "aliyun:b1|13812341234||UNDELIV")
        #expect(
            receipt.description
                == "Receipt(gateway=aliyun status=failed reason=UNDELIV message=m1 provider=b1 recipient=138****1234)")
        let openid = Receipt(
            gateway: "wx", recipient: "oia2TjuEGTNoeX76QEjQNrcURxG8", status: .delivered, reasonCode: "success",
            dedupeKey: "k")
        #expect(!openid.description.contains("oia2TjuEGTNoeX76QEjQNrcURxG8"))
        #expect(ReceiptError(.malformed, "x").description == "receipt: malformed: x")
    }

    @Test func beijingDates() {
        // 2026-01-01 16:30 UTC is already the 2nd in Beijing; 15:59 UTC is still the 1st.
        #expect(BeijingTime.compactDate(Date(timeIntervalSince1970: 1_767_285_000)) == "20260102")
        #expect(BeijingTime.compactDate(Date(timeIntervalSince1970: 1_767_283_140)) == "20260101")
        #expect(BeijingTime.parse("2024-02-29 23:59:59") == Date(timeIntervalSince1970: 1_709_222_399))
        #expect(BeijingTime.parse("2023-02-29 00:00:00") == nil)
        #expect(BeijingTime.parse("2017-01-01T00:00:00") == nil)
    }
}

/// The code of the `ReceiptError` `body` throws, nil when it succeeds or throws something else.
func receiptErrorCode<T>(_ body: () throws -> T) -> ReceiptError.Code? {
    do {
        _ = try body()
        return nil
    } catch let error as ReceiptError {
        return error.code
    } catch {
        return nil
    }
}
