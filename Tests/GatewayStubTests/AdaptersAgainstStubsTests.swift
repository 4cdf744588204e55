import Delivery
import Foundation
import GatewayStub
import Testing

// The real adapters against the real stub gateways over loopback HTTP through CurlTransport:
// every error class of Delivery/Gateways.md §2 is produced by a stub and classified by an adapter.

private let aliyunCredentials = Credentials(id: "testId", secret: "testSecret")
private let tencentCredentials = Credentials(id: "AKIDstubSecretId", secret: "stubSecretKey")
private let wechatCredentials = Credentials(id: "wxstubappid", secret: "stubappsecret")

private func aliyunAdapter(
    _ base: String, now: Date, credentials: Credentials = aliyunCredentials,
    version: AliyunSMSAdapter.SignatureVersion = .v2,
    timeout: Duration = .seconds(5)
) -> AliyunSMSAdapter {
    AliyunSMSAdapter(
        configuration: .init(baseURL: base, signatureVersion: version, timeout: timeout, connectTimeout: .seconds(1)),
        credentials: credentials, clock: { now })
}

private func aliyunMessage(_ id: String, to recipient: String = "13800138000") -> OutboundMessage {
    OutboundMessage(
        id: id, recipient: recipient, templateID: "SMS_15305001", signName: "税务局",
        params: [.init(key: "policy", value: "小微企业减免")])
}

private func tencentAdapter(
    _ base: String, now: Date, credentials: Credentials = tencentCredentials, appID: String = "1400006666",
    timeout: Duration = .seconds(5)
) -> TencentSMSAdapter {
    TencentSMSAdapter(
        configuration: .init(baseURL: base, smsSdkAppID: appID, timeout: timeout, connectTimeout: .seconds(1)),
        credentials: credentials, clock: { now })
}

private func tencentMessage(
    _ id: String, to recipient: String = "13800138000", param: String = "减免"
)
    -> OutboundMessage
{
    OutboundMessage(
        id: id, recipient: recipient, templateID: "1234567", signName: "税务局", params: [.init(key: "1", value: param)])
}

private func wechatAdapter(
    _ rig: CurlStubRig, now: Date, credentials: Credentials = wechatCredentials,
    scheme: WeChatTokenCache.Scheme = .stable, timeout: Duration = .seconds(5)
) -> WeChatTemplateAdapter {
    let tokens = WeChatTokenCache(
        configuration: .init(baseURL: rig.base, scheme: scheme, connectTimeout: .seconds(1)),
        credentials: credentials, client: rig.transport)
    return WeChatTemplateAdapter(
        configuration: .init(baseURL: rig.base, timeout: timeout, connectTimeout: .seconds(1)), tokens: tokens,
        clock: { now })
}

private func wechatMessage(_ id: String, to openID: String = "oStubOpenID0001") -> OutboundMessage {
    OutboundMessage(
        id: id, recipient: openID, templateID: "tmpl-policy", params: [.init(key: "keyword1", value: "减免")],
        url: "https://example.gov.cn/p/1")
}

private func genericAdapter(
    _ base: String, now: Date, bearer: String? = nil, timeout: Duration = .seconds(5)
) -> GenericJSONAdapter {
    GenericJSONAdapter(
        configuration: .init(url: base + "/sms/send", timeout: timeout, connectTimeout: .seconds(1)),
        credentials: bearer.map { Credentials(id: "", secret: $0) }, clock: { now })
}

private func genericMessage(_ id: String) -> OutboundMessage {
    OutboundMessage(id: id, recipient: "13800138000", text: "【税务局】您可享受小微企业减免")
}

/// The stub saw exactly one send and refused it for `reason`.
private func expectRefusedOnce(_ stub: StubGateway, _ reason: String, sourceLocation: SourceLocation = #_sourceLocation)
{
    let stats = stub.stats
    #expect(stats.received == 1, sourceLocation: sourceLocation)
    #expect(stats.accepted == 0, sourceLocation: sourceLocation)
    #expect(stats.rejected[reason] == 1, sourceLocation: sourceLocation)
}

/// The stub accepted exactly `ids`, each once.
private func expectAcceptedOnce(
    _ stub: StubGateway, _ ids: [String], sourceLocation: SourceLocation = #_sourceLocation
) {
    let stats = stub.stats
    #expect(stats.accepted == ids.count, sourceLocation: sourceLocation)
    #expect(stats.acceptedIds == ids, sourceLocation: sourceLocation)
    #expect(stats.duplicateSends == [], sourceLocation: sourceLocation)
}

// MARK: - Aliyun

@Suite("AdaptersAgainstStubs: Aliyun")
struct AdaptersAgainstStubsAliyunTests {
    @Test(
        "success is accepted with the stub's BizId, counted once",
        arguments: [AliyunSMSAdapter.SignatureVersion.v2, .v3])
    func success(version: AliyunSMSAdapter.SignatureVersion) async throws {
        try await withCurlStub(StubConfiguration(kind: .aliyun)) { rig in
            let outcome = await aliyunAdapter(rig.base, now: Date(), version: version)
                .send(aliyunMessage("ali-ok-1"), using: rig.transport)
            #expect(outcome == .accepted(providerID: "900619746936498441^0"))
            expectAcceptedOnce(rig.stub, ["ali-ok-1"])
            #expect(rig.stub.stats.received == 1)
        }
    }

    @Test(
        "transient codes retry without a date",
        arguments: [
            "isp.SYSTEM_ERROR", "isv.SYSTEM_ERROR", "Throttling", "Throttling.Api", "InternalError",
            "ServiceUnavailable",
        ]
    )
    func retry(code: String) async throws {
        try await withCurlStub(stubAlways(.aliyun, code)) { rig in
            let outcome = await aliyunAdapter(rig.base, now: Date()).send(aliyunMessage("ali-r"), using: rig.transport)
            #expect(outcome == .retry(after: nil, reason: ReasonCode("aliyun", code)))
            expectRefusedOnce(rig.stub, code)
        }
    }

    @Test("a bare 503 retries as ServiceUnavailable; a 429 honours Retry-After")
    func httpRetries() async throws {
        let now = Date()
        try await withCurlStub(stubAlways(.aliyun, "http:503")) { rig in
            let outcome = await aliyunAdapter(rig.base, now: now).send(aliyunMessage("ali-503"), using: rig.transport)
            #expect(outcome == .retry(after: nil, reason: ReasonCode("aliyun", "ServiceUnavailable")))
        }
        let limited = StubConfiguration(
            kind: .aliyun, faults: StubFaults(rateLimitRate: 1, retryAfter: .seconds(7)))
        try await withCurlStub(limited) { rig in
            let outcome = await aliyunAdapter(rig.base, now: now).send(aliyunMessage("ali-429"), using: rig.transport)
            #expect(
                outcome == .retry(after: now.addingTimeInterval(7), reason: ReasonCode("aliyun", "Throttling.User")))
            expectRefusedOnce(rig.stub, "429")
        }
    }

    @Test(
        "BUSINESS_LIMIT_CONTROL defers to the next UTC+8 minute, hour, or 24 h",
        arguments: ["触发分钟级流控Permits:1", "触发小时级流控Permits:5", "触发天级流控Permits:10"]
    )
    func businessLimit(message: String) async throws {
        let now = Date()
        let until =
            message.contains("分钟")
            ? nextChinaBoundary(after: now, unit: 60)
            : message.contains("小时") ? nextChinaBoundary(after: now, unit: 3600) : now.addingTimeInterval(86_400)
        try await withCurlStub(stubAlways(.aliyun, "isv.BUSINESS_LIMIT_CONTROL|" + message)) { rig in
            let outcome = await aliyunAdapter(rig.base, now: now).send(aliyunMessage("ali-d"), using: rig.transport)
            #expect(outcome == .deferred(until: until, reason: ReasonCode("aliyun", "isv.BUSINESS_LIMIT_CONTROL")))
            expectRefusedOnce(rig.stub, "isv.BUSINESS_LIMIT_CONTROL")
        }
    }

    @Test("the stub's real daily limit per number defers the next send by 24 h")
    func realDailyLimit() async throws {
        let now = Date()
        let configuration = StubConfiguration(kind: .aliyun, limits: StubLimits(aliyunDailyPerNumber: 1))
        try await withCurlStub(configuration) { rig in
            let adapter = aliyunAdapter(rig.base, now: now)
            #expect(
                await adapter.send(aliyunMessage("ali-day-1"), using: rig.transport)
                    == .accepted(providerID: "900619746936498441^0"))
            let second = await adapter.send(aliyunMessage("ali-day-2"), using: rig.transport)
            #expect(
                second
                    == .deferred(
                        until: now.addingTimeInterval(86_400),
                        reason: ReasonCode("aliyun", "isv.BUSINESS_LIMIT_CONTROL")))
            expectAcceptedOnce(rig.stub, ["ali-day-1"])
        }
    }

    @Test(
        "quota, billing and configuration codes pause the gateway",
        arguments: [
            "isv.DAY_LIMIT_CONTROL", "isv.MONTH_LIMIT_CONTROL", "isv.AMOUNT_NOT_ENOUGH", "isv.OUT_OF_SERVICE",
            "isv.SMS_TEMPLATE_ILLEGAL", "isv.SMS_SIGNATURE_ILLEGAL", "isp.RAM_PERMISSION_DENY",
        ]
    )
    func pauses(code: String) async throws {
        let now = Date()
        let reason = ReasonCode("aliyun", code)
        let expected: DeliveryOutcome =
            switch code {
            case "isv.DAY_LIMIT_CONTROL":
                .pauseGateway(reason: reason, kind: .quota, until: nextChinaBoundary(after: now, unit: 86_400))
            case "isv.MONTH_LIMIT_CONTROL":
                .pauseGateway(reason: reason, kind: .quota, until: nextChinaMonth(after: now))
            case "isv.AMOUNT_NOT_ENOUGH", "isv.OUT_OF_SERVICE":
                .pauseGateway(reason: reason, kind: .billing, until: nil)
            default: .pauseGateway(reason: reason, kind: .configuration, until: nil)
            }
        try await withCurlStub(stubAlways(.aliyun, code)) { rig in
            let outcome = await aliyunAdapter(rig.base, now: now).send(aliyunMessage("ali-p"), using: rig.transport)
            #expect(outcome == expected)
            expectRefusedOnce(rig.stub, code)
        }
    }

    @Test("a wrong secret is refused by the stub's signature check and pauses for configuration")
    func wrongSecret() async throws {
        try await withCurlStub(StubConfiguration(kind: .aliyun)) { rig in
            for version in [AliyunSMSAdapter.SignatureVersion.v2, .v3] {
                let adapter = aliyunAdapter(
                    rig.base, now: Date(), credentials: Credentials(id: "testId", secret: "wrongSecret"),
                    version: version)
                let outcome = await adapter.send(aliyunMessage("ali-sig-\(version)"), using: rig.transport)
                #expect(
                    outcome
                        == .pauseGateway(
                            reason: ReasonCode("aliyun", "SignatureDoesNotMatch"), kind: .configuration, until: nil))
            }
            let unknownKey = aliyunAdapter(
                rig.base, now: Date(), credentials: Credentials(id: "LTAIunknown", secret: "x"))
            #expect(
                await unknownKey.send(aliyunMessage("ali-key"), using: rig.transport)
                    == .pauseGateway(
                        reason: ReasonCode("aliyun", "InvalidAccessKeyId.NotFound"), kind: .configuration, until: nil))
            let stats = rig.stub.stats
            #expect(stats.received == 3)
            #expect(stats.accepted == 0)
            #expect(stats.rejected["SignatureDoesNotMatch"] == 2)
            #expect(stats.rejected["InvalidAccessKeyId.NotFound"] == 1)
        }
    }

    @Test("an illegal number is refused by the stub's own check and fails the message")
    func illegalNumber() async throws {
        try await withCurlStub(StubConfiguration(kind: .aliyun)) { rig in
            let outcome = await aliyunAdapter(rig.base, now: Date())
                .send(aliyunMessage("ali-bad", to: "2380013800"), using: rig.transport)
            #expect(outcome == .failed(reason: ReasonCode("aliyun", "isv.MOBILE_NUMBER_ILLEGAL"), fallback: false))
            expectRefusedOnce(rig.stub, "isv.MOBILE_NUMBER_ILLEGAL")
        }
    }

    @Test(
        "permanent codes fail the message",
        arguments: ["isv.BLACK_KEY_CONTROL_LIMIT", "isv.TEMPLATE_MISSING_PARAMETERS"])
    func permanent(code: String) async throws {
        try await withCurlStub(stubAlways(.aliyun, code)) { rig in
            let outcome = await aliyunAdapter(rig.base, now: Date()).send(aliyunMessage("ali-f"), using: rig.transport)
            #expect(outcome == .failed(reason: ReasonCode("aliyun", code), fallback: false))
            expectRefusedOnce(rig.stub, code)
        }
    }

    @Test("no answer in time after the send is ambiguous, and the stub did take the message")
    func timeout() async throws {
        let configuration = StubConfiguration(
            kind: .aliyun, faults: StubFaults(timeoutRate: 1, timeoutDelay: .seconds(5)))
        try await withCurlStub(configuration) { rig in
            let outcome = await aliyunAdapter(rig.base, now: Date(), timeout: .milliseconds(400))
                .send(aliyunMessage("ali-late"), using: rig.transport)
            #expect(outcome == .ambiguous(reason: ReasonCode("transport", "timeout_after_send")))
            expectAcceptedOnce(rig.stub, ["ali-late"])
        }
    }

    @Test("a reset after the request went out is ambiguous; a refused connection retries")
    func resetAndConnect() async throws {
        let configuration = StubConfiguration(kind: .aliyun, faults: StubFaults(resetRate: 1))
        let closedBase = try await withCurlStub(configuration) { rig in
            let outcome = await aliyunAdapter(rig.base, now: Date()).send(
                aliyunMessage("ali-reset"), using: rig.transport)
            #expect(outcome == .ambiguous(reason: ReasonCode("transport", "reset")))
            expectRefusedOnce(rig.stub, "reset")
            return rig.base
        }
        // The stub is stopped: nothing listens on its port any more.
        let transport = CurlTransport(configuration: .init())
        let outcome = await aliyunAdapter(closedBase, now: Date()).send(aliyunMessage("ali-conn"), using: transport)
        await transport.shutdown()
        #expect(outcome == .retry(after: nil, reason: ReasonCode("transport", "connect")))
    }
}

// MARK: - Tencent

@Suite("AdaptersAgainstStubs: Tencent")
struct AdaptersAgainstStubsTencentTests {
    @Test("success is accepted with the stub's SerialNo, counted once")
    func success() async throws {
        try await withCurlStub(StubConfiguration(kind: .tencent)) { rig in
            let outcome = await tencentAdapter(rig.base, now: Date()).send(
                tencentMessage("tc-ok-1"), using: rig.transport)
            #expect(outcome == .accepted(providerID: "5000:1045710669157053658"))
            expectAcceptedOnce(rig.stub, ["tc-ok-1"])
            #expect(rig.stub.stats.received == 1)
        }
    }

    @Test(
        "transient codes retry",
        arguments: [
            "InternalError", "InternalError.Timeout", "RequestLimitExceeded", "RequestLimitExceeded.IPLimitExceeded",
        ])
    func retry(code: String) async throws {
        try await withCurlStub(stubAlways(.tencent, code)) { rig in
            let outcome = await tencentAdapter(rig.base, now: Date()).send(tencentMessage("tc-r"), using: rig.transport)
            #expect(outcome == .retry(after: nil, reason: ReasonCode("tencent", code)))
            expectRefusedOnce(rig.stub, code)
        }
    }

    @Test("a 502 with an error body and the rate limit (RequestLimitExceeded in HTTP 200) both retry")
    func httpRetries() async throws {
        let now = Date()
        try await withCurlStub(stubAlways(.tencent, "http:502")) { rig in
            let outcome = await tencentAdapter(rig.base, now: now).send(tencentMessage("tc-502"), using: rig.transport)
            #expect(outcome == .retry(after: nil, reason: ReasonCode("tencent", "InternalError")))
        }
        let limited = StubConfiguration(kind: .tencent, faults: StubFaults(rateLimitRate: 1, retryAfter: .seconds(3)))
        try await withCurlStub(limited) { rig in
            let outcome = await tencentAdapter(rig.base, now: now).send(tencentMessage("tc-429"), using: rig.transport)
            #expect(outcome == .retry(after: nil, reason: ReasonCode("tencent", "RequestLimitExceeded")))
            expectRefusedOnce(rig.stub, "RequestLimitExceeded")
        }
    }

    @Test("the same content twice within 30 s is deferred by the stub's real rule")
    func thirtySecondRule() async throws {
        let now = Date()
        try await withCurlStub(StubConfiguration(kind: .tencent)) { rig in
            let adapter = tencentAdapter(rig.base, now: now)
            #expect(
                await adapter.send(tencentMessage("tc-30-a"), using: rig.transport)
                    == .accepted(providerID: "5000:1045710669157053658"))
            let second = await adapter.send(tencentMessage("tc-30-b"), using: rig.transport)
            #expect(
                second
                    == .deferred(
                        until: now.addingTimeInterval(30),
                        reason: ReasonCode("tencent", "LimitExceeded.PhoneNumberThirtySecondLimit")))
            // Other content to the same number is not held back.
            #expect(
                await adapter.send(tencentMessage("tc-30-c", param: "其他"), using: rig.transport)
                    == .accepted(providerID: "5000:1045710669157053659"))
            expectAcceptedOnce(rig.stub, ["tc-30-a", "tc-30-c"])
            #expect(rig.stub.stats.rejected["LimitExceeded.PhoneNumberThirtySecondLimit"] == 1)
        }
    }

    @Test("the stub's real daily limit per number defers to the next UTC+8 day")
    func dailyLimit() async throws {
        let now = Date()
        let configuration = StubConfiguration(kind: .tencent, limits: StubLimits(tencentDailyPerNumber: 1))
        try await withCurlStub(configuration) { rig in
            let adapter = tencentAdapter(rig.base, now: now)
            _ = await adapter.send(tencentMessage("tc-day-a"), using: rig.transport)
            let second = await adapter.send(tencentMessage("tc-day-b", param: "另一条"), using: rig.transport)
            #expect(
                second
                    == .deferred(
                        until: nextChinaBoundary(after: now, unit: 86_400),
                        reason: ReasonCode("tencent", "LimitExceeded.PhoneNumberDailyLimit")))
        }
    }

    @Test("a scripted one-hour limit defers to the next UTC+8 hour")
    func oneHourLimit() async throws {
        let now = Date()
        try await withCurlStub(stubAlways(.tencent, "LimitExceeded.PhoneNumberOneHourLimit")) { rig in
            let outcome = await tencentAdapter(rig.base, now: now).send(tencentMessage("tc-h"), using: rig.transport)
            #expect(
                outcome
                    == .deferred(
                        until: nextChinaBoundary(after: now, unit: 3600),
                        reason: ReasonCode("tencent", "LimitExceeded.PhoneNumberOneHourLimit")))
        }
    }

    @Test(
        "quota, billing and configuration codes pause the gateway",
        arguments: [
            "LimitExceeded.AppDailyLimit", "FailedOperation.InsufficientBalanceInSmsPackage",
            "UnauthorizedOperation.SerivceSuspendDueToArrears", "FailedOperation.TemplateIncorrectOrUnapproved",
        ])
    func pauses(code: String) async throws {
        let now = Date()
        let reason = ReasonCode("tencent", code)
        let expected: DeliveryOutcome =
            switch code {
            case "LimitExceeded.AppDailyLimit":
                .pauseGateway(reason: reason, kind: .quota, until: nextChinaBoundary(after: now, unit: 86_400))
            case "FailedOperation.TemplateIncorrectOrUnapproved":
                .pauseGateway(reason: reason, kind: .configuration, until: nil)
            default: .pauseGateway(reason: reason, kind: .billing, until: nil)
            }
        try await withCurlStub(stubAlways(.tencent, code)) { rig in
            let outcome = await tencentAdapter(rig.base, now: now).send(tencentMessage("tc-p"), using: rig.transport)
            #expect(outcome == expected)
            expectRefusedOnce(rig.stub, code)
        }
    }

    @Test("a wrong key, an unknown SecretId or an unknown SmsSdkAppId pause for configuration")
    func credentials() async throws {
        try await withCurlStub(StubConfiguration(kind: .tencent)) { rig in
            let wrongKey = tencentAdapter(
                rig.base, now: Date(), credentials: Credentials(id: "AKIDstubSecretId", secret: "wrongKey"))
            #expect(
                await wrongKey.send(tencentMessage("tc-k"), using: rig.transport)
                    == .pauseGateway(
                        reason: ReasonCode("tencent", "AuthFailure.SignatureFailure"), kind: .configuration, until: nil)
            )
            let wrongID = tencentAdapter(rig.base, now: Date(), credentials: Credentials(id: "AKIDother", secret: "x"))
            #expect(
                await wrongID.send(tencentMessage("tc-i"), using: rig.transport)
                    == .pauseGateway(
                        reason: ReasonCode("tencent", "AuthFailure.SecretIdNotFound"), kind: .configuration, until: nil)
            )
            let wrongApp = tencentAdapter(rig.base, now: Date(), appID: "1400000000")
            #expect(
                await wrongApp.send(tencentMessage("tc-a"), using: rig.transport)
                    == .pauseGateway(
                        reason: ReasonCode("tencent", "InvalidParameterValue.SdkAppIdNotExist"), kind: .configuration,
                        until: nil))
            #expect(rig.stub.stats.accepted == 0)
            #expect(rig.stub.stats.received == 3)
        }
    }

    @Test("a skewed clock is re-signed once, then pauses for configuration")
    func clockSkew() async throws {
        try await withCurlStub(StubConfiguration(kind: .tencent)) { rig in
            let skewed = tencentAdapter(rig.base, now: Date().addingTimeInterval(-600))
            #expect(
                await skewed.send(tencentMessage("tc-skew"), using: rig.transport)
                    == .pauseGateway(
                        reason: ReasonCode("tencent", "AuthFailure.SignatureExpire"), kind: .configuration, until: nil))
            #expect(rig.stub.stats.received == 2)
            #expect(rig.stub.stats.rejected["AuthFailure.SignatureExpire"] == 2)
        }
    }

    @Test("an incorrect number is refused by the stub's own check and fails the message")
    func incorrectNumber() async throws {
        try await withCurlStub(StubConfiguration(kind: .tencent)) { rig in
            let outcome = await tencentAdapter(rig.base, now: Date())
                .send(tencentMessage("tc-bad", to: "12345"), using: rig.transport)
            #expect(
                outcome
                    == .failed(
                        reason: ReasonCode("tencent", "InvalidParameterValue.IncorrectPhoneNumber"), fallback: false))
            expectRefusedOnce(rig.stub, "InvalidParameterValue.IncorrectPhoneNumber")
        }
        try await withCurlStub(stubAlways(.tencent, "FailedOperation.PhoneNumberInBlacklist")) { rig in
            let outcome = await tencentAdapter(rig.base, now: Date()).send(
                tencentMessage("tc-bl"), using: rig.transport)
            #expect(
                outcome
                    == .failed(reason: ReasonCode("tencent", "FailedOperation.PhoneNumberInBlacklist"), fallback: false)
            )
        }
    }

    @Test("a late answer is ambiguous; a reset after the send is ambiguous")
    func ambiguous() async throws {
        let late = StubConfiguration(kind: .tencent, faults: StubFaults(timeoutRate: 1, timeoutDelay: .seconds(5)))
        try await withCurlStub(late) { rig in
            let outcome = await tencentAdapter(rig.base, now: Date(), timeout: .milliseconds(400))
                .send(tencentMessage("tc-late"), using: rig.transport)
            #expect(outcome == .ambiguous(reason: ReasonCode("transport", "timeout_after_send")))
            expectAcceptedOnce(rig.stub, ["tc-late"])
        }
        try await withCurlStub(StubConfiguration(kind: .tencent, faults: StubFaults(resetRate: 1))) { rig in
            let outcome = await tencentAdapter(rig.base, now: Date()).send(
                tencentMessage("tc-reset"), using: rig.transport)
            #expect(outcome == .ambiguous(reason: ReasonCode("transport", "reset")))
            expectRefusedOnce(rig.stub, "reset")
        }
    }
}

// MARK: - WeChat

@Suite("AdaptersAgainstStubs: WeChat")
struct AdaptersAgainstStubsWeChatTests {
    @Test(
        "success is accepted with the stub's msgid, counted once",
        arguments: [WeChatTokenCache.Scheme.stable, .classic])
    func success(scheme: WeChatTokenCache.Scheme) async throws {
        try await withCurlStub(StubConfiguration(kind: .wechat)) { rig in
            let adapter = wechatAdapter(rig, now: Date(), scheme: scheme)
            let outcome = await adapter.send(wechatMessage("wx-ok-1"), using: rig.transport)
            #expect(outcome == .accepted(providerID: "3147483649"))
            expectAcceptedOnce(rig.stub, ["wx-ok-1"])
            #expect(await adapter.tokens.refreshCount == 1)
        }
    }

    @Test("busy codes retry", arguments: ["-1", "45011"])
    func retry(code: String) async throws {
        try await withCurlStub(stubAlways(.wechat, code)) { rig in
            let outcome = await wechatAdapter(rig, now: Date()).send(wechatMessage("wx-r"), using: rig.transport)
            #expect(outcome == .retry(after: nil, reason: ReasonCode("wechat", code)))
            expectRefusedOnce(rig.stub, code)
        }
    }

    @Test("the rate limit is 45011 in HTTP 200 and retries")
    func rateLimited() async throws {
        let now = Date()
        let limited = StubConfiguration(kind: .wechat, faults: StubFaults(rateLimitRate: 1, retryAfter: .seconds(2)))
        try await withCurlStub(limited) { rig in
            let outcome = await wechatAdapter(rig, now: now).send(wechatMessage("wx-429"), using: rig.transport)
            #expect(outcome == .retry(after: nil, reason: ReasonCode("wechat", "45011")))
            expectRefusedOnce(rig.stub, "45011")
        }
    }

    @Test(
        "45009 pauses to the next UTC+8 day; template and IP codes pause for configuration",
        arguments: ["45009", "40037", "40164"])
    func pauses(code: String) async throws {
        let now = Date()
        let reason = ReasonCode("wechat", code)
        let expected: DeliveryOutcome =
            code == "45009"
            ? .pauseGateway(reason: reason, kind: .quota, until: nextChinaBoundary(after: now, unit: 86_400))
            : .pauseGateway(reason: reason, kind: .configuration, until: nil)
        try await withCurlStub(stubAlways(.wechat, code)) { rig in
            let outcome = await wechatAdapter(rig, now: now).send(wechatMessage("wx-p"), using: rig.transport)
            #expect(outcome == expected)
            expectRefusedOnce(rig.stub, code)
        }
    }

    @Test("a wrong AppSecret stops at the token and pauses for credentials")
    func wrongSecret() async throws {
        try await withCurlStub(StubConfiguration(kind: .wechat)) { rig in
            let adapter = wechatAdapter(rig, now: Date(), credentials: Credentials(id: "wxstubappid", secret: "nope"))
            #expect(
                await adapter.send(wechatMessage("wx-cred"), using: rig.transport)
                    == .pauseGateway(reason: ReasonCode("wechat", "40125"), kind: .credentials, until: nil))
            #expect(rig.stub.stats.received == 0)
        }
    }

    @Test("a token refused twice is refreshed once, then pauses for credentials")
    func tokenRefusedTwice() async throws {
        try await withCurlStub(stubAlways(.wechat, "40001")) { rig in
            let adapter = wechatAdapter(rig, now: Date())
            #expect(
                await adapter.send(wechatMessage("wx-tok"), using: rig.transport)
                    == .pauseGateway(reason: ReasonCode("wechat", "40001"), kind: .credentials, until: nil))
            #expect(await adapter.tokens.refreshCount == 2)
            #expect(rig.stub.stats.received == 2)
        }
    }

    @Test(
        "not following and invalid openid fail with SMS fallback; blacklist and refusal fail",
        arguments: ["43004", "40003", "43019", "48002"])
    func permanent(code: String) async throws {
        try await withCurlStub(stubAlways(.wechat, code)) { rig in
            let outcome = await wechatAdapter(rig, now: Date()).send(wechatMessage("wx-f"), using: rig.transport)
            guard case .failed(let reason, let fallback) = outcome else {
                Issue.record("expected failed, got \(outcome)")
                return
            }
            #expect(reason == ReasonCode("wechat", code))
            switch code {
            case "43004", "40003": #expect(fallback)
            default: #expect(!fallback)  // 43019 (we blacklisted the user), 48002 (refuses): Delivery/Gateways.md §5
            }
            expectRefusedOnce(rig.stub, code)
        }
    }

    @Test("a late answer is ambiguous, and the resend with the same client_msg_id is deduplicated")
    func ambiguousThenDedupe() async throws {
        let late = StubConfiguration(kind: .wechat, faults: StubFaults(timeoutRate: 1, timeoutDelay: .seconds(5)))
        try await withCurlStub(late) { rig in
            let slow = wechatAdapter(rig, now: Date(), timeout: .milliseconds(400))
            #expect(
                await slow.send(wechatMessage("wx-late"), using: rig.transport)
                    == .ambiguous(reason: ReasonCode("transport", "timeout_after_send")))
            // WeChat deduplicates: the resend is answered at once with the first msgid (given the
            // usual timeout: 400 ms ran out once on a loaded machine).
            let patient = wechatAdapter(rig, now: Date())
            #expect(
                await patient.send(wechatMessage("wx-late"), using: rig.transport)
                    == .accepted(providerID: "3147483649"))
            expectAcceptedOnce(rig.stub, ["wx-late"])
            #expect(rig.stub.stats.deduplicated == 1)
        }
        try await withCurlStub(StubConfiguration(kind: .wechat, faults: StubFaults(resetRate: 1))) { rig in
            let outcome = await wechatAdapter(rig, now: Date()).send(wechatMessage("wx-reset"), using: rig.transport)
            #expect(outcome == .ambiguous(reason: ReasonCode("transport", "reset")))
        }
    }

    @Test(
        "100 concurrent sends while tokens die after 50 sends: one refresh, all accepted once",
        arguments: [WeChatTokenCache.Scheme.classic, .stable])
    func concurrentTokenExhaustion(scheme: WeChatTokenCache.Scheme) async throws {
        let configuration = StubConfiguration(kind: .wechat, tokens: StubTokenSettings(sendsPerToken: 50))
        try await withCurlStub(configuration) { rig in
            let adapter = wechatAdapter(rig, now: Date(), scheme: scheme)
            let outcomes = await sendConcurrently(adapter, count: 100, client: rig.transport)
            #expect(outcomes.allSatisfy { if case .accepted = $0 { true } else { false } })
            #expect(Set(outcomes).count == 100)
            #expect(await adapter.tokens.refreshCount == 2)
            let stats = rig.stub.stats
            #expect(stats.accepted == 100)
            #expect(stats.duplicateSends == [])
            #expect(stats.deduplicated == 0)
            // Only senders that drew the first token before it died meet 42001; the rest get the second.
            #expect((1...50).contains(stats.rejected["42001"] ?? 0))
        }
    }

    @Test("100 concurrent sends when the cached token has expired at the stub: one refresh, all accepted once")
    func concurrentExpiredFirstToken() async throws {
        let clock = ShiftableStubClock()
        let configuration = StubConfiguration(kind: .wechat, clock: clock)
        try await withCurlStub(configuration) { rig in
            let adapter = wechatAdapter(rig, now: Date())
            _ = try await adapter.tokens.token()
            clock.advance(by: 7201)
            let outcomes = await sendConcurrently(adapter, count: 100, client: rig.transport)
            #expect(outcomes.allSatisfy { if case .accepted = $0 { true } else { false } })
            #expect(await adapter.tokens.refreshCount == 2)
            let stats = rig.stub.stats
            #expect(stats.accepted == 100)
            #expect(stats.duplicateSends == [])
            #expect(Set(stats.acceptedIds ?? []).count == 100)
            #expect((stats.rejected["42001"] ?? 0) >= 1)
        }
    }

    private func sendConcurrently(
        _ adapter: WeChatTemplateAdapter, count: Int, client: CurlTransport
    ) async
        -> [DeliveryOutcome]
    {
        await withTaskGroup(of: DeliveryOutcome.self) { group in
            for index in 0..<count {
                group.addTask {
                    await adapter.send(wechatMessage("wx-c-\(index)", to: "oOpenID\(index)"), using: client)
                }
            }
            var outcomes: [DeliveryOutcome] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
    }
}

// MARK: - Generic

@Suite("AdaptersAgainstStubs: Generic")
struct AdaptersAgainstStubsGenericTests {
    @Test("success is accepted with the stub's id; the same id again replays it, deduplicated once")
    func successAndReplay() async throws {
        try await withCurlStub(StubConfiguration(kind: .generic)) { rig in
            let adapter = genericAdapter(rig.base, now: Date())
            let first = await adapter.send(genericMessage("gen-ok-1"), using: rig.transport)
            guard case .accepted(let id?) = first else {
                Issue.record("expected accepted with an id, got \(first)")
                return
            }
            #expect(id.hasPrefix("g1-"))
            #expect(await adapter.send(genericMessage("gen-ok-1"), using: rig.transport) == .accepted(providerID: id))
            expectAcceptedOnce(rig.stub, ["gen-ok-1"])
            #expect(rig.stub.stats.deduplicated == 1)
            #expect(rig.stub.stats.received == 2)
        }
    }

    @Test("503 retries at Retry-After in seconds")
    func retryAfterSeconds() async throws {
        let now = Date()
        var configuration = stubAlways(.generic, "http:503")
        configuration.faults.retryAfter = .seconds(120)
        try await withCurlStub(configuration) { rig in
            let outcome = await genericAdapter(rig.base, now: now).send(genericMessage("gen-503"), using: rig.transport)
            #expect(outcome == .retry(after: now.addingTimeInterval(120), reason: ReasonCode("http", "503")))
            expectRefusedOnce(rig.stub, "http:503")
        }
    }

    @Test("503 and 429 retry at Retry-After as an HTTP-date")
    func retryAfterDate() async throws {
        let now = Date()
        var unavailable = stubAlways(.generic, "http:503")
        unavailable.faults.retryAfter = .httpDate(secondsFromNow: 300)
        var limited = StubConfiguration(kind: .generic, faults: StubFaults(rateLimitRate: 1))
        limited.faults.retryAfter = .httpDate(secondsFromNow: 300)
        for (configuration, status) in [(unavailable, "503"), (limited, "429")] {
            try await withCurlStub(configuration) { rig in
                let outcome = await genericAdapter(rig.base, now: now).send(
                    genericMessage("gen-d"), using: rig.transport)
                guard case .retry(let after?, let reason) = outcome else {
                    Issue.record("expected retry with a date, got \(outcome)")
                    return
                }
                #expect(reason == ReasonCode("http", status))
                // The stub writes whole seconds of its own clock, a moment after `now` (later when
                // the whole suite loads the machine).
                let offset = after.timeIntervalSince(now)
                #expect(offset > 298 && offset < 330)
            }
        }
    }

    @Test("other transient statuses retry without a date", arguments: ["http:408", "http:500", "http:502", "http:504"])
    func retry(code: String) async throws {
        try await withCurlStub(stubAlways(.generic, code)) { rig in
            let outcome = await genericAdapter(rig.base, now: Date()).send(
                genericMessage("gen-r"), using: rig.transport)
            #expect(outcome == .retry(after: nil, reason: ReasonCode("http", String(code.dropFirst(5)))))
        }
    }

    @Test("422 and 400 fail the message", arguments: ["http:422", "http:400", "http:413"])
    func permanent(code: String) async throws {
        try await withCurlStub(stubAlways(.generic, code)) { rig in
            let outcome = await genericAdapter(rig.base, now: Date()).send(
                genericMessage("gen-f"), using: rig.transport)
            #expect(outcome == .failed(reason: ReasonCode("http", String(code.dropFirst(5))), fallback: false))
            expectRefusedOnce(rig.stub, code)
        }
    }

    @Test("a wrong bearer token pauses for credentials")
    func wrongBearer() async throws {
        let configuration = StubConfiguration(kind: .generic, credentials: StubCredentials(bearerToken: "right"))
        try await withCurlStub(configuration) { rig in
            let wrong = await genericAdapter(rig.base, now: Date(), bearer: "wrong")
                .send(genericMessage("gen-401"), using: rig.transport)
            #expect(wrong == .pauseGateway(reason: ReasonCode("http", "401"), kind: .credentials, until: nil))
            let right = await genericAdapter(rig.base, now: Date(), bearer: "right")
                .send(genericMessage("gen-ok"), using: rig.transport)
            guard case .accepted(.some) = right else {
                Issue.record("expected accepted, got \(right)")
                return
            }
        }
    }

    @Test("a late answer is ambiguous; the resend while it is in flight gets 409 and retries")
    func ambiguousThenInFlight() async throws {
        let late = StubConfiguration(kind: .generic, faults: StubFaults(timeoutRate: 1, timeoutDelay: .seconds(5)))
        try await withCurlStub(late) { rig in
            let adapter = genericAdapter(rig.base, now: Date(), timeout: .milliseconds(400))
            #expect(
                await adapter.send(genericMessage("gen-late"), using: rig.transport)
                    == .ambiguous(reason: ReasonCode("transport", "timeout_after_send")))
            // A generous timeout: the 409 comes at once, but the suite may be loading the machine.
            let patient = genericAdapter(rig.base, now: Date(), timeout: .seconds(4))
            #expect(
                await patient.send(genericMessage("gen-late"), using: rig.transport)
                    == .retry(after: nil, reason: ReasonCode("http", "409")))
            expectAcceptedOnce(rig.stub, ["gen-late"])
        }
        try await withCurlStub(StubConfiguration(kind: .generic, faults: StubFaults(resetRate: 1))) { rig in
            let outcome = await genericAdapter(rig.base, now: Date()).send(
                genericMessage("gen-reset"), using: rig.transport)
            #expect(outcome == .ambiguous(reason: ReasonCode("transport", "reset")))
        }
    }
}

// MARK: - Dispatch

@Suite("AdaptersAgainstStubs: dispatch")
struct AdaptersAgainstStubsDispatchTests {
    private static func dispatcher(
        _ name: String, adapter: any GatewayAdapter, client: any HTTPClient
    )
        -> GatewayDispatcher
    {
        let configuration = GatewayDispatcher.Configuration(
            name: name, rate: 1000, burst: 100,
            breaker: .init(windowSize: 20, minimumCalls: 10, consecutiveFailures: 3, coolDown: .seconds(60)))
        return GatewayDispatcher(
            configuration: configuration, sender: AdapterSender(adapter: adapter, client: client))
    }

    @Test("consecutive 503s open the breaker; later sends are deferred without reaching the stub")
    func breakerOpens() async throws {
        try await withCurlStub(stubAlways(.generic, "http:503")) { rig in
            let dispatcher = Self.dispatcher(
                "generic-a", adapter: genericAdapter(rig.base, now: Date()), client: rig.transport)
            for index in 0..<3 {
                let result = await dispatcher.send(genericMessage("disp-\(index)"))
                #expect(result.attempted)
                guard case .retry(_, let reason) = result.outcome else {
                    Issue.record("expected retry, got \(result.outcome)")
                    continue
                }
                #expect(reason == ReasonCode("http", "503"))
            }
            #expect(rig.stub.stats.received == 3)
            #expect(await dispatcher.state.breaker == .open)
            for index in 3..<6 {
                let result = await dispatcher.send(genericMessage("disp-\(index)"))
                #expect(!result.attempted)
                guard case .deferred(let until, let reason) = result.outcome else {
                    Issue.record("expected deferred, got \(result.outcome)")
                    continue
                }
                #expect(reason == GatewayDispatcher.circuitOpen)
                #expect(until > Date().addingTimeInterval(50))
            }
            #expect(rig.stub.stats.received == 3)
        }
    }

    @Test("a router fails over to the second gateway when the first's breaker is open")
    func routerFailsOver() async throws {
        try await withCurlStub(stubAlways(.generic, "http:503")) { failing in
            try await withCurlStub(StubConfiguration(kind: .generic)) { healthy in
                let first = Self.dispatcher(
                    "generic-a", adapter: genericAdapter(failing.base, now: Date()), client: failing.transport)
                let second = Self.dispatcher(
                    "generic-b", adapter: genericAdapter(healthy.base, now: Date()), client: healthy.transport)
                let router = ChannelRouter(channel: "sms", members: [.init(first), .init(second)])
                var ids: [String] = []
                var index = 0
                // Round robin until the first gateway's breaker opens, then everything to the second.
                while first.availability(at: Date()) == .available {
                    guard case .gateway(let chosen) = router.pick() else {
                        Issue.record("no gateway available")
                        return
                    }
                    let id = "route-\(index)"
                    index += 1
                    _ = await chosen.send(genericMessage(id))
                    if chosen.name == "generic-b" { ids.append(id) }
                    if index > 20 {
                        Issue.record("breaker never opened")
                        return
                    }
                }
                #expect(failing.stub.stats.received == 3)
                for _ in 0..<5 {
                    guard case .gateway(let chosen) = router.pick() else {
                        Issue.record("no gateway available")
                        return
                    }
                    #expect(chosen.name == "generic-b")
                    let id = "route-\(index)"
                    index += 1
                    let result = await chosen.send(genericMessage(id))
                    guard case .accepted = result.outcome else {
                        Issue.record("expected accepted, got \(result.outcome)")
                        continue
                    }
                    ids.append(id)
                }
                #expect(failing.stub.stats.received == 3)
                expectAcceptedOnce(healthy.stub, ids)
                #expect(ids.count >= 5)
            }
        }
    }
}
