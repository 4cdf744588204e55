import Delivery
import Foundation
import HTTPServer
import Testing

@Suite struct AliyunAdapterTests {
    static let credentials = Credentials(id: "LTAI5tTestKey", secret: "testSecret")

    func adapter(
        baseURL: String = "https://dysmsapi.aliyuncs.com", version: AliyunSMSAdapter.SignatureVersion = .v2
    )
        -> AliyunSMSAdapter
    {
        AliyunSMSAdapter(
            configuration: .init(baseURL: baseURL, signatureVersion: version), credentials: Self.credentials,
            clock: { fixedNow }, nonce: { "45e25e9b-0a6f-4070-8c85-2956eda1b466" })
    }

    func answer(_ code: String, message: String = "x", status: Int = 200) -> DeliveryOutcome {
        adapter().classify(
            httpResponse(status, #"{"Code":"\#(code)","Message":"\#(message)","RequestId":"F655A8D5-B967-440B"}"#))
    }

    // MARK: Request shape

    @Test func v2FormPostCarriesEverySignedParameter() throws {
        let request = try adapter().request(for: sampleSMS, at: fixedNow)
        #expect(request.method == .post)
        #expect(request.url == "https://dysmsapi.aliyuncs.com/")
        #expect(request.headers.first(name: "content-type") == "application/x-www-form-urlencoded")
        let fields = formFields(String(decoding: request.body, as: UTF8.self))
        let values = Dictionary(fields, uniquingKeysWith: { first, _ in first })
        #expect(values["Action"] == "SendSms")
        #expect(values["Version"] == "2017-05-25")
        #expect(values["Format"] == "JSON")
        #expect(values["AccessKeyId"] == "LTAI5tTestKey")
        #expect(values["SignatureMethod"] == "HMAC-SHA1")
        #expect(values["SignatureVersion"] == "1.0")
        #expect(values["SignatureNonce"] == "45e25e9b-0a6f-4070-8c85-2956eda1b466")
        #expect(values["Timestamp"] == "2023-11-14T22:13:20Z")
        #expect(values["RegionId"] == "cn-hangzhou")
        #expect(values["PhoneNumbers"] == "13800138000")
        #expect(values["SignName"] == "税务局")
        #expect(values["TemplateCode"] == "SMS_15305001")
        #expect(values["TemplateParam"] == #"{"name":"示例公司","count":"3"}"#)
        #expect(values["OutId"] == "c1-e42-sms")
        let signature = try #require(values["Signature"])
        let signed = fields.filter { $0.0 != "Signature" }
        #expect(
            AliyunSignatureV2(accessKeySecret: "testSecret").verify(
                signature: signature, method: .post, parameters: signed))
        #expect(
            !AliyunSignatureV2(accessKeySecret: "other").verify(signature: signature, method: .post, parameters: signed)
        )
    }

    @Test func templateParamEscapesAndKeepsOrder() throws {
        var message = sampleSMS
        message.params = [.init(key: "z", value: "a\"b\nc"), .init(key: "a", value: "1")]
        let fields = formFields(String(decoding: try adapter().request(for: message, at: fixedNow).body, as: UTF8.self))
        #expect(fields.first { $0.0 == "TemplateParam" }?.1 == #"{"z":"a\"b\nc","a":"1"}"#)
    }

    @Test func missingTemplateFailsTheMessage() async {
        var message = sampleSMS
        message.templateID = nil
        #expect(
            await adapter(baseURL: "http://127.0.0.1:1").send(message, using: URLSessionClient())
                == .failed(reason: .init("adapter", "missing_field.template_id"), fallback: false))
    }

    @Test func v2SignatureVerifiesAtTheProviderOverLoopback() async throws {
        let recorder = Recorder()
        let handler: HTTPServer.Handler = { request in
            _ = recorder.record(request)
            let fields = formFields(request.bodyText)
            guard let signature = fields.first(where: { $0.0 == "Signature" })?.1,
                AliyunSignatureV2(accessKeySecret: "testSecret").verify(
                    signature: signature, method: .post, parameters: fields.filter { $0.0 != "Signature" })
            else {
                return .json(
                    #"{"Code":"SignatureDoesNotMatch","Message":"Specified signature is not matched"}"#, status: 400)
            }
            return .json(#"{"Code":"OK","Message":"OK","BizId":"900619746936498440^0","RequestId":"A"}"#)
        }
        let outcome = try await withProvider(handler) { baseURL in
            await adapter(baseURL: baseURL).send(sampleSMS, using: URLSessionClient())
        }
        #expect(outcome == .accepted(providerID: "900619746936498440^0"))
        #expect(recorder.requests.count == 1)
        #expect(recorder.requests.first?.path == "/")
    }

    @Test func v3SignatureVerifiesAtTheProviderOverLoopback() async throws {
        let recorder = Recorder()
        let handler: HTTPServer.Handler = { request in
            _ = recorder.record(request)
            guard let authorization = request.header("authorization"),
                let signedList = authorization.components(separatedBy: "SignedHeaders=").last?
                    .components(separatedBy: ",").first
            else { return .json(#"{"Code":"IncompleteSignature"}"#, status: 400) }
            let signedNames = Set(signedList.split(separator: ";").map(String.init))
            let headers = request.headers.filter { signedNames.contains($0.name) }.map { ($0.name, $0.value) }
            let expected = try AliyunSignatureV3(accessKeyID: "LTAI5tTestKey", accessKeySecret: "testSecret").sign(
                method: .post, path: request.path, query: request.query.map { ($0.name, $0.value) }, headers: headers,
                payloadHash: Digest.hex(try Digest.sha256(request.body)))
            guard expected.authorization == authorization,
                request.header("x-acs-content-sha256") == Digest.hex(try Digest.sha256(request.body))
            else { return .json(#"{"Code":"SignatureDoesNotMatch"}"#, status: 403) }
            return .json(#"{"Code":"OK","Message":"OK","BizId":"1^0","RequestId":"B"}"#)
        }
        let outcome = try await withProvider(handler) { baseURL in
            await adapter(baseURL: baseURL, version: .v3).send(sampleSMS, using: URLSessionClient())
        }
        #expect(outcome == .accepted(providerID: "1^0"))
        let seen = try #require(recorder.requests.first)
        #expect(seen.body.isEmpty)
        #expect(seen.header("x-acs-action") == "SendSms")
        #expect(seen.header("x-acs-version") == "2017-05-25")
        #expect(seen.header("x-acs-date") == "2023-11-14T22:13:20Z")
        #expect(seen.queryValue("OutId") == "c1-e42-sms")
        #expect(seen.queryValue("TemplateParam") == #"{"name":"示例公司","count":"3"}"#)
        #expect(
            seen.header("authorization")?.hasPrefix("ACS3-HMAC-SHA256 Credential=LTAI5tTestKey,SignedHeaders=host;")
                == true)
    }

    // MARK: Classification (§3 table), whatever the HTTP status

    @Test(arguments: [200, 400])
    func okAccepts(status: Int) {
        #expect(
            adapter().classify(httpResponse(status, #"{"Code":"OK","Message":"OK","BizId":"900619746936498440^0"}"#))
                == .accepted(providerID: "900619746936498440^0"))
    }

    @Test func businessLimitDefersToUTC8Windows() {
        let code = ReasonCode("aliyun", "isv.BUSINESS_LIMIT_CONTROL")
        // Beijing 2023-11-15 06:13:20: next minute 06:14:00, next hour 07:00:00, day +24 h.
        #expect(
            answer("isv.BUSINESS_LIMIT_CONTROL", message: "触发分钟级流控Permits:1")
                == .deferred(until: Date(timeIntervalSince1970: 1_700_000_040), reason: code))
        #expect(
            answer("isv.BUSINESS_LIMIT_CONTROL", message: "触发小时级流控Permits:5")
                == .deferred(until: Date(timeIntervalSince1970: 1_700_002_800), reason: code))
        #expect(
            answer("isv.BUSINESS_LIMIT_CONTROL", message: "触发天级流控Permits:10")
                == .deferred(until: Date(timeIntervalSince1970: 1_700_086_400), reason: code))
    }

    @Test func businessLimitBoundariesAreNaturalWindows() {
        let justBeforeHour = Date(timeIntervalSince1970: 1_700_002_799.5)
        #expect(
            AliyunSMSAdapter.businessLimitEnd(message: "触发分钟级流控Permits:1", at: justBeforeHour)
                == Date(timeIntervalSince1970: 1_700_002_800))
        let onMinute = Date(timeIntervalSince1970: 1_700_000_040)
        #expect(
            AliyunSMSAdapter.businessLimitEnd(message: "触发分钟级流控Permits:1", at: onMinute)
                == Date(timeIntervalSince1970: 1_700_000_100))
        #expect(
            AliyunSMSAdapter.businessLimitEnd(message: "触发小时级流控Permits:5", at: justBeforeHour)
                == Date(timeIntervalSince1970: 1_700_002_800))
    }

    @Test func quotaPausesToTheUTC8DayAndMonth() {
        // Next Beijing midnight: 2023-11-16 00:00 +08 = 2023-11-15T16:00Z; next month 2023-12-01 00:00 +08.
        #expect(
            answer("isv.DAY_LIMIT_CONTROL")
                == .pauseGateway(
                    reason: .init("aliyun", "isv.DAY_LIMIT_CONTROL"), kind: .quota,
                    until: Date(timeIntervalSince1970: 1_700_064_000)))
        #expect(
            answer("isv.MONTH_LIMIT_CONTROL")
                == .pauseGateway(
                    reason: .init("aliyun", "isv.MONTH_LIMIT_CONTROL"), kind: .quota,
                    until: Date(timeIntervalSince1970: 1_701_360_000)))
    }

    @Test(arguments: ["isv.AMOUNT_NOT_ENOUGH", "isv.OUT_OF_SERVICE"])
    func billingPauses(code: String) {
        #expect(answer(code) == .pauseGateway(reason: .init("aliyun", code), kind: .billing, until: nil))
    }

    @Test(arguments: [
        ("Throttling", 400), ("Throttling.User", 400), ("Throttling.Api", 400), ("InternalError", 500),
        ("ServiceUnavailable", 503), ("isp.SYSTEM_ERROR", 200),
    ])
    func transientCodesRetry(code: String, status: Int) {
        #expect(answer(code, status: status) == .retry(after: nil, reason: .init("aliyun", code)))
    }

    @Test(arguments: [
        "isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT", "isv.TEMPLATE_MISSING_PARAMETERS",
        "isv.TEMPLATE_PARAMS_ILLEGAL", "isv.INVALID_JSON_PARAM", "isv.PARAM_LENGTH_LIMIT", "isv.PARAM_NOT_SUPPORT_URL",
        "isv.BLACK_KEY_CONTROL_LIMIT", "isv.SMS_CONTENT_ILLEGAL", "isv.INVALID_PARAMETERS",
        "isv.DOMESTIC_NUMBER_NOT_SUPPORTED",
    ])
    func permanentCodesFail(code: String) {
        #expect(answer(code) == .failed(reason: .init("aliyun", code), fallback: false))
    }

    @Test(arguments: [
        ("isv.SMS_TEMPLATE_ILLEGAL", 200), ("isv.SMS_SIGNATURE_ILLEGAL", 200), ("isv.SMS_SIGNATURE_SCENE_ILLEGAL", 200),
        ("isv.SIGN_STATE_ILLEGAL", 200), ("isv.SMS_SIGN_ILLEGAL", 200), ("isv.EXTEND_CODE_ERROR", 200),
        ("isp.RAM_PERMISSION_DENY", 200), ("isv.PRODUCT_UN_SUBSCRIPT", 200), ("isv.PRODUCT_UNSUBSCRIBE", 200),
        ("isv.ACCOUNT_NOT_EXISTS", 200), ("isv.ACCOUNT_ABNORMAL", 200), ("isv.DENY_IP_RANGE", 200),
        ("SignatureDoesNotMatch", 403), ("SignatureDoesNotMatch", 400), ("InvalidAccessKeyId.NotFound", 404),
    ])
    func configurationCodesPause(code: String, status: Int) {
        #expect(
            answer(code, status: status)
                == .pauseGateway(reason: .init("aliyun", code), kind: .configuration, until: nil))
    }

    @Test func unknownCodeRetriesWithItsRawName() {
        #expect(answer("isv.SOMETHING_NEW") == .retry(after: nil, reason: .init("aliyun", "isv.SOMETHING_NEW")))
        #expect(
            answer("InvalidTimeStamp.Expired", status: 400)
                == .retry(after: nil, reason: .init("aliyun", "InvalidTimeStamp.Expired")))
    }

    @Test func bodiesWithoutCodeAreClassifiedByStatus() {
        #expect(
            adapter().classify(httpResponse(502, "<html>Bad Gateway</html>"))
                == .retry(after: nil, reason: .init("http", "502")))
        #expect(adapter().classify(httpResponse(200, "")) == .ambiguous(reason: .init("aliyun", "unreadable_response")))
        #expect(
            adapter().classify(httpResponse(404, "not found"))
                == .pauseGateway(reason: .init("http", "404"), kind: .configuration, until: nil))
    }
}
