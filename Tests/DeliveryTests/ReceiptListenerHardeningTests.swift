import Foundation
import HTTPServer
import Testing

@testable import Delivery

/// Hostile input against a running listener: numbers that overflow, oversized fields.
@Suite(.timeLimit(.minutes(2))) struct ReceiptListenerHardeningTests {
    static let wechatQuery = receiptWeChatQueryE.map { ($0.name, $0.value) }

    func wechatEvent(createTime: String, msgID: String = "200163836") -> String {
        """
        <xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName><FromUserName><![CDATA[oia2TjuEGTNoeX76QEjQNrcURxG8]]></FromUserName>
        <CreateTime>\(createTime)</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event>
        <MsgID>\(msgID)</MsgID><Status><![CDATA[success]]></Status></xml>
        """
    }

    @Test func aSignedPushWithAnAbsurdCreateTimeIs400AndTheListenerKeepsServing() async throws {
        let sink = ReceiptSink()
        try await withReceiptListener(sink: sink) { _, client in
            for createTime in ["9300000000000000", "-1", "0", "4102444800", "99999999999999999999999"] {
                let answer = try await client.send(
                    "POST", "/receipts/wechat", query: Self.wechatQuery, body: wechatEvent(createTime: createTime))
                #expect(answer.status == 400, "CreateTime \(createTime)")
            }
            #expect(sink.batches.isEmpty)
            let fine = try await client.send(
                "POST", "/receipts/wechat", query: Self.wechatQuery, body: wechatEvent(createTime: "1409304000"))
            #expect(fine.status == 200)
            #expect(sink.batches.count == 1)
        }
    }

    @Test func anOversizedIdIs400NotStored() async throws {
        let sink = ReceiptSink()
        try await withReceiptListener(receiptListenerConfiguration(maxBodyBytes: 1 << 20), now: Date(), sink: sink) {
            _, client in
            let path = "/receipts/aliyun/\(receiptPathToken)"
            let huge = String(repeating: "x", count: 600_000)
            let report =
                #"[{"phone_number":"13812345678","report_time":"2017-01-01 00:00:05","success":true,"err_code":"DELIVERED","biz_id":"b1","out_id":"\#(huge)"}]"#
            let answer = try await client.send("POST", path, body: report)
            #expect(answer.status == 400)
            #expect(sink.batches.isEmpty)
        }
    }

    @Test func everyProviderHasTheSameCapOnReceiptsPerPush() async throws {
        var configuration = receiptListenerConfiguration()
        configuration.maxReceiptsPerPush = 3
        let sink = ReceiptSink()
        try await withReceiptListener(configuration, now: Date(), sink: sink) { listener, client in
            let token = [("X-PolicyPush-Token", receiptHeaderToken)]
            func aliyun(_ count: Int) -> String {
                "[" + (0..<count).map { receiptAliyunReport(biz: "a\($0)") }.joined(separator: ",") + "]"
            }
            func tencent(_ count: Int) -> String {
                "["
                    + (0..<count).map {
                        #"{"user_receive_time":"2015-10-17 08:03:04","report_status":"SUCCESS","sid":"s\#($0)"}"#
                    }.joined(separator: ",") + "]"
            }
            func generic(_ count: Int) -> String {
                "[" + (0..<count).map { #"{"id":"m\#($0)","status":"delivered"}"# }.joined(separator: ",") + "]"
            }
            let aliyunPath = "/receipts/aliyun/\(receiptPathToken)"
            for (count, expected) in [(4, 413), (3, 200)] {
                let a = try await client.send("POST", aliyunPath, body: aliyun(count))
                let t = try await client.send("POST", "/receipts/tencent", headers: token, body: tencent(count))
                let g = try await client.send("POST", "/receipts/generic", headers: token, body: generic(count))
                let statuses: [Int] = [a.status, t.status, g.status]
                #expect(statuses == [expected, expected, expected], "\(count) receipts")
            }
            #expect(listener.stats.rejected[.tooLarge] == 3)
            #expect(sink.batches.map(\.count) == [3, 3, 3])
        }
    }
}
