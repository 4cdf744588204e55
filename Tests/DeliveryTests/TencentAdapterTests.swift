import Delivery
import Foundation
import HTTPServer
import Synchronization
import Testing

@Suite struct TencentAdapterTests {
    static let credentials = Credentials(id: "AKIDtestSecretId", secret: "testSecretKey")

    func adapter(
        baseURL: String = "https://sms.tencentcloudapi.com", clock: @escaping @Sendable () -> Date = { fixedNow }
    )
        -> TencentSMSAdapter
    {
        TencentSMSAdapter(
            configuration: .init(baseURL: baseURL, smsSdkAppID: "1400006666"), credentials: Self.credentials,
            clock: clock)
    }

    func requestError(_ code: String) -> DeliveryOutcome {
        adapter().classify(
            httpResponse(200, #"{"Response":{"Error":{"Code":"\#(code)","Message":"m"},"RequestId":"r"}}"#))
    }

    func numberStatus(_ code: String) -> DeliveryOutcome {
        adapter().classify(
            httpResponse(
                200,
                #"{"Response":{"SendStatusSet":[{"SerialNo":"","PhoneNumber":"+8613800138000","Fee":0,"#
                    + #""SessionContext":"c1-e42-sms","Code":"\#(code)","Message":"m","IsoCode":"CN"}],"RequestId":"r"}}"#
            ))
    }

    /// Checks a request as the provider would: TC3 over the headers and body actually received.
    static func verify(_ request: HTTPServerRequest) throws -> Bool {
        guard let contentType = request.header("content-type"), let host = request.header("host"),
            let timestamp = request.header("x-tc-timestamp").flatMap({ Int64($0) })
        else { return false }
        let expected = try TencentTC3Signer(secretID: "AKIDtestSecretId", secretKey: "testSecretKey", service: "sms")
            .sign(payload: request.body, host: host, timestamp: timestamp, contentType: contentType)
        return expected.authorization == request.header("authorization")
    }

    // MARK: Request shape

    @Test func requestShape() throws {
        let request = try adapter().request(for: sampleSMS, at: fixedNow)
        #expect(request.method == .post)
        #expect(request.url == "https://sms.tencentcloudapi.com/")
        #expect(request.headers.first(name: "content-type") == "application/json; charset=utf-8")
        #expect(request.headers.first(name: "x-tc-action") == "SendSms")
        #expect(request.headers.first(name: "x-tc-version") == "2021-01-11")
        #expect(request.headers.first(name: "x-tc-region") == "ap-guangzhou")
        #expect(request.headers.first(name: "x-tc-timestamp") == "1700000000")
        #expect(
            String(decoding: request.body, as: UTF8.self)
                == #"{"PhoneNumberSet":["+8613800138000"],"SmsSdkAppId":"1400006666","TemplateId":"SMS_15305001","#
                + #""SignName":"税务局","TemplateParamSet":["示例公司","3"],"SessionContext":"c1-e42-sms"}"#)
        let authorization = try #require(request.headers.first(name: "authorization"))
        #expect(
            authorization.hasPrefix(
                "TC3-HMAC-SHA256 Credential=AKIDtestSecretId/2023-11-14/sms/tc3_request, SignedHeaders=content-type;host, Signature="
            ))
        let signed = try TencentTC3Signer(secretID: "AKIDtestSecretId", secretKey: "testSecretKey").sign(
            payload: request.body, host: "sms.tencentcloudapi.com", timestamp: 1_700_000_000)
        #expect(signed.authorization == authorization)
        #expect(
            signed.canonicalRequest.contains(
                "content-type:application/json; charset=utf-8\nhost:sms.tencentcloudapi.com\n"))
    }

    @Test(arguments: [
        ("13800138000", "+8613800138000"), ("+8613800138000", "+8613800138000"), ("008613800138000", "+8613800138000"),
        ("8613800138000", "+8613800138000"),
    ])
    func phoneNumbersBecomeE164(input: String, expected: String) {
        #expect(TencentSMSAdapter.e164(input) == expected)
    }

    @Test func signedRequestIsAcceptedOverLoopback() async throws {
        let recorder = Recorder()
        let handler: HTTPServer.Handler = { request in
            _ = recorder.record(request)
            guard try Self.verify(request) else {
                return .json(
                    #"{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"x"},"RequestId":"r"}}"#)
            }
            return .json(
                #"{"Response":{"SendStatusSet":[{"SerialNo":"5000:1045710669157053657849499619","#
                    + #""PhoneNumber":"+8613800138000","Fee":1,"SessionContext":"c1-e42-sms","Code":"Ok","#
                    + #""Message":"send success","IsoCode":"CN"}],"RequestId":"r"}}"#)
        }
        let outcome = try await withProvider(handler) { baseURL in
            await adapter(baseURL: baseURL).send(sampleSMS, using: URLSessionClient())
        }
        #expect(outcome == .accepted(providerID: "5000:1045710669157053657849499619"))
        #expect(recorder.requests.first?.header("x-tc-action") == "SendSms")
    }

    @Test func signatureExpireReSignsOnceThenSucceeds() async throws {
        let recorder = Recorder()
        let clock = SteppingClock(start: fixedNow, step: 400)
        let handler: HTTPServer.Handler = { request in
            let count = recorder.record(request)
            guard try Self.verify(request) else {
                return .json(
                    #"{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"x"},"RequestId":"r"}}"#)
            }
            if count == 1 {
                return .json(
                    #"{"Response":{"Error":{"Code":"AuthFailure.SignatureExpire","Message":"x"},"RequestId":"r"}}"#)
            }
            return .json(#"{"Response":{"SendStatusSet":[{"SerialNo":"5000:2","Code":"Ok"}],"RequestId":"r"}}"#)
        }
        let outcome = try await withProvider(handler) { baseURL in
            await adapter(baseURL: baseURL, clock: clock.now).send(sampleSMS, using: URLSessionClient())
        }
        #expect(outcome == .accepted(providerID: "5000:2"))
        let timestamps = recorder.requests.map { $0.header("x-tc-timestamp") }
        #expect(timestamps.count == 2)
        #expect(timestamps[0] != timestamps[1])
    }

    @Test func signatureExpireTwicePausesForConfiguration() async throws {
        let recorder = Recorder()
        let handler: HTTPServer.Handler = { request in
            _ = recorder.record(request)
            return .json(
                #"{"Response":{"Error":{"Code":"AuthFailure.SignatureExpire","Message":"x"},"RequestId":"r"}}"#)
        }
        let outcome = try await withProvider(handler) { baseURL in
            await adapter(baseURL: baseURL).send(sampleSMS, using: URLSessionClient())
        }
        #expect(
            outcome
                == .pauseGateway(
                    reason: .init("tencent", "AuthFailure.SignatureExpire"), kind: .configuration, until: nil))
        #expect(recorder.requests.count == 2)
    }

    // MARK: Classification (§4 table), request-level and per-number codes

    @Test func okAcceptsWithSerialNo() {
        #expect(
            adapter().classify(
                httpResponse(
                    200, #"{"Response":{"SendStatusSet":[{"SerialNo":"5000:1","Code":"Ok"}],"RequestId":"r"}}"#))
                == .accepted(providerID: "5000:1"))
    }

    @Test(arguments: [
        "RequestLimitExceeded", "RequestLimitExceeded.GlobalRegionUinLimitExceeded",
        "RequestLimitExceeded.IPLimitExceeded",
        "InternalError", "InternalError.Timeout", "InternalError.SendAndRecvFail", "InternalError.UnknownError",
        "InternalError.OtherError",
        // Clock codes retry in the pure classification; send() re-signs once, then pauses.
        "AuthFailure.SignatureExpire", "InternalError.RequestTimeException",
    ])
    func transientCodesRetry(code: String) {
        #expect(requestError(code) == .retry(after: nil, reason: .init("tencent", code)))
    }

    @Test func frequencyLimitsDefer() {
        func deferred(_ code: String, _ until: TimeInterval) -> DeliveryOutcome {
            .deferred(until: Date(timeIntervalSince1970: until), reason: .init("tencent", code))
        }
        // Beijing 2023-11-15 06:13:20: +30 s; next hour 07:00; next day 2023-11-16 00:00; marketing 08:00.
        #expect(
            numberStatus("LimitExceeded.PhoneNumberThirtySecondLimit")
                == deferred("LimitExceeded.PhoneNumberThirtySecondLimit", 1_700_000_030))
        #expect(
            numberStatus("LimitExceeded.PhoneNumberOneHourLimit")
                == deferred("LimitExceeded.PhoneNumberOneHourLimit", 1_700_002_800))
        #expect(
            numberStatus("LimitExceeded.DeliveryFrequencyLimit")
                == deferred("LimitExceeded.DeliveryFrequencyLimit", 1_700_002_800))
        #expect(
            numberStatus("LimitExceeded.PhoneNumberDailyLimit")
                == deferred("LimitExceeded.PhoneNumberDailyLimit", 1_700_064_000))
        #expect(
            numberStatus("LimitExceeded.PhoneNumberSameContentDailyLimit")
                == deferred("LimitExceeded.PhoneNumberSameContentDailyLimit", 1_700_064_000))
        #expect(
            requestError("FailedOperation.MarketingSendTimeConstraint")
                == deferred("FailedOperation.MarketingSendTimeConstraint", 1_700_006_400))
    }

    @Test(arguments: [
        "LimitExceeded.AppDailyLimit", "LimitExceeded.DailyLimit", "LimitExceeded.AppMainlandChinaDailyLimit",
        "LimitExceeded.AppGlobalDailyLimit",
    ])
    func quotaPausesToTheNextUTC8Day(code: String) {
        #expect(
            requestError(code)
                == .pauseGateway(
                    reason: .init("tencent", code), kind: .quota, until: Date(timeIntervalSince1970: 1_700_064_000)))
    }

    @Test(arguments: [
        "FailedOperation.InsufficientBalanceInSmsPackage", "UnauthorizedOperation.SerivceSuspendDueToArrears",
    ])
    func billingPauses(code: String) {
        #expect(requestError(code) == .pauseGateway(reason: .init("tencent", code), kind: .billing, until: nil))
    }

    @Test(arguments: [
        "InvalidParameterValue.IncorrectPhoneNumber", "FailedOperation.PhoneNumberInBlacklist",
        "FailedOperation.ContainSensitiveWord", "InvalidParameterValue.ContentLengthLimit",
        "InvalidParameterValue.TemplateParameterFormatError", "InvalidParameterValue.TemplateParameterLengthLimit",
        "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter", "MissingParameter.EmptyPhoneNumberSet",
        "LimitExceeded.PhoneNumberCountLimit", "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber",
    ])
    func permanentCodesFail(code: String) {
        #expect(requestError(code) == .failed(reason: .init("tencent", code), fallback: false))
        #expect(numberStatus(code) == .failed(reason: .init("tencent", code), fallback: false))
    }

    @Test(arguments: [
        "FailedOperation.SignatureIncorrectOrUnapproved", "FailedOperation.TemplateIncorrectOrUnapproved",
        "InvalidParameterValue.SdkAppIdNotExist", "UnauthorizedOperation.SmsSdkAppIdVerifyFail",
        "UnauthorizedOperation.SdkAppIdIsDisabled", "UnauthorizedOperation.RequestIpNotInWhitelist",
        "UnauthorizedOperation.IndividualUserMarketingSmsPermissionDeny", "AuthFailure.SignatureFailure",
        "AuthFailure.SecretIdNotFound",
    ])
    func configurationCodesPause(code: String) {
        #expect(requestError(code) == .pauseGateway(reason: .init("tencent", code), kind: .configuration, until: nil))
    }

    @Test func unknownCodeRetriesAndNon200WithoutBodyIsClassifiedByStatus() {
        #expect(
            requestError("FailedOperation.Brand.New")
                == .retry(after: nil, reason: .init("tencent", "FailedOperation.Brand.New")))
        #expect(adapter().classify(httpResponse(503, "")) == .retry(after: nil, reason: .init("http", "503")))
        // The code is read whatever the status.
        #expect(
            adapter().classify(
                httpResponse(500, #"{"Response":{"Error":{"Code":"AuthFailure.SecretIdNotFound","Message":"m"}}}"#))
                == .pauseGateway(
                    reason: .init("tencent", "AuthFailure.SecretIdNotFound"), kind: .configuration, until: nil))
    }
}

/// A clock that moves `step` seconds each time it is read.
final class SteppingClock: Sendable {
    private let state: Mutex<Date>
    private let step: TimeInterval

    init(start: Date, step: TimeInterval) {
        state = Mutex(start)
        self.step = step
    }

    var now: @Sendable () -> Date {
        { [self] in
            state.withLock { date in
                defer { date = date.addingTimeInterval(step) }
                return date
            }
        }
    }
}
