import Delivery
import Foundation
import GatewayStub
import Testing

@Suite(.timeLimit(.minutes(1))) struct TencentStubTests {
    let client = URLSessionClient()

    static func sms(_ numbers: [String], context: String = "m-1", params: [String] = ["3"]) -> String {
        let set = numbers.map { "\"\($0)\"" }.joined(separator: ",")
        let values = params.map { "\"\($0)\"" }.joined(separator: ",")
        return
            #"{"PhoneNumberSet":[\#(set)],"SmsSdkAppId":"1400006666","TemplateId":"1234567","SignName":"税务局","TemplateParamSet":[\#(values)],"SessionContext":"\#(context)"}"#
    }

    @Test func testSignerMatchesTheOfficialVector() throws {
        let payload = #"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#
        let authorization = try TC3Signer.authorization(
            secretID: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", secretKey: "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
            service: "cvm", host: "cvm.tencentcloudapi.com", contentType: "application/json; charset=utf-8",
            timestamp: 1_551_113_065, payload: Array(payload.utf8))
        #expect(authorization.hasSuffix("Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"))
    }

    @Test func signedSendIsAcceptedPerNumberWithExactContentType() async throws {
        try await withStub(StubConfiguration(kind: .tencent)) { stub, base in
            let response = try await client.send(TC3Signer.request(base: base, body: Self.sms(["+8613800138000"])))
            #expect(response.status == 200)
            #expect(response.headers.first(name: "content-type") == "application/json")
            let set = (jsonObject(response)["Response"] as? [String: Any])?["SendStatusSet"] as? [[String: Any]]
            #expect(set?.count == 1)
            #expect(set?.first?["Code"] as? String == "Ok")
            #expect(set?.first?["SessionContext"] as? String == "m-1")
            #expect((set?.first?["SerialNo"] as? String)?.hasPrefix("5000:") == true)
            #expect(stub.stats.acceptedIds == ["m-1"])
        }
    }

    @Test func badSignatureAndSkewAreErrorsInHTTP200() async throws {
        try await withStub(StubConfiguration(kind: .tencent)) { stub, base in
            let bad = try await client.send(
                TC3Signer.request(base: base, body: Self.sms(["13800138000"]), secretKey: "wrong"))
            #expect(bad.status == 200)
            #expect(bad.headers.first(name: "content-type") == "application/json")
            let error = (jsonObject(bad)["Response"] as? [String: Any])?["Error"] as? [String: Any]
            #expect(error?["Code"] as? String == "AuthFailure.SignatureFailure")

            let stale = try await client.send(
                TC3Signer.request(
                    base: base, body: Self.sms(["13800138000"]), timestamp: Int(Date().timeIntervalSince1970) - 301))
            let staleError = (jsonObject(stale)["Response"] as? [String: Any])?["Error"] as? [String: Any]
            #expect(staleError?["Code"] as? String == "AuthFailure.SignatureExpire")
            #expect(stub.stats.rejected == ["AuthFailure.SignatureFailure": 1, "AuthFailure.SignatureExpire": 1])
        }
    }

    @Test func rateLimitIsAnErrorBodyInHTTP200WithoutRetryAfter() async throws {
        let configuration = StubConfiguration(kind: .tencent, faults: StubFaults(rateLimitRate: 1))
        try await withStub(configuration) { stub, base in
            let response = try await client.send(TC3Signer.request(base: base, body: Self.sms(["13800138000"])))
            #expect(response.status == 200)
            #expect(response.headers.first(name: "content-type") == "application/json")
            #expect(response.headers.first(name: "retry-after") == nil)
            let error = (jsonObject(response)["Response"] as? [String: Any])?["Error"] as? [String: Any]
            #expect(error?["Code"] as? String == "RequestLimitExceeded")
            #expect(stub.stats.rejected == ["RequestLimitExceeded": 1])
            #expect(stub.stats.accepted == 0)
        }
    }

    @Test func thirtySecondRuleGivesMixedResultsAndPullAnswersOnce() async throws {
        var configuration = StubConfiguration(kind: .tencent)
        configuration.receipts.delay = .zero
        try await withStub(configuration) { stub, base in
            _ = try await client.send(TC3Signer.request(base: base, body: Self.sms(["13800138000"], context: "a")))
            let mixed = try await client.send(
                TC3Signer.request(base: base, body: Self.sms(["13800138000", "13900139000"], context: "b")))
            let set = (jsonObject(mixed)["Response"] as? [String: Any])?["SendStatusSet"] as? [[String: Any]] ?? []
            #expect(set.map { $0["Code"] as? String } == ["LimitExceeded.PhoneNumberThirtySecondLimit", "Ok"])
            #expect(stub.stats.accepted == 2)

            let pull = #"{"SmsSdkAppId":"1400006666","Limit":100}"#
            let first = try await client.send(TC3Signer.request(base: base, action: "PullSmsSendStatus", body: pull))
            let statuses =
                (jsonObject(first)["Response"] as? [String: Any])?["PullSmsSendStatusSet"] as? [[String: Any]]
            #expect(statuses?.count == 2)
            #expect(statuses?.first?["ReportStatus"] as? String == "SUCCESS")
            #expect(statuses?.first?["SessionContext"] as? String == "a")
            let again = try await client.send(TC3Signer.request(base: base, action: "PullSmsSendStatus", body: pull))
            let empty = (jsonObject(again)["Response"] as? [String: Any])?["PullSmsSendStatusSet"] as? [[String: Any]]
            #expect(empty?.isEmpty == true)
        }
    }

    static func getSMS(context: String, param: String = "3") -> [(String, String)] {
        [
            ("PhoneNumberSet.0", "+8613800138000"), ("PhoneNumberSet.1", "13900139000"), ("SmsSdkAppId", "1400006666"),
            ("TemplateId", "1234567"), ("SignName", "税务局"), ("TemplateParamSet.0", param),
            ("SessionContext", context),
        ]
    }

    @Test func signedGetSendIsVerifiedOverTheQueryString() async throws {
        try await withStub(StubConfiguration(kind: .tencent)) { stub, base in
            let response = try await client.send(
                TC3Signer.getRequest(base: base, parameters: Self.getSMS(context: "get 1")))
            #expect(response.status == 200)
            #expect(response.headers.first(name: "content-type") == "application/json")
            let set = (jsonObject(response)["Response"] as? [String: Any])?["SendStatusSet"] as? [[String: Any]] ?? []
            #expect(set.map { $0["Code"] as? String } == ["Ok", "Ok"])
            #expect(set.map { $0["PhoneNumber"] as? String } == ["+8613800138000", "+8613900139000"])
            #expect(set.first?["SessionContext"] as? String == "get 1")

            // The same query written with %20 for the space is signed and verified as sent.
            let rfc = try await client.send(
                TC3Signer.getRequest(
                    base: base, parameters: Self.getSMS(context: "get 2", param: "4") + [("ExtendCode", "")],
                    form: false))
            let rfcSet = (jsonObject(rfc)["Response"] as? [String: Any])?["SendStatusSet"] as? [[String: Any]]
            #expect(rfcSet?.count == 2)

            let forged = try await client.send(
                TC3Signer.getRequest(
                    base: base, parameters: Self.getSMS(context: "get 3", param: "5"), secretKey: "wrong"))
            let error = (jsonObject(forged)["Response"] as? [String: Any])?["Error"] as? [String: Any]
            #expect(error?["Code"] as? String == "AuthFailure.SignatureFailure")
            #expect(stub.stats.acceptedIds == ["get 1", "get 2"])
            #expect(stub.stats.rejected == ["AuthFailure.SignatureFailure": 1])
        }
    }

    @Test func signedGetPullsAndOtherMethodsAreRefused() async throws {
        var configuration = StubConfiguration(kind: .tencent)
        configuration.receipts.delay = .zero
        try await withStub(configuration) { _, base in
            _ = try await client.send(TC3Signer.getRequest(base: base, parameters: Self.getSMS(context: "g")))
            let pull = try await client.send(
                TC3Signer.getRequest(
                    base: base, action: "PullSmsSendStatus",
                    parameters: [("Limit", "1"), ("SmsSdkAppId", "1400006666")]))
            let set = (jsonObject(pull)["Response"] as? [String: Any])?["PullSmsSendStatusSet"] as? [[String: Any]]
            #expect(set?.count == 1, "Limit read from the query as a number")
            #expect(set?.first?["SessionContext"] as? String == "g")

            var put = try TC3Signer.request(base: base, body: Self.sms(["13800138000"]))
            put.method = .put
            let refused = try await client.send(put)
            let error = (jsonObject(refused)["Response"] as? [String: Any])?["Error"] as? [String: Any]
            #expect(error?["Code"] as? String == "UnsupportedProtocol")
        }
    }

    @Test func listAndContextLimits() async throws {
        try await withStub(StubConfiguration(kind: .tencent)) { _, base in
            let numbers = (0..<201).map { "+86\(13_000_000_000 + $0)" }
            let tooMany = try await client.send(TC3Signer.request(base: base, body: Self.sms(numbers)))
            let error = (jsonObject(tooMany)["Response"] as? [String: Any])?["Error"] as? [String: Any]
            #expect(error?["Code"] as? String == "LimitExceeded.PhoneNumberCountLimit")
            let long = try await client.send(
                TC3Signer.request(
                    base: base, body: Self.sms(["13800138000"], context: String(repeating: "x", count: 512))))
            let longError = (jsonObject(long)["Response"] as? [String: Any])?["Error"] as? [String: Any]
            #expect(longError?["Code"] as? String == "InvalidParameter")
        }
    }

    @Test(
        "mainland and international numbers in one request are refused as a whole",
        arguments: ["+8613800138000", "8613800138000", "008613800138000", "13800138000"])
    func mixedMainlandAndInternational(mainland: String) async throws {
        try await withStub(StubConfiguration(kind: .tencent)) { stub, base in
            for international in ["+12025550123", "+85291234567"] {
                let response = try await client.send(
                    TC3Signer.request(base: base, body: Self.sms([mainland, international])))
                #expect(response.status == 200)
                let error = (jsonObject(response)["Response"] as? [String: Any])?["Error"] as? [String: Any]
                #expect(error?["Code"] as? String == "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber")
            }
            #expect(stub.stats.accepted == 0)
            #expect(stub.stats.rejected == ["UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber": 2])
            // Mainland numbers in all their spellings together are fine.
            let same = try await client.send(
                TC3Signer.request(base: base, body: Self.sms([mainland, "+8613900139000", "13700137000"])))
            let set = (jsonObject(same)["Response"] as? [String: Any])?["SendStatusSet"] as? [[String: Any]]
            #expect(set?.compactMap { $0["Code"] as? String } == ["Ok", "Ok", "Ok"])
        }
    }

    @Test func dailyCapPerNumberWhenConfigured() async throws {
        let configuration = StubConfiguration(kind: .tencent, limits: StubLimits(tencentDailyPerNumber: 1))
        try await withStub(configuration) { stub, base in
            _ = try await client.send(TC3Signer.request(base: base, body: Self.sms(["13800138000"], params: ["1"])))
            let capped = try await client.send(
                TC3Signer.request(base: base, body: Self.sms(["13800138000"], context: "m-2", params: ["2"])))
            let set = (jsonObject(capped)["Response"] as? [String: Any])?["SendStatusSet"] as? [[String: Any]]
            #expect(set?.first?["Code"] as? String == "LimitExceeded.PhoneNumberDailyLimit")
            #expect(stub.stats.accepted == 1)
        }
    }
}
