import Foundation
import HTTPServer

/// WeChat official-account token and template-message imitation.
extension StubCore {
    func handleWeChat(_ request: HTTPServerRequest) async -> HTTPServerResponse {
        switch (request.method, request.path) {
        case ("GET", "/cgi-bin/token"): return wechatClassicToken(request)
        case ("POST", "/cgi-bin/stable_token"): return wechatStableToken(request)
        case ("POST", "/cgi-bin/message/template/send"): return await wechatSend(request)
        case ("POST", "/cgi-bin/message/subscribe/bizsend"), ("POST", "/cgi-bin/message/subscribe/send"):
            return wechatError(43101, "user refuse to accept the msg")
        default: return .notFound
        }
    }

    private func wechatCredentialsError(appID: String?, secret: String?) -> HTTPServerResponse? {
        if appID != configuration.credentials.appId { return wechatError(40013, "invalid appid") }
        if secret != configuration.credentials.appSecret { return wechatError(40125, "invalid appsecret") }
        return nil
    }

    private func wechatClassicToken(_ request: HTTPServerRequest) -> HTTPServerResponse {
        guard request.queryValue("grant_type") == "client_credential" else {
            return wechatError(40002, "invalid grant_type")
        }
        if let error = wechatCredentialsError(appID: request.queryValue("appid"), secret: request.queryValue("secret"))
        {
            return error
        }
        let now = clock.now()
        let settings = configuration.tokens
        let token = state.withLock { state -> String in
            if let previous = state.classicToken, var record = state.tokens[previous] {
                record.expires = min(record.expires, now.addingTimeInterval(settings.grace.seconds))
                state.tokens[previous] = record
            }
            let token = Self.newToken(&state.random)
            state.tokens[token] = TokenRecord(expires: now.addingTimeInterval(settings.lifetime.seconds), stable: false)
            state.classicToken = token
            return token
        }
        return wechatToken(token, expiresIn: Int(settings.lifetime.seconds))
    }

    private func wechatStableToken(_ request: HTTPServerRequest) -> HTTPServerResponse {
        guard let body = StubJSON.object(request.body) else { return wechatError(47001, "data format error") }
        guard body["grant_type"] as? String == "client_credential" else {
            return wechatError(40002, "invalid grant_type")
        }
        if let error = wechatCredentialsError(appID: body["appid"] as? String, secret: body["secret"] as? String) {
            return error
        }
        let force = (body["force_refresh"] as? NSNumber)?.boolValue ?? false
        let now = clock.now()
        let lifetime = configuration.tokens.lifetime.seconds
        let (token, expiresIn) = state.withLock { state -> (String, Int) in
            if let current = state.stableToken, var record = state.tokens[current] {
                let remaining = record.expires.timeIntervalSince(now)
                if force {
                    record.expires = now
                    state.tokens[current] = record
                } else if remaining > min(300, lifetime / 2),
                    configuration.tokens.sendsPerToken.map({ record.sends < $0 }) ?? true
                {
                    return (current, Int(remaining))
                }
            }
            let token = Self.newToken(&state.random)
            state.tokens[token] = TokenRecord(expires: now.addingTimeInterval(lifetime), stable: true)
            state.stableToken = token
            return (token, Int(lifetime))
        }
        return wechatToken(token, expiresIn: expiresIn)
    }

    private func wechatSend(_ request: HTTPServerRequest) async -> HTTPServerResponse {
        countReceived()
        func refuse(_ code: Int, _ message: String) -> HTTPServerResponse {
            reject(String(code))
            return wechatError(code, message)
        }
        let now = clock.now()
        let sendsPerToken = configuration.tokens.sendsPerToken
        let token = request.queryValue("access_token") ?? ""
        let tokenCheck = state.withLock { state -> Int in
            if token.isEmpty { return 41001 }
            guard var record = state.tokens[token] else { return 40001 }
            if record.expires <= now { return 42001 }
            if let sendsPerToken, record.sends >= sendsPerToken { return 42001 }
            record.sends += 1
            state.tokens[token] = record
            return 0
        }
        switch tokenCheck {
        case 41001: return refuse(41001, "access_token missing")
        case 40001: return refuse(40001, "invalid credential, access_token is invalid or not latest")
        case 42001: return refuse(42001, "access_token expired")
        default: break
        }
        guard let body = StubJSON.object(request.body) else { return refuse(47001, "data format error") }
        let plan = drawPlan()
        switch plan.fault {
        case .none: break
        case .reset:
            reject("reset")
            return .resetConnection
        case .rateLimited:
            // WeChat answers every errcode in HTTP 200, without Retry-After.
            reject("45011")
            return await answer(wechatError(45011, "api minute-quota reach limit"), plan: plan, accepted: false)
        case .error(let code, let message):
            reject(code)
            if code.hasPrefix("http:"), let status = Int(code.dropFirst(5)) {
                return await answer(.text("error\n", status: status), plan: plan, accepted: false)
            }
            let errcode = Int(code) ?? -1
            return await answer(
                wechatError(errcode, message ?? Self.wechatMessages[errcode] ?? "error"), plan: plan, accepted: false)
        }
        guard let openID = body["touser"] as? String, !openID.isEmpty else {
            reject("40003")
            return await answer(wechatError(40003, "invalid openid"), plan: plan, accepted: false)
        }
        guard let template = body["template_id"] as? String, !template.isEmpty else {
            reject("40037")
            return await answer(wechatError(40037, "invalid template_id"), plan: plan, accepted: false)
        }
        let clientMsgID = body["client_msg_id"] as? String
        let window = configuration.limits.wechatDedupeWindow.seconds
        let (msgid, duplicate) = state.withLock { state -> (Int64, Bool) in
            let key = clientMsgID.map { openID + "|" + $0 }
            if let key, let previous = state.wechatSent[key], now.timeIntervalSince(previous.at) < window {
                state.stats.deduplicated += 1
                return (previous.msgid, true)
            }
            state.nextMsgID += 1
            if let key { state.wechatSent[key] = (state.nextMsgID, now) }
            return (state.nextMsgID, false)
        }
        if !duplicate {
            accept(
                ourID: clientMsgID, providerIDs: [String(msgid)], recipients: [openID],
                forceDelivered: plan.lateness == .slow)
        }
        let response = HTTPServerResponse.json(
            StubJSON.object([("errcode", .int(0)), ("errmsg", .string("ok")), ("msgid", .int(msgid))]).rendered)
        return await answer(response, plan: plan, accepted: !duplicate)
    }

    private func wechatToken(_ token: String, expiresIn: Int) -> HTTPServerResponse {
        .json(StubJSON.object([("access_token", .string(token)), ("expires_in", .int(expiresIn))]).rendered)
    }

    func wechatError(_ code: Int, _ message: String) -> HTTPServerResponse {
        let hint = state.withLock { String($0.random.next() % 1_000_000, radix: 36) }
        return .json(
            StubJSON.object([("errcode", .int(code)), ("errmsg", .string("\(message) rid: \(hint)"))]).rendered)
    }

    private static func newToken(_ random: inout StubRandom) -> String {
        var token = ""
        while token.count < 136 { token += String(random.next(), radix: 36) }
        return String(token.prefix(136))
    }

    static let wechatMessages: [Int: String] = [
        -1: "system error", 45011: "api minute-quota reach limit", 40001: "invalid credential",
        41001: "access_token missing",
        40014: "invalid access_token", 42001: "access_token expired", 45009: "reach max api daily quota limit",
        43004: "require subscribe", 40003: "invalid openid", 43019: "require remove blacklist",
        48002: "api forbidden for irregularities", 47003: "argument invalid!", 40037: "invalid template_id",
        43116: "this template msg is limited", 40164: "invalid ip, not in whitelist", 48001: "api unauthorized",
    ]
}
