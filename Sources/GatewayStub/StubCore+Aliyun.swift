import Delivery
import Foundation
import HTTPServer

/// Aliyun dysmsapi (RPC, signature V2) imitation.
extension StubCore {
    func handleAliyun(_ request: HTTPServerRequest) async -> HTTPServerResponse {
        guard request.path == "/" else { return .notFound }
        guard request.method == "GET" || request.method == "POST" else {
            return aliyunCommonError("UnsupportedHTTPMethod", "Specified http method is not supported.", status: 400)
        }
        var params: [(String, String)] = request.query.map { ($0.name, $0.value) }
        if request.method == "POST", !request.body.isEmpty {
            params += parseForm(request.bodyText)
        }
        var values: [String: String] = [:]
        for (key, value) in params where values[key] == nil { values[key] = value }
        let authorization = request.header("authorization") ?? ""
        let isV3 = authorization.hasPrefix("ACS3-HMAC-SHA256 ")
        if isV3 {
            values["Action"] = request.header("x-acs-action")
            values["Version"] = request.header("x-acs-version")
            values["SignatureNonce"] = request.header("x-acs-signature-nonce")
            values["Timestamp"] = request.header("x-acs-date")
        }
        let action = values["Action"] ?? ""
        let isSend = action == "SendSms" || action == "SendBatchSms"
        if isSend { countReceived() }
        func refuse(_ response: HTTPServerResponse, _ code: String) -> HTTPServerResponse {
            if isSend { reject(code) }
            return response
        }

        if isV3 {
            if let failure = aliyunVerifyV3(request, authorization: authorization, params: params) {
                return refuse(failure.response, failure.code)
            }
        } else {
            for key in [
                "Action", "Version", "AccessKeyId", "Signature", "SignatureMethod", "SignatureNonce", "Timestamp",
            ] where (values[key] ?? "").isEmpty {
                return refuse(aliyunMissing(key), "MissingParameter")
            }
            guard values["AccessKeyId"] == configuration.credentials.accessKeyId else {
                return refuse(aliyunKeyNotFound(), "InvalidAccessKeyId.NotFound")
            }
            guard values["SignatureMethod"] == "HMAC-SHA1", values["SignatureVersion"] == "1.0" else {
                return refuse(aliyunIncompleteSignature(), "IncompleteSignature")
            }
            let stringToSign = Self.aliyunStringToSign(
                method: request.method, params: params.filter { $0.0 != "Signature" })
            let expected =
                (try? Digest.hmacSHA1(key: configuration.credentials.accessKeySecret + "&", data: stringToSign))
                .map(Digest.base64)
            guard let expected, expected == values["Signature"] else {
                return refuse(aliyunSignatureMismatch(stringToSign), "SignatureDoesNotMatch")
            }
        }
        guard let timestamp = Self.aliyunTimestamp(values["Timestamp"] ?? ""),
            abs(timestamp.timeIntervalSince(clock.now())) <= 15 * 60
        else {
            return refuse(
                aliyunCommonError(
                    "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.", status: 400),
                "InvalidTimeStamp.Expired")
        }
        let nonce = values["SignatureNonce"] ?? ""
        let fresh = state.withLock { $0.nonces.insert(nonce).inserted }
        guard fresh else {
            return refuse(
                aliyunCommonError("SignatureNonceUsed", "Specified signature nonce was used already.", status: 400),
                "SignatureNonceUsed")
        }
        guard values["Version"] == "2017-05-25" else {
            return refuse(
                aliyunCommonError("InvalidVersion", "Specified parameter Version is not valid.", status: 400),
                "InvalidVersion")
        }

        switch action {
        case "SendSms", "SendBatchSms":
            return await aliyunSend(action: action, values)
        case "QuerySendDetails":
            return aliyunQuery(values)
        default:
            return aliyunCommonError(
                "InvalidAction.NotFound", "Specified api is not found, please check your url and method.", status: 404)
        }
    }

    private func aliyunSend(action: String, _ values: [String: String]) async -> HTTPServerResponse {
        let plan = drawPlan()
        switch plan.fault {
        case .none: break
        case .reset:
            reject("reset")
            return .resetConnection
        case .rateLimited:
            reject("429")
            var response = aliyunCommonError(
                "Throttling.User", "Request was denied due to user flow control.", status: 429)
            response.headers.append(("Retry-After", retryAfterValue()))
            return await answer(response, plan: plan, accepted: false)
        case .error(let code, let message):
            reject(code)
            return await answer(aliyunInjected(code, message), plan: plan, accepted: false)
        }

        var numbers: [String] = []
        var signs: [String] = []
        let template = values["TemplateCode"] ?? ""
        if action == "SendSms" {
            for key in ["PhoneNumbers", "SignName", "TemplateCode"] where (values[key] ?? "").isEmpty {
                reject("MissingParameter")
                return await answer(aliyunMissing(key), plan: plan, accepted: false)
            }
            numbers = (values["PhoneNumbers"] ?? "").split(separator: ",").map(String.init)
            signs = [values["SignName"] ?? ""]
            if let param = values["TemplateParam"], !Self.isStringObject(param) {
                return await aliyunBusiness("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值", plan)
            }
        } else {
            for key in ["PhoneNumberJson", "SignNameJson", "TemplateCode"] where (values[key] ?? "").isEmpty {
                reject("MissingParameter")
                return await answer(aliyunMissing(key), plan: plan, accepted: false)
            }
            guard let phones = Self.stringArray(values["PhoneNumberJson"] ?? ""),
                let names = Self.stringArray(values["SignNameJson"] ?? ""), names.count == phones.count
            else {
                return await aliyunBusiness("isv.INVALID_PARAMETERS", "参数异常", plan)
            }
            if let params = values["TemplateParamJson"] {
                let parsed = (try? JSONSerialization.jsonObject(with: Data(params.utf8))) as? [Any]
                let valid = parsed?.allSatisfy { item in
                    (item as? [String: Any])?.values.allSatisfy { $0 is String && !($0 is NSNumber) } ?? false
                }
                if valid != true {
                    return await aliyunBusiness("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值", plan)
                }
            }
            if phones.count > 100 {
                return await aliyunBusiness("isv.MOBILE_COUNT_OVER_LIMIT", "手机号码数量超过限制", plan)
            }
            numbers = phones
            signs = names
        }
        if numbers.count > 1000 {
            return await aliyunBusiness("isv.MOBILE_COUNT_OVER_LIMIT", "手机号码数量超过限制", plan)
        }
        var normalised: [String] = []
        for number in numbers {
            guard let mobile = normalisedMobile(number) else {
                return await aliyunBusiness("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号", plan)
            }
            normalised.append(mobile)
        }

        let now = clock.now()
        let limit = configuration.limits.aliyunDailyPerNumber
        let (allowed, bizID) = state.withLock { state -> (Bool, String) in
            let keys = normalised.enumerated().map {
                "\(signs[min($0.offset, signs.count - 1)])|\(template)|\($0.element)"
            }
            for key in keys {
                let recent = (state.aliyunSends[key] ?? []).filter { now.timeIntervalSince($0) < 86_400 }
                state.aliyunSends[key] = recent
                if recent.count >= limit { return (false, "") }
            }
            for key in keys { state.aliyunSends[key, default: []].append(now) }
            state.nextBizID += 1
            return (true, "\(state.nextBizID)^0")
        }
        guard allowed else {
            return await aliyunBusiness("isv.BUSINESS_LIMIT_CONTROL", "触发天级流控Permits:\(limit)", plan)
        }
        let receipts = accept(
            ourID: values["OutId"], providerIDs: [bizID], recipients: normalised,
            forceDelivered: plan.lateness == .slow,
            extra: Array(repeating: template, count: normalised.count))
        state.withLock { state in
            for receipt in receipts { state.aliyunRecords[receipt.recipient, default: []].append(receipt) }
        }
        let requestID = state.withLock { $0.random.uuid() }
        let body = StubJSON.object([
            ("Code", .string("OK")), ("Message", .string("OK")), ("BizId", .string(bizID)),
            ("RequestId", .string(requestID)),
        ])
        return await answer(.json(body.rendered), plan: plan, accepted: true)
    }

    /// Verifies an `ACS3-HMAC-SHA256` signature from the received method, query, headers and body.
    private func aliyunVerifyV3(
        _ request: HTTPServerRequest, authorization: String, params: [(String, String)]
    ) -> (response: HTTPServerResponse, code: String)? {
        var fields: [String: String] = [:]
        for part in authorization.dropFirst("ACS3-HMAC-SHA256 ".count).split(separator: ",") {
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
        }
        guard let credential = fields["Credential"], let signedHeaders = fields["SignedHeaders"],
            let signature = fields["Signature"]
        else { return (aliyunIncompleteSignature(), "IncompleteSignature") }
        for header in ["x-acs-action", "x-acs-version", "x-acs-signature-nonce", "x-acs-date", "x-acs-content-sha256"]
        where (request.header(header) ?? "").isEmpty {
            return (aliyunMissing(header), "MissingParameter")
        }
        guard credential == configuration.credentials.accessKeyId else {
            return (aliyunKeyNotFound(), "InvalidAccessKeyId.NotFound")
        }
        let payloadHash = request.header("x-acs-content-sha256") ?? ""
        guard let bodyHash = try? Digest.sha256(request.body), Digest.hex(bodyHash) == payloadHash else {
            return (aliyunSignatureMismatch(""), "SignatureDoesNotMatch")
        }
        let query = request.query.sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
            .map { PercentEncoding.rfc3986($0.name) + "=" + PercentEncoding.rfc3986($0.value) }
            .joined(separator: "&")
        var canonicalHeaders = ""
        for name in signedHeaders.split(separator: ";").map({ $0.lowercased() }) {
            let values = request.headers.filter { $0.name == name }.map {
                $0.value.trimmingCharacters(in: .whitespaces)
            }
            guard !values.isEmpty else { return (aliyunIncompleteSignature(), "IncompleteSignature") }
            canonicalHeaders += name + ":" + values.joined(separator: ",") + "\n"
        }
        let canonicalRequest =
            request.method + "\n/\n" + query + "\n" + canonicalHeaders + "\n" + signedHeaders + "\n" + payloadHash
        guard let requestHash = try? Digest.sha256(canonicalRequest),
            let mac = try? Digest.hmacSHA256(
                key: configuration.credentials.accessKeySecret,
                data: "ACS3-HMAC-SHA256\n" + Digest.hex(requestHash))
        else { return (aliyunSignatureMismatch(""), "SignatureDoesNotMatch") }
        guard Digest.hex(mac) == signature else {
            return (aliyunSignatureMismatch(canonicalRequest), "SignatureDoesNotMatch")
        }
        return nil
    }

    private func aliyunKeyNotFound() -> HTTPServerResponse {
        aliyunCommonError("InvalidAccessKeyId.NotFound", "Specified access key is not found.", status: 404)
    }

    private func aliyunIncompleteSignature() -> HTTPServerResponse {
        aliyunCommonError(
            "IncompleteSignature", "The request signature does not conform to Aliyun standards.", status: 400)
    }

    private func aliyunSignatureMismatch(_ signed: String) -> HTTPServerResponse {
        aliyunCommonError(
            "SignatureDoesNotMatch",
            "Specified signature is not matched with our calculation. server string to sign is:" + signed, status: 400)
    }

    private func aliyunQuery(_ values: [String: String]) -> HTTPServerResponse {
        for key in ["PhoneNumber", "SendDate", "PageSize", "CurrentPage"] where (values[key] ?? "").isEmpty {
            return aliyunMissing(key)
        }
        let pageSize = Int(values["PageSize"] ?? "") ?? 0
        let page = Int(values["CurrentPage"] ?? "") ?? 0
        guard (1...50).contains(pageSize), page >= 1 else {
            return aliyunCommonError("InvalidParameter", "Specified parameter PageSize is not valid.", status: 400)
        }
        let number = normalisedMobile(values["PhoneNumber"] ?? "") ?? ""
        let date = values["SendDate"] ?? ""
        let now = clock.now()
        let (records, requestID) = state.withLock { state in
            (state.aliyunRecords[number] ?? [], state.random.uuid())
        }
        let matching = records.filter { receipt in
            formatDate(receipt.sentAt, "yyyyMMdd") == date
                && (values["BizId"].map { $0.isEmpty || $0 == receipt.providerID } ?? true)
        }
        let pageItems = matching.dropFirst((page - 1) * pageSize).prefix(pageSize)
        let dtos = pageItems.map { receipt -> StubJSON in
            let reported = receipt.reportAt <= now
            let status = !reported ? 1 : receipt.delivered ? 3 : 2
            return .object([
                ("PhoneNum", .string(receipt.recipient)),
                ("SendStatus", .int(status)),
                ("ErrCode", .string(reported ? receipt.code : "")),
                ("TemplateCode", .string(receipt.extra ?? "")),
                ("Content", .string("")),
                ("SendDate", .string(formatDate(receipt.sentAt, "yyyy-MM-dd HH:mm:ss"))),
                ("ReceiveDate", .string(reported ? formatDate(receipt.reportAt, "yyyy-MM-dd HH:mm:ss") : "")),
                ("OutId", .string(receipt.ourID ?? "")),
            ])
        }
        let body = StubJSON.object([
            ("Code", .string("OK")), ("Message", .string("OK")), ("RequestId", .string(requestID)),
            ("TotalCount", .int(matching.count)),
            ("SmsSendDetailDTOs", .object([("SmsSendDetailDTO", .array(Array(dtos)))])),
        ])
        return .json(body.rendered)
    }

    /// A business error: HTTP 200, `Code`/`Message`/`RequestId`.
    private func aliyunBusiness(_ code: String, _ message: String, _ plan: RequestPlan) async -> HTTPServerResponse {
        reject(code)
        let requestID = state.withLock { $0.random.uuid() }
        let body = StubJSON.object([
            ("Code", .string(code)), ("Message", .string(message)), ("RequestId", .string(requestID)),
        ])
        return await answer(.json(body.rendered), plan: plan, accepted: false)
    }

    /// A scripted error: common codes in their HTTP status and shape, `isv.*` as business errors.
    private func aliyunInjected(_ code: String, _ message: String?) -> HTTPServerResponse {
        if code.hasPrefix("http:"), let status = Int(code.dropFirst(5)) {
            let name = status == 503 ? "ServiceUnavailable" : status >= 500 ? "InternalError" : "InvalidParameter"
            return aliyunCommonError(
                name, message ?? "The request processing has failed due to some unknown error.", status: status)
        }
        if let status = Self.aliyunCommonStatus[code] {
            return aliyunCommonError(code, message ?? "The request processing has failed.", status: status)
        }
        let requestID = state.withLock { $0.random.uuid() }
        let text = message ?? Self.aliyunDefaultMessages[code] ?? code
        return .json(
            StubJSON.object([("Code", .string(code)), ("Message", .string(text)), ("RequestId", .string(requestID))])
                .rendered)
    }

    func aliyunCommonError(_ code: String, _ message: String, status: Int) -> HTTPServerResponse {
        let requestID = state.withLock { $0.random.uuid() }
        let body = StubJSON.object([
            ("RequestId", .string(requestID)), ("HostId", .string("dysmsapi.aliyuncs.com")), ("Code", .string(code)),
            ("Message", .string(message)),
            ("Recommend", .string("https://api.aliyun.com/troubleshoot?q=\(code)&product=Dysmsapi")),
        ])
        return .json(body.rendered, status: status)
    }

    private func aliyunMissing(_ key: String) -> HTTPServerResponse {
        aliyunCommonError(
            "MissingParameter",
            "The input parameter \"\(key)\" that is mandatory for processing this request is not supplied.",
            status: 400)
    }

    /// `METHOD&%2F&percentEncode(sorted canonical query)`, as signature V2 defines it.
    static func aliyunStringToSign(method: String, params: [(String, String)]) -> String {
        let sorted = params.sorted { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
        let canonical = sorted.map { PercentEncoding.rfc3986($0.0) + "=" + PercentEncoding.rfc3986($0.1) }
            .joined(separator: "&")
        return method + "&%2F&" + PercentEncoding.rfc3986(canonical)
    }

    static func aliyunTimestamp(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss'Z'"
        return formatter.date(from: text)
    }

    /// Whether `text` is a JSON object whose values are all strings.
    static func isStringObject(_ text: String) -> Bool {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            return false
        }
        return object.values.allSatisfy { $0 is String && !($0 is NSNumber) }
    }

    static func stringArray(_ text: String) -> [String]? {
        guard let array = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [Any] else { return nil }
        let strings = array.compactMap { $0 as? String }
        return strings.count == array.count ? strings : nil
    }

    static let aliyunCommonStatus: [String: Int] = [
        "MissingParameter": 400, "InvalidParameter": 400, "Throttling": 400, "Throttling.User": 400,
        "Throttling.Api": 400, "InvalidTimeStamp.Expired": 400, "SignatureNonceUsed": 400,
        "InvalidAccessKeyId.NotFound": 404, "UnsupportedHTTPMethod": 400, "IncompleteSignature": 400,
        "Forbidden": 403, "Forbidden.RiskControl": 403, "SignatureDoesNotMatch": 400, "InternalError": 500,
        "ServiceUnavailable": 503,
    ]

    static let aliyunDefaultMessages: [String: String] = [
        "isv.BUSINESS_LIMIT_CONTROL": "触发分钟级流控Permits:1",
        "isv.DAY_LIMIT_CONTROL": "触发日发送限额",
        "isv.MONTH_LIMIT_CONTROL": "触发月发送限额",
        "isv.AMOUNT_NOT_ENOUGH": "账户余额不足",
        "isv.OUT_OF_SERVICE": "业务停机",
        "isp.SYSTEM_ERROR": "系统异常",
        "isv.MOBILE_NUMBER_ILLEGAL": "非法手机号",
        "isv.MOBILE_COUNT_OVER_LIMIT": "手机号码数量超过限制",
        "isv.TEMPLATE_MISSING_PARAMETERS": "模板变量缺少对应参数值",
        "isv.TEMPLATE_PARAMS_ILLEGAL": "模板变量里包含非法关键字",
        "isv.INVALID_JSON_PARAM": "JSON参数不合法，只接受字符串值",
        "isv.PARAM_LENGTH_LIMIT": "参数超出长度限制",
        "isv.PARAM_NOT_SUPPORT_URL": "不支持URL",
        "isv.BLACK_KEY_CONTROL_LIMIT": "黑名单管控",
        "isv.SMS_CONTENT_ILLEGAL": "短信内容包含禁止发送内容",
        "isv.INVALID_PARAMETERS": "参数异常",
        "isv.DOMESTIC_NUMBER_NOT_SUPPORTED": "国际/港澳台消息模板不支持发送境内号码",
        "isv.SMS_TEMPLATE_ILLEGAL": "该账号下找不到对应模板",
        "isv.SMS_SIGNATURE_ILLEGAL": "该账号下找不到对应签名",
        "isv.SMS_SIGNATURE_SCENE_ILLEGAL": "签名和模板类型不一致",
        "isv.SIGN_STATE_ILLEGAL": "签名状态不合法",
        "isv.SMS_SIGN_ILLEGAL": "签名禁止使用",
        "isv.EXTEND_CODE_ERROR": "扩展码使用错误",
        "isp.RAM_PERMISSION_DENY": "RAM权限DENY",
        "isv.PRODUCT_UN_SUBSCRIPT": "未开通云通信产品的阿里云客户",
        "isv.PRODUCT_UNSUBSCRIBE": "产品未开通",
        "isv.ACCOUNT_NOT_EXISTS": "账户不存在",
        "isv.ACCOUNT_ABNORMAL": "账户异常",
        "isv.DENY_IP_RANGE": "IP地址所在的地域被禁用",
    ]
}

/// Decodes an `application/x-www-form-urlencoded` body (`+` is a space).
func parseForm(_ text: String) -> [(String, String)] {
    text.split(separator: "&", omittingEmptySubsequences: true).map { pair in
        let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        func decode(_ part: Substring) -> String {
            let spaced = part.replacingOccurrences(of: "+", with: " ")
            return spaced.removingPercentEncoding ?? spaced
        }
        return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
    }
}
