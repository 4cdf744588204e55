import Foundation
import HTTPServer
import Testing

@testable import Delivery

/// Hostile input against a running listener: numbers that overflow, oversized fields, replayed
/// WeChat signatures, and a Slowloris crowd.
@Suite(.timeLimit(.minutes(2))) struct ReceiptListenerHardeningTests {
    static let wechatQuery = receiptWeChatQueryE.map { ($0.name, $0.value) }

    /// Vector E's timestamp with another nonce, signed: each push of a test its own signature.
    static func signedQuery(nonce: String) throws -> [(String, String)] {
        let signature = try WeChatSignature.compute(token: "testtoken", timestamp: "1409304348", nonce: nonce)
        return [("signature", signature), ("timestamp", "1409304348"), ("nonce", nonce)]
    }

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
            for (n, createTime) in ["9300000000000000", "-1", "0", "4102444800", "99999999999999999999999"].enumerated()
            {
                let answer = try await client.send(
                    "POST", "/receipts/wechat", query: try Self.signedQuery(nonce: "n\(n)"),
                    body: wechatEvent(createTime: createTime))
                #expect(answer.status == 400, "CreateTime \(createTime)")
            }
            #expect(sink.batches.isEmpty)
            let fine = try await client.send(
                "POST", "/receipts/wechat", query: try Self.signedQuery(nonce: "fine"),
                body: wechatEvent(createTime: "1409304000"))
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

    @Test func aReplayedWeChatSignatureWithAnotherBodyIsRefusedAndARetryIsAcknowledgedOnce() async throws {
        let sink = ReceiptSink()
        try await withReceiptListener(sink: sink) { listener, client in
            let original = wechatEvent(createTime: "1409304000", msgID: "1001")
            let first = try await client.send("POST", "/receipts/wechat", query: Self.wechatQuery, body: original)
            #expect(first.status == 200)
            // Same signature, timestamp and nonce, another body: a forgery riding on a captured query.
            let forged = wechatEvent(createTime: "1409304000", msgID: "6666")
            let replay = try await client.send("POST", "/receipts/wechat", query: Self.wechatQuery, body: forged)
            #expect(replay.status == 403)
            // WeChat's own retry of the same push is acknowledged without a second hand-over.
            let retry = try await client.send("POST", "/receipts/wechat", query: Self.wechatQuery, body: original)
            #expect(retry.status == 200)
            #expect(retry.body == "success")
            #expect(sink.batches.flatMap { $0 }.map(\.providerID) == ["1001"])
            #expect(listener.stats.rejected[.replayed] == 1)
            #expect(listener.stats.repeatedPushes == 1)
        }
    }

    @Test func aRetryAfterAStoreFailureIsProcessedAgain() async throws {
        let sink = ReceiptSink()
        try await withReceiptListener(sink: sink) { listener, client in
            let event = wechatEvent(createTime: "1409304000", msgID: "1002")
            sink.setFailing(true)
            let failed = try await client.send("POST", "/receipts/wechat", query: Self.wechatQuery, body: event)
            #expect(failed.status == 500)
            sink.setFailing(false)
            let retry = try await client.send("POST", "/receipts/wechat", query: Self.wechatQuery, body: event)
            #expect(retry.status == 200)
            #expect(sink.batches.flatMap { $0 }.map(\.providerID) == ["1002"])
            #expect(listener.stats.repeatedPushes == 0)
        }
    }

    /// Broken HTTP aimed at the listener gets a `4xx` or a closed connection, never a `2xx`,
    /// and the listener keeps taking pushes.
    @Test func badHTTPNeverGets2xxAndTheListenerKeepsServing() async throws {
        let sink = ReceiptSink()
        let routes: ReceiptListener.Routes = { request in request.path == "/healthz" ? .text("ok\n") : nil }
        try await withReceiptListener(now: Date(), routes: routes, sink: sink) { listener, _ in
            let port = listener.port
            let path = "/receipts/aliyun/\(receiptPathToken)"
            let push = "[\(receiptAliyunReport(biz: "smuggled"))]"
            var requests = [
                // Two framings of one body: the push must not be read either way.
                "POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: \(push.utf8.count)\r\n\r\n\(push)",
                "POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Length: \(push.utf8.count)\r\nTransfer-Encoding: chunked\r\n\r\n\(push)",
                "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n",  // HTTP/1.1 without Host
                "GET /hea lthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                "POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
                "POST \(path) HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n",
                "GET /healthz HTTP/1.1\r\nHost: x\r\nX: \(String(repeating: "y", count: 70_000))\r\n\r\n",
            ]
            var random = ReceiptFuzzRandom(state: 7)
            for _ in 0..<20 {
                let length = Int.random(in: 1...300, using: &random)
                requests.append(
                    String(decoding: (0..<length).map { _ in UInt8.random(in: 1...255, using: &random) }, as: UTF8.self)
                        + "\r\n\r\n")
            }
            for (index, request) in requests.enumerated() {
                let answer = await LoopbackSockets.offPool {
                    LoopbackSockets.exchange(port: port, Array(request.utf8), timeout: .seconds(2))
                }
                #expect(!answer.text.hasPrefix("HTTP/1.1 2"), "#\(index): \(answer.text.prefix(30).debugDescription)")
            }
            #expect(sink.batches.isEmpty)
            let health = await LoopbackSockets.offPool {
                LoopbackSockets.exchange(
                    port: port, Array("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8),
                    timeout: .seconds(2))
            }
            #expect(health.text.hasPrefix("HTTP/1.1 200"))
        }
    }

}

/// Timing-bound (answers within a second while a thousand slow clients are open): run on a quiet
/// machine with the other `RealTime` suites, not among the parallel tests.
@Suite(.timeLimit(.minutes(2))) struct ReceiptListenerRealTimeTests {
    /// 1,000 connections from 127.0.0.2 hold partial headers open and trickle a byte every two
    /// seconds; meanwhile a client on 127.0.0.1 must get `/healthz` within a second and have its
    /// pushes stored, with the listener's default server configuration.
    @Test func slowClientsFromOneAddressDoNotStarveHealthzOrPushes() async throws {
        let sink = ReceiptSink()
        let routes: ReceiptListener.Routes = { request in request.path == "/healthz" ? .text("ok\n") : nil }
        try await withReceiptListener(now: Date(), routes: routes, sink: sink) { listener, _ in
            let port = listener.port
            let attackers = await LoopbackSockets.offPool { SlowClients(count: 1000, port: port, source: "127.0.0.2") }
            for round in 0..<3 {
                let health = await LoopbackSockets.offPool {
                    LoopbackSockets.exchange(
                        port: port, Array("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8),
                        timeout: .seconds(1))
                }
                #expect(
                    health.text.hasPrefix("HTTP/1.1 200") && health.elapsed < .seconds(1),
                    "round \(round): healthz got \(health.text.prefix(20).debugDescription) after \(health.elapsed); \(attackers.openCount) slow connections open"
                )
                let body = "[\(receiptAliyunReport(biz: "slow-\(round)"))]"
                let request =
                    "POST /receipts/aliyun/\(receiptPathToken) HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
                let push = await LoopbackSockets.offPool {
                    LoopbackSockets.exchange(port: port, Array(request.utf8), timeout: .seconds(1))
                }
                #expect(
                    push.text.hasPrefix("HTTP/1.1 200"),
                    "round \(round): push got \(push.text.prefix(20).debugDescription) after \(push.elapsed)")
                await LoopbackSockets.offPool { attackers.drip() }
                // The rest were closed at once by the per-address limit.
                #expect(attackers.openCount <= HTTPServer.Configuration().perIPConnectionLimit)
                // The attack's own rhythm: a byte every two seconds per connection.
                try await Task.sleep(for: .seconds(2))
            }
            await LoopbackSockets.offPool { attackers.closeAll() }
            #expect(sink.batches.flatMap { $0 }.compactMap(\.providerID) == ["slow-0", "slow-1", "slow-2"])
        }
    }
}
