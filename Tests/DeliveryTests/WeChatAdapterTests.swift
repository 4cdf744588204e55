import Delivery
import Foundation
import HTTPServer
import Synchronization
import Testing

/// A scripted WeChat API: hands out `token-1`, `token-2`, … and answers sends by token.
final class WeChatProvider: Sendable {
    struct State {
        var tokenRequests: [HTTPServerRequest] = []
        var sends: [(token: String, body: [UInt8])] = []
        var nextMsgID: Int64 = 200_228_332
    }

    let state = Mutex(State())
    /// The send answer for a token, given how many sends came before: `nil` for success.
    let errcodeFor: @Sendable (_ token: String) -> Int?
    let tokenAnswer: @Sendable (_ number: Int) -> String

    init(
        errcodeFor: @escaping @Sendable (String) -> Int?,
        tokenAnswer: @escaping @Sendable (Int) -> String = { #"{"access_token":"token-\#($0)","expires_in":7200}"# }
    ) {
        self.errcodeFor = errcodeFor
        self.tokenAnswer = tokenAnswer
    }

    var tokenRequests: Int { state.withLock { $0.tokenRequests.count } }
    var sends: [(token: String, body: [UInt8])] { state.withLock { $0.sends } }

    func handle(_ request: HTTPServerRequest) -> HTTPServerResponse {
        switch request.path {
        case "/cgi-bin/token", "/cgi-bin/stable_token":
            let number = state.withLock {
                $0.tokenRequests.append(request)
                return $0.tokenRequests.count
            }
            return .json(tokenAnswer(number))
        case "/cgi-bin/message/template/send":
            let token = request.queryValue("access_token") ?? ""
            let msgid: Int64 = state.withLock {
                $0.sends.append((token, request.body))
                $0.nextMsgID += 1
                return $0.nextMsgID
            }
            if let errcode = errcodeFor(token) {
                return .json(#"{"errcode":\#(errcode),"errmsg":"scripted"}"#)
            }
            return .json(#"{"errcode":0,"errmsg":"ok","msgid":\#(msgid)}"#)
        default:
            return .json(#"{"errcode":404,"errmsg":"no such api"}"#, status: 404)
        }
    }
}

/// A clock the test moves by hand.
final class SettableWallClock: Sendable {
    private let state: Mutex<Date>

    init(_ start: Date) { state = Mutex(start) }

    func advance(by seconds: TimeInterval) { state.withLock { $0 = $0.addingTimeInterval(seconds) } }

    var now: @Sendable () -> Date { { [self] in state.withLock { $0 } } }
}

@Suite struct WeChatAdapterTests {
    static let credentials = Credentials(id: "wx1234567890abcdef", secret: "appsecret-value")
    static let message = OutboundMessage(
        id: "c1-e42-wx", recipient: "oia2TjuEGTNoeX76QEjQNrcURxG8", templateID: "TPL_relief",
        params: [.init(key: "keyword1", value: "小微企业所得税优惠"), .init(key: "keyword2", value: "3 项")],
        url: "https://tax.example/p/42")

    func cache(
        _ baseURL: String, scheme: WeChatTokenCache.Scheme = .stable,
        clock: @escaping @Sendable () -> Date = { fixedNow }
    )
        -> WeChatTokenCache
    {
        WeChatTokenCache(
            configuration: .init(baseURL: baseURL, scheme: scheme), credentials: Self.credentials,
            client: URLSessionClient(), clock: clock)
    }

    func adapter(_ baseURL: String, tokens: WeChatTokenCache) -> WeChatTemplateAdapter {
        WeChatTemplateAdapter(configuration: .init(baseURL: baseURL), tokens: tokens, clock: { fixedNow })
    }

    func answer(_ errcode: Int) -> DeliveryOutcome {
        adapter("http://127.0.0.1:1", tokens: cache("http://127.0.0.1:1"))
            .classify(httpResponse(200, #"{"errcode":\#(errcode),"errmsg":"m"}"#))
    }

    // MARK: Request shape

    @Test func requestShape() throws {
        let adapter = adapter("https://api.weixin.qq.com", tokens: cache("https://api.weixin.qq.com"))
        let request = try adapter.request(for: Self.message, accessToken: "AT/+=1", at: fixedNow)
        #expect(request.method == .post)
        #expect(request.url == "https://api.weixin.qq.com/cgi-bin/message/template/send?access_token=AT%2F%2B%3D1")
        #expect(
            String(decoding: request.body, as: UTF8.self)
                == #"{"touser":"oia2TjuEGTNoeX76QEjQNrcURxG8","template_id":"TPL_relief","url":"https://tax.example/p/42","#
                + #""client_msg_id":"c1-e42-wx","data":{"keyword1":{"value":"小微企业所得税优惠"},"keyword2":{"value":"3 项"}}}"#)
    }

    @Test func longIDsBecomeAShortStableHash() throws {
        let long = String(repeating: "campaign-2024-q3-", count: 5)
        let first = try WeChatTemplateAdapter.clientMessageID(for: long)
        #expect(first.count == 32)
        #expect(try WeChatTemplateAdapter.clientMessageID(for: long) == first)
        #expect(try WeChatTemplateAdapter.clientMessageID(for: long + "x") != first)
        let exactly64 = String(repeating: "a", count: 64)
        #expect(try WeChatTemplateAdapter.clientMessageID(for: exactly64) == exactly64)
    }

    // MARK: Classification (§5 table)

    @Test func successAcceptsWithMsgID() {
        #expect(
            adapter("http://127.0.0.1:1", tokens: cache("http://127.0.0.1:1"))
                .classify(httpResponse(200, #"{"errcode":0,"errmsg":"ok","msgid":9223372036854775807}"#))
                == .accepted(providerID: "9223372036854775807"))
    }

    @Test(arguments: [-1, 45011, 40001, 40014, 42001, 99999])
    func retryCodes(errcode: Int) {
        #expect(answer(errcode) == .retry(after: nil, reason: .init("wechat", String(errcode))))
    }

    @Test func dailyQuotaPausesToUTC8Midnight() {
        #expect(
            answer(45009)
                == .pauseGateway(
                    reason: .init("wechat", "45009"), kind: .quota, until: Date(timeIntervalSince1970: 1_700_064_000)))
    }

    @Test(arguments: [43004, 40003])
    func unreachableRecipientsFailWithFallback(errcode: Int) {
        #expect(answer(errcode) == .failed(reason: .init("wechat", String(errcode)), fallback: true))
    }

    @Test(arguments: [43019, 48002, 47003, 40249, 40250])
    func permanentCodesFailWithoutFallback(errcode: Int) {
        #expect(answer(errcode) == .failed(reason: .init("wechat", String(errcode)), fallback: false))
    }

    @Test(arguments: [40037, 43116, 40164, 48001])
    func configurationCodesPause(errcode: Int) {
        #expect(
            answer(errcode) == .pauseGateway(reason: .init("wechat", String(errcode)), kind: .configuration, until: nil)
        )
    }

    // MARK: Token cache

    @Test func hundredConcurrentSendsMeetingAnExpiredTokenRefreshOnce() async throws {
        let provider = WeChatProvider(errcodeFor: { $0 == "token-1" ? 42001 : nil })
        let handler: HTTPServer.Handler = { provider.handle($0) }
        let (outcomes, refreshes) = try await withProvider(handler) { (baseURL: String) async throws in
            let tokens = cache(baseURL)
            let adapter = adapter(baseURL, tokens: tokens)
            let client = URLSessionClient()
            let outcomes = await withTaskGroup(of: DeliveryOutcome.self) { group in
                for index in 0..<100 {
                    var message = Self.message
                    message.id = "m-\(index)"
                    group.addTask { await adapter.send(message, using: client) }
                }
                return await group.reduce(into: [DeliveryOutcome]()) { $0.append($1) }
            }
            return (outcomes, await tokens.refreshCount)
        }
        #expect(outcomes.count == 100)
        #expect(outcomes.allSatisfy { if case .accepted(.some) = $0 { true } else { false } })
        #expect(provider.tokenRequests == 2)
        #expect(refreshes == 2)
        let sends = provider.sends
        #expect(sends.filter { $0.token == "token-2" }.count == 100)
        #expect(sends.allSatisfy { $0.token == "token-1" || $0.token == "token-2" })
        // The stable endpoint was used, with force_refresh off.
        let first = try #require(provider.state.withLock { $0.tokenRequests.first })
        #expect(first.method == "POST")
        let body = try #require(try JSONSerialization.jsonObject(with: Data(first.body)) as? [String: Any])
        #expect(body["grant_type"] as? String == "client_credential")
        #expect(body["appid"] as? String == "wx1234567890abcdef")
        #expect(body["force_refresh"] as? Bool == false)
    }

    @Test func invalidateDropsOnlyTheTokenStillCached() async throws {
        let provider = WeChatProvider(errcodeFor: { _ in nil })
        let handler: HTTPServer.Handler = { provider.handle($0) }
        try await withProvider(handler) { (baseURL: String) async throws in
            let tokens = cache(baseURL, scheme: .classic)
            #expect(try await tokens.token() == "token-1")
            await tokens.invalidate("token-1")
            #expect(try await tokens.token() == "token-2")
            // A sender that used token-1 and lost the race must not drop token-2.
            await tokens.invalidate("token-1")
            #expect(try await tokens.token() == "token-2")
            #expect(await tokens.refreshCount == 2)
        }
        #expect(provider.tokenRequests == 2)
        let first = try #require(provider.state.withLock { $0.tokenRequests.first })
        #expect(first.method == "GET" && first.path == "/cgi-bin/token")
        #expect(first.queryValue("grant_type") == "client_credential")
        #expect(first.queryValue("appid") == "wx1234567890abcdef")
        #expect(first.queryValue("secret") == "appsecret-value")
    }

    @Test func tokenIsRefreshedAheadOfExpiry() async throws {
        let provider = WeChatProvider(errcodeFor: { _ in nil })
        let clock = SettableWallClock(fixedNow)
        let handler: HTTPServer.Handler = { provider.handle($0) }
        try await withProvider(handler) { (baseURL: String) async throws in
            let tokens = cache(baseURL, clock: clock.now)
            #expect(try await tokens.token() == "token-1")
            clock.advance(by: 7200 - 300 - 1)
            #expect(try await tokens.token() == "token-1")
            clock.advance(by: 2)
            #expect(try await tokens.token() == "token-2")
        }
        #expect(provider.tokenRequests == 2)
    }

    @Test func tokenRefusedTwicePausesForCredentials() async throws {
        let provider = WeChatProvider(errcodeFor: { _ in 40001 })
        let handler: HTTPServer.Handler = { provider.handle($0) }
        let outcome = try await withProvider(handler) { (baseURL: String) async throws in
            await adapter(baseURL, tokens: cache(baseURL)).send(Self.message, using: URLSessionClient())
        }
        #expect(outcome == .pauseGateway(reason: .init("wechat", "40001"), kind: .credentials, until: nil))
        #expect(provider.sends.map(\.token) == ["token-1", "token-2"])
        #expect(provider.tokenRequests == 2)
    }

    @Test func tokenEndpointErrorsBecomeOutcomes() async throws {
        let rejected = WeChatProvider(
            errcodeFor: { _ in nil }, tokenAnswer: { _ in #"{"errcode":40125,"errmsg":"invalid appsecret"}"# })
        let handler: HTTPServer.Handler = { rejected.handle($0) }
        let outcome = try await withProvider(handler) { baseURL in
            await adapter(baseURL, tokens: cache(baseURL)).send(Self.message, using: URLSessionClient())
        }
        #expect(outcome == .pauseGateway(reason: .init("wechat", "40125"), kind: .credentials, until: nil))
        #expect(rejected.sends.isEmpty)

        let busy = WeChatProvider(
            errcodeFor: { _ in nil }, tokenAnswer: { _ in #"{"errcode":-1,"errmsg":"system error"}"# })
        let busyHandler: HTTPServer.Handler = { busy.handle($0) }
        let retry = try await withProvider(busyHandler) { baseURL in
            await adapter(baseURL, tokens: cache(baseURL)).send(Self.message, using: URLSessionClient())
        }
        #expect(retry == .retry(after: nil, reason: .init("wechat", "-1")))
    }

    @Test func sentMessageCarriesClientMsgID() async throws {
        let provider = WeChatProvider(errcodeFor: { _ in nil })
        let handler: HTTPServer.Handler = { provider.handle($0) }
        let outcome = try await withProvider(handler) { (baseURL: String) async throws in
            await adapter(baseURL, tokens: cache(baseURL)).send(Self.message, using: URLSessionClient())
        }
        #expect(outcome == .accepted(providerID: "200228333"))
        let body = try #require(provider.sends.first?.body)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        #expect(object["client_msg_id"] as? String == "c1-e42-wx")
        #expect(object["touser"] as? String == "oia2TjuEGTNoeX76QEjQNrcURxG8")
    }
}
