import Delivery
import Foundation
import HTTPServer

/// Tencent Cloud SMS API 3.0 (TC3-HMAC-SHA256) imitation.
///
/// Requests come as `POST` with a JSON body, or as a signed `GET` with the parameters in the
/// query string (lists flattened as `PhoneNumberSet.0=…`), as the SDKs may send them.
extension StubCore {
    func handleTencent(_ request: HTTPServerRequest) async -> HTTPServerResponse {
        guard request.path == "/" else { return .notFound }
        let action = request.header("x-tc-action") ?? ""
        let isSend = action == "SendSms"
        if isSend { countReceived() }
        func refuse(_ code: String, _ message: String) -> HTTPServerResponse {
            if isSend { reject(code) }
            return tencentError(code, message)
        }
        guard request.method == "POST" || request.method == "GET" else {
            return refuse("UnsupportedProtocol", "The HTTP method is not supported; use POST or GET.")
        }
        if let failure = tencentAuthenticate(request) { return refuse(failure.code, failure.message) }
        guard request.header("x-tc-version") == "2021-01-11" else {
            return refuse("InvalidParameterValue", "The value of X-TC-Version is not supported.")
        }
        let body: [String: Any]
        if request.method == "GET" {
            body = Self.tencentQueryParameters(request.query)
        } else {
            guard let object = StubJSON.object(request.body) else {
                return refuse("InvalidParameter", "The request body is not a JSON object.")
            }
            body = object
        }
        switch action {
        case "SendSms": return await tencentSend(body)
        case "PullSmsSendStatus": return tencentPull(body)
        case "PullSmsSendStatusByPhoneNumber": return tencentPullByPhoneNumber(body)
        default: return refuse("InvalidAction", "The action `\(action)` is not supported.")
        }
    }

    /// Recomputes the TC3 signature from the received method, query, headers and body; `nil` when
    /// it matches.
    ///
    /// A `GET` signs the query string as sent (`canonical query`) and the hash of an empty payload.
    /// The server only sees the decoded arguments, so the query is re-encoded in the order received,
    /// both as RFC 3986 (`%20`) and as a form (`+` for a space, as Python's `urlencode` and Go's
    /// `url.Values` write it); either may match.
    private func tencentAuthenticate(_ request: HTTPServerRequest) -> (code: String, message: String)? {
        let signatureFailure = (
            "AuthFailure.SignatureFailure",
            "The provided credentials could not be validated. Please check your signature is correct."
        )
        guard let authorization = request.header("authorization"), authorization.hasPrefix("TC3-HMAC-SHA256 ") else {
            return signatureFailure
        }
        var fields: [String: String] = [:]
        for part in authorization.dropFirst("TC3-HMAC-SHA256 ".count).split(separator: ",") {
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
        }
        guard let credential = fields["Credential"], let signedHeaders = fields["SignedHeaders"],
            let signature = fields["Signature"]
        else { return signatureFailure }
        let scope = credential.split(separator: "/").map(String.init)
        guard scope.count == 4, scope[2] == "sms", scope[3] == "tc3_request" else { return signatureFailure }
        guard scope[0] == configuration.credentials.secretId else {
            return (
                "AuthFailure.SecretIdNotFound",
                "The SecretId is not found, please ensure that your SecretId is correct."
            )
        }
        guard let timestamp = request.header("x-tc-timestamp").flatMap({ Int($0) }) else {
            return ("MissingParameter", "The request is missing a required parameter `X-TC-Timestamp`.")
        }
        let now = clock.now().timeIntervalSince1970
        if abs(now - Double(timestamp)) > 300 {
            return (
                "AuthFailure.SignatureExpire", "Signature expire. Timestamp must be within 300 seconds of server time."
            )
        }
        let date = formatDate(Date(timeIntervalSince1970: TimeInterval(timestamp)), "yyyy-MM-dd", zone: "UTC")
        guard scope[1] == date else { return signatureFailure }
        let names = signedHeaders.split(separator: ";").map { $0.lowercased() }
        var canonicalHeaders = ""
        for name in names {
            guard let value = request.header(name) else { return signatureFailure }
            canonicalHeaders += name + ":" + value.trimmingCharacters(in: .whitespaces).lowercased() + "\n"
        }
        var queries = [""]
        if request.method == "GET" {
            let encoded = request.query.map {
                PercentEncoding.rfc3986($0.name) + "=" + PercentEncoding.rfc3986($0.value)
            }
            .joined(separator: "&")
            queries = [encoded]
            let form = encoded.replacingOccurrences(of: "%20", with: "+")
            if form != encoded { queries.append(form) }
        }
        for query in queries {
            let expected = try? Self.tc3Signature(
                secretKey: configuration.credentials.secretKey, date: date, service: "sms", timestamp: timestamp,
                method: request.method, canonicalQuery: query, canonicalHeaders: canonicalHeaders,
                signedHeaders: signedHeaders, payload: request.body)
            if expected == signature { return nil }
        }
        return signatureFailure
    }

    static func tc3Signature(
        secretKey: String, date: String, service: String, timestamp: Int, method: String = "POST",
        canonicalQuery: String = "", canonicalHeaders: String, signedHeaders: String, payload: [UInt8]
    ) throws -> String {
        let canonicalRequest =
            method + "\n/\n" + canonicalQuery + "\n" + canonicalHeaders + "\n" + signedHeaders + "\n"
            + Digest.hex(try Digest.sha256(payload))
        let stringToSign =
            "TC3-HMAC-SHA256\n\(timestamp)\n\(date)/\(service)/tc3_request\n"
            + Digest.hex(try Digest.sha256(canonicalRequest))
        let kDate = try Digest.hmacSHA256(key: Array(("TC3" + secretKey).utf8), data: Array(date.utf8))
        let kService = try Digest.hmacSHA256(key: kDate, data: Array(service.utf8))
        let kSigning = try Digest.hmacSHA256(key: kService, data: Array("tc3_request".utf8))
        return Digest.hex(try Digest.hmacSHA256(key: kSigning, data: Array(stringToSign.utf8)))
    }

    private func tencentSend(_ body: [String: Any]) async -> HTTPServerResponse {
        let plan = drawPlan()
        switch plan.fault {
        case .none: break
        case .reset:
            reject("reset")
            return .resetConnection
        case .rateLimited:
            // In HTTP 200 like every Tencent request error: the SDK takes any other status for a
            // network failure and never reads the code.
            reject("RequestLimitExceeded")
            let response = tencentError("RequestLimitExceeded", "Your current request times exceeds the limit.")
            return await answer(response, plan: plan, accepted: false)
        case .error(let code, let message):
            reject(code)
            if code.hasPrefix("http:"), let status = Int(code.dropFirst(5)) {
                var response = tencentError("InternalError", message ?? "An internal error occurred.")
                response.status = status
                return await answer(response, plan: plan, accepted: false)
            }
            if !Self.tencentPerNumberCodes.contains(where: { code.hasPrefix($0) }) {
                return await answer(tencentError(code, message ?? code), plan: plan, accepted: false)
            }
            let numbers = (body["PhoneNumberSet"] as? [Any])?.compactMap { $0 as? String } ?? []
            let context = body["SessionContext"] as? String ?? ""
            let set = numbers.map { number in
                StubJSON.object([
                    ("SerialNo", .string("")), ("PhoneNumber", .string(number)), ("Fee", .int(0)),
                    ("SessionContext", .string(context)), ("Code", .string(code)),
                    ("Message", .string(message ?? code)), ("IsoCode", .string("CN")),
                ])
            }
            return await answer(tencentOK([("SendStatusSet", .array(set))]), plan: plan, accepted: false)
        }
        func fail(_ code: String, _ message: String) async -> HTTPServerResponse {
            reject(code)
            return await answer(tencentError(code, message), plan: plan, accepted: false)
        }
        guard let rawNumbers = body["PhoneNumberSet"] as? [Any], !rawNumbers.isEmpty else {
            return await fail("MissingParameter.EmptyPhoneNumberSet", "The phone number set is empty.")
        }
        let numbers = rawNumbers.compactMap { $0 as? String }
        guard numbers.count == rawNumbers.count else {
            return await fail("InvalidParameter", "PhoneNumberSet must hold strings.")
        }
        guard numbers.count <= 200 else {
            return await fail("LimitExceeded.PhoneNumberCountLimit", "The number of phone numbers exceeds 200.")
        }
        if Set(numbers.map(Self.isMainland)).count > 1 {
            return await fail(
                "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber",
                "The request contains both Chinese mainland and international phone numbers.")
        }
        guard (body["SmsSdkAppId"] as? String) == configuration.credentials.smsSdkAppId else {
            return await fail("InvalidParameterValue.SdkAppIdNotExist", "The SdkAppId does not exist.")
        }
        guard let template = body["TemplateId"] as? String, !template.isEmpty else {
            return await fail("MissingParameter", "The request is missing a required parameter `TemplateId`.")
        }
        let rawParams = body["TemplateParamSet"] as? [Any] ?? []
        let params = rawParams.compactMap { value -> String? in value is NSNumber ? nil : value as? String }
        guard params.count == rawParams.count else {
            return await fail(
                "InvalidParameterValue.TemplateParameterFormatError", "Template parameters must be strings.")
        }
        let context = body["SessionContext"] as? String
        if let context, context.utf8.count >= 512 {
            return await fail("InvalidParameter", "SessionContext must be shorter than 512 bytes.")
        }

        let now = clock.now()
        let window = configuration.limits.tencentSameContentWindow.seconds
        let daily = configuration.limits.tencentDailyPerNumber
        let content = (body["SignName"] as? String ?? "") + "|" + template + "|" + params.joined(separator: "\u{1}")
        struct Outcome {
            var number: String
            var normalised: String?
            var code: String
            var serial: String
        }
        let outcomes = state.withLock { state -> [Outcome] in
            numbers.map { number in
                guard let mobile = normalisedMobile(number) else {
                    return Outcome(
                        number: number, normalised: nil, code: "InvalidParameterValue.IncorrectPhoneNumber", serial: "")
                }
                let key = mobile + "|" + content
                if let daily {
                    let recent = (state.tencentDaily[mobile] ?? []).filter { now.timeIntervalSince($0) < 86_400 }
                    state.tencentDaily[mobile] = recent
                    if recent.count >= daily {
                        return Outcome(
                            number: number, normalised: nil, code: "LimitExceeded.PhoneNumberDailyLimit", serial: "")
                    }
                }
                if let last = state.tencentLastSend[key], now.timeIntervalSince(last) < window {
                    return Outcome(
                        number: number, normalised: nil, code: "LimitExceeded.PhoneNumberThirtySecondLimit", serial: "")
                }
                state.tencentLastSend[key] = now
                if daily != nil { state.tencentDaily[mobile, default: []].append(now) }
                state.nextSerial += 1
                return Outcome(number: number, normalised: mobile, code: "Ok", serial: "5000:\(state.nextSerial)")
            }
        }
        for outcome in outcomes where outcome.code != "Ok" { reject(outcome.code) }
        let accepted = outcomes.filter { $0.normalised != nil }
        if !accepted.isEmpty {
            let receipts = accept(
                ourID: context, providerIDs: accepted.map(\.serial), recipients: accepted.compactMap(\.normalised),
                forceDelivered: plan.lateness == .slow, extra: accepted.map { _ in context ?? "" })
            state.withLock { state in
                for receipt in receipts { state.tencentRecords[receipt.recipient, default: []].append(receipt) }
                state.tencentUnpulled += receipts
                // Nobody may ever pull: keep the newest receipts only, as the provider expires old ones.
                let excess = state.tencentUnpulled.count - Self.tencentUnpulledLimit
                if excess > 0 { state.tencentUnpulled.removeFirst(excess) }
            }
        }
        let set = outcomes.map { outcome in
            StubJSON.object([
                ("SerialNo", .string(outcome.serial)),
                ("PhoneNumber", .string(outcome.normalised.map { "+86" + $0 } ?? outcome.number)),
                ("Fee", .int(outcome.code == "Ok" ? 1 : 0)),
                ("SessionContext", .string(context ?? "")),
                ("Code", .string(outcome.code)),
                (
                    "Message",
                    .string(outcome.code == "Ok" ? "send success" : Self.tencentMessages[outcome.code] ?? outcome.code)
                ),
                ("IsoCode", .string("CN")),
            ])
        }
        return await answer(tencentOK([("SendStatusSet", .array(set))]), plan: plan, accepted: !accepted.isEmpty)
    }

    /// Receipts whose time has come and that no earlier pull returned (consumed on pull).
    private func tencentPull(_ body: [String: Any]) -> HTTPServerResponse {
        guard (body["SmsSdkAppId"] as? String) == configuration.credentials.smsSdkAppId else {
            return tencentError("InvalidParameterValue.SdkAppIdNotExist", "The SdkAppId does not exist.")
        }
        let limit = (body["Limit"] as? NSNumber)?.intValue ?? 100
        guard (1...100).contains(limit) else {
            return tencentError("InvalidParameterValue", "Limit must be between 1 and 100.")
        }
        let now = clock.now()
        let due = state.withLock { state -> [Receipt] in
            var taken: [Receipt] = []
            state.tencentUnpulled.removeAll { receipt in
                guard taken.count < limit, receipt.reportAt <= now else { return false }
                taken.append(receipt)
                return true
            }
            return taken
        }
        return tencentOK([("PullSmsSendStatusSet", .array(due.map(Self.tencentStatusRow)))])
    }

    /// One number's receipts whose time has come, of sends within `[BeginTime, EndTime]` (send
    /// time, Unix seconds; which time Tencent compares is unverified), paged by `Offset`/`Limit`.
    /// Not consumed: the same query answers the same rows.
    private func tencentPullByPhoneNumber(_ body: [String: Any]) -> HTTPServerResponse {
        guard (body["SmsSdkAppId"] as? String) == configuration.credentials.smsSdkAppId else {
            return tencentError("InvalidParameterValue.SdkAppIdNotExist", "The SdkAppId does not exist.")
        }
        guard let number = body["PhoneNumber"] as? String, !number.isEmpty else {
            return tencentError("MissingParameter", "The request is missing a required parameter `PhoneNumber`.")
        }
        guard let mobile = normalisedMobile(number) else {
            return tencentError("InvalidParameterValue.IncorrectPhoneNumber", "incorrect number format")
        }
        guard let begin = ((body["BeginTime"] ?? body["SendDateTime"]) as? NSNumber)?.int64Value else {
            return tencentError("MissingParameter", "The request is missing a required parameter `BeginTime`.")
        }
        let end = (body["EndTime"] as? NSNumber)?.int64Value
        let offset = (body["Offset"] as? NSNumber)?.intValue ?? 0
        let limit = (body["Limit"] as? NSNumber)?.intValue ?? 100
        guard (1...100).contains(limit), offset >= 0, end.map({ $0 >= begin }) ?? true else {
            return tencentError(
                "InvalidParameterValue", "Limit must be 1-100, Offset at least 0, EndTime not before BeginTime.")
        }
        let now = clock.now()
        let records = state.withLock { $0.tencentRecords[mobile] ?? [] }
        let matching = records.filter { receipt in
            let sent = Int64(receipt.sentAt.timeIntervalSince1970.rounded(.down))
            return receipt.reportAt <= now && sent >= begin && end.map { sent <= $0 } ?? true
        }
        let page = matching.dropFirst(offset).prefix(limit)
        return tencentOK([("PullSmsSendStatusSet", .array(page.map(Self.tencentStatusRow)))])
    }

    /// A `PullSmsSendStatusSet` row.
    private static func tencentStatusRow(_ receipt: Receipt) -> StubJSON {
        StubJSON.object([
            ("UserReceiveTime", .int(Int(receipt.reportAt.timeIntervalSince1970))),
            ("CountryCode", .string("86")),
            ("SubscriberNumber", .string(receipt.recipient)),
            ("PhoneNumber", .string("+86" + receipt.recipient)),
            ("SerialNo", .string(receipt.providerID)),
            ("ReportStatus", .string(receipt.delivered ? "SUCCESS" : "FAIL")),
            ("Description", .string(receipt.delivered ? "用户短信送达成功" : receipt.code)),
            ("SessionContext", .string(receipt.extra ?? "")),
        ])
    }

    /// Whether Tencent reads `number` as a Chinese mainland one: `+86…`, `0086…`, or without an
    /// international prefix (`86…`, bare 11 digits); `+1…`, `+852…`, `001…` are international.
    static func isMainland(_ number: String) -> Bool {
        let trimmed = number.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("+") { return trimmed.hasPrefix("+86") }
        if trimmed.hasPrefix("00") { return trimmed.hasPrefix("0086") }
        return true
    }

    /// The parameters of a `GET` as the JSON body would carry them: `Name.N` items become the list
    /// `Name`, and the integer parameters numbers.
    static func tencentQueryParameters(_ query: [(name: String, value: String)]) -> [String: Any] {
        var body: [String: Any] = [:]
        var lists: [String: [(index: Int, value: String)]] = [:]
        for (name, value) in query {
            let parts = name.split(separator: ".", maxSplits: 1)
            if parts.count == 2, let index = Int(parts[1]) {
                lists[String(parts[0]), default: []].append((index, value))
            } else if tencentIntegerParameters.contains(name), let number = Int(value) {
                body[name] = NSNumber(value: number)
            } else {
                body[name] = value
            }
        }
        for (name, items) in lists { body[name] = items.sorted { $0.index < $1.index }.map(\.value) }
        return body
    }

    static let tencentIntegerParameters: Set<String> = ["Limit", "Offset", "BeginTime", "EndTime", "SendDateTime"]

    private func tencentOK(_ fields: [(String, StubJSON)]) -> HTTPServerResponse {
        let requestID = state.withLock { $0.random.uuid() }.lowercased()
        return tencentJSON(.object([("Response", .object(fields + [("RequestId", .string(requestID))]))]))
    }

    /// A request error, in HTTP 200 as Tencent answers them.
    func tencentError(_ code: String, _ message: String) -> HTTPServerResponse {
        let requestID = state.withLock { $0.random.uuid() }.lowercased()
        return tencentJSON(
            .object([
                (
                    "Response",
                    .object([
                        ("Error", .object([("Code", .string(code)), ("Message", .string(message))])),
                        ("RequestId", .string(requestID)),
                    ])
                )
            ]))
    }

    /// `Content-Type: application/json` exactly: the SDK ignores error bodies under any other value.
    private func tencentJSON(_ body: StubJSON) -> HTTPServerResponse {
        HTTPServerResponse(
            status: 200, headers: [("Content-Type", "application/json")], body: Array(body.rendered.utf8))
    }

    static let tencentUnpulledLimit = 100_000

    static let tencentPerNumberCodes = [
        "LimitExceeded.PhoneNumber", "FailedOperation.PhoneNumberInBlacklist",
        "InvalidParameterValue.IncorrectPhoneNumber",
        "FailedOperation.ContainSensitiveWord", "LimitExceeded.DeliveryFrequencyLimit",
    ]

    static let tencentMessages: [String: String] = [
        "LimitExceeded.PhoneNumberThirtySecondLimit":
            "the number of sms messages sent from a single mobile number within 30 seconds exceeds the upper limit",
        "InvalidParameterValue.IncorrectPhoneNumber": "incorrect number format",
        "LimitExceeded.PhoneNumberDailyLimit":
            "the number of sms messages sent from a single mobile number every day exceeds the upper limit",
    ]
}
