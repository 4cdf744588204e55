import Delivery
import Foundation
import GatewayStub
import Testing

@Suite(.timeLimit(.minutes(1))) struct WeChatStubTests {
    let client = URLSessionClient()

    func classicToken(_ base: String) async throws -> String {
        let response = try await client.send(
            HTTPRequest(
                method: .get,
                url: base + "/cgi-bin/token?grant_type=client_credential&appid=wxstubappid&secret=stubappsecret"))
        return jsonObject(response)["access_token"] as? String ?? ""
    }

    func stableToken(_ base: String, force: Bool = false) async throws -> String {
        let body =
            #"{"grant_type":"client_credential","appid":"wxstubappid","secret":"stubappsecret","force_refresh":\#(force)}"#
        let response = try await client.send(
            HTTPRequest(method: .post, url: base + "/cgi-bin/stable_token", body: Array(body.utf8)))
        return jsonObject(response)["access_token"] as? String ?? ""
    }

    func send(
        _ base: String, token: String, openID: String = "oUser1", clientMsgID: String = "c-1"
    ) async throws
        -> [String: Any]
    {
        let body =
            #"{"touser":"\#(openID)","template_id":"tpl-1","client_msg_id":"\#(clientMsgID)","data":{"thing1":{"value":"政策"}}}"#
        let response = try await client.send(
            HTTPRequest(
                method: .post, url: base + "/cgi-bin/message/template/send?access_token=\(token)",
                body: Array(body.utf8)))
        #expect(response.status == 200)
        return jsonObject(response)
    }

    @Test func sendWithTokenReturnsInt64MsgidAndDedupesClientMsgID() async throws {
        try await withStub(StubConfiguration(kind: .wechat)) { stub, base in
            let token = try await classicToken(base)
            #expect(token.count >= 100)
            let first = try await send(base, token: token)
            #expect(first["errcode"] as? Int == 0)
            let msgid = (first["msgid"] as? NSNumber)?.int64Value ?? 0
            #expect(msgid > Int64(Int32.max))
            let second = try await send(base, token: token)
            #expect((second["msgid"] as? NSNumber)?.int64Value == msgid)
            let stats = stub.stats
            #expect(stats.accepted == 1)
            #expect(stats.deduplicated == 1)
            #expect(stats.acceptedIds == ["c-1"])
            #expect(stats.duplicateSends == [])
        }
    }

    @Test func badTokensAndMissingFields() async throws {
        try await withStub(StubConfiguration(kind: .wechat)) { _, base in
            #expect(try await send(base, token: "nonsense")["errcode"] as? Int == 40001)
            for url in ["/cgi-bin/message/template/send", "/cgi-bin/message/template/send?access_token="] {
                let missing = try await client.send(
                    HTTPRequest(method: .post, url: base + url, body: Array(#"{"touser":"oUser1"}"#.utf8)))
                #expect(missing.status == 200)
                #expect(jsonObject(missing)["errcode"] as? Int == 41001)
                #expect((jsonObject(missing)["errmsg"] as? String)?.hasPrefix("access_token missing") == true)
            }
            let token = try await classicToken(base)
            #expect(try await send(base, token: token, openID: "")["errcode"] as? Int == 40003)
            let body = #"{"touser":"oUser1","data":{}}"#
            let response = try await client.send(
                HTTPRequest(
                    method: .post, url: base + "/cgi-bin/message/template/send?access_token=\(token)",
                    body: Array(body.utf8)))
            #expect(jsonObject(response)["errcode"] as? Int == 40037)
        }
    }

    @Test func rateLimitIs45011InHTTP200WithoutRetryAfter() async throws {
        let configuration = StubConfiguration(kind: .wechat, faults: StubFaults(rateLimitRate: 1))
        try await withStub(configuration) { stub, base in
            let token = try await classicToken(base)
            let body = #"{"touser":"oUser1","template_id":"tpl-1","data":{}}"#
            let response = try await client.send(
                HTTPRequest(
                    method: .post, url: base + "/cgi-bin/message/template/send?access_token=\(token)",
                    body: Array(body.utf8)))
            #expect(response.status == 200)
            #expect(response.headers.first(name: "retry-after") == nil)
            #expect(jsonObject(response)["errcode"] as? Int == 45011)
            #expect(stub.stats.rejected == ["45011": 1])
        }
    }

    @Test func classicRefetchKillsTheOldTokenAfterGraceAndSchemesAreIsolated() async throws {
        let configuration = StubConfiguration(kind: .wechat, tokens: StubTokenSettings(grace: .zero))
        try await withStub(configuration) { _, base in
            let stable = try await stableToken(base)
            #expect(try await stableToken(base) == stable)
            let old = try await classicToken(base)
            let new = try await classicToken(base)
            #expect(old != new)
            #expect(try await send(base, token: old, clientMsgID: "a")["errcode"] as? Int == 42001)
            #expect(try await send(base, token: new, clientMsgID: "b")["errcode"] as? Int == 0)
            #expect(try await send(base, token: stable, clientMsgID: "c")["errcode"] as? Int == 0)
            let forced = try await stableToken(base, force: true)
            #expect(forced != stable)
            #expect(try await send(base, token: stable, clientMsgID: "d")["errcode"] as? Int == 42001)
        }
    }

    @Test func tokensCanExpireAfterNSends() async throws {
        let configuration = StubConfiguration(kind: .wechat, tokens: StubTokenSettings(sendsPerToken: 1))
        try await withStub(configuration) { stub, base in
            let token = try await classicToken(base)
            #expect(try await send(base, token: token, clientMsgID: "a")["errcode"] as? Int == 0)
            #expect(try await send(base, token: token, clientMsgID: "b")["errcode"] as? Int == 42001)
            #expect(stub.stats.rejected == ["42001": 1])
        }
    }
}
