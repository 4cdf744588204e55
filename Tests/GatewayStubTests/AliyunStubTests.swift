import Delivery
import Foundation
import GatewayStub
import Testing

@Suite(.timeLimit(.minutes(1))) struct AliyunStubTests {
    let client = URLSessionClient()

    func send(_ base: String, _ params: [String: String], secret: String = "testSecret") async throws -> HTTPResponse {
        try await client.send(HTTPRequest(method: .get, url: base + "/?" + AliyunSigner.query(params, secret: secret)))
    }

    static func sms(_ outID: String, number: String = "13800138000") -> [String: String] {
        [
            "Action": "SendSms", "PhoneNumbers": number, "SignName": "税务局", "TemplateCode": "SMS_15305001",
            "TemplateParam": #"{"name":"企业","count":"3"}"#, "OutId": outID,
        ]
    }

    @Test func testSignerMatchesTheOfficialVector() throws {
        let params = [
            "AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123",
            "PhoneNumbers": "15300000001", "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用",
            "SignatureMethod": "HMAC-SHA1", "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
            "SignatureVersion": "1.0", "TemplateCode": "SMS_71390007", "TemplateParam": #"{"customer":"test"}"#,
            "Timestamp": "2017-07-12T02:42:19Z", "Version": "2017-05-25",
        ]
        #expect(
            try AliyunSigner.signature(method: "GET", params, secret: "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4=")
        #expect(
            try AliyunSigner.signature(method: "POST", params, secret: "testSecret") == "Xvhv7fPXrPkLVSnlt0jIr08o8NQ=")
    }

    @Test func signedGetAndFormPostAreAcceptedAndCounted() async throws {
        try await withStub(StubConfiguration(kind: .aliyun)) { stub, base in
            let response = try await send(base, AliyunSigner.params(Self.sms("m-1")))
            #expect(response.status == 200)
            let body = jsonObject(response)
            #expect(body["Code"] as? String == "OK")
            #expect(body["Message"] as? String == "OK")
            #expect((body["BizId"] as? String)?.hasSuffix("^0") == true)
            #expect((body["RequestId"] as? String)?.count == 36)

            let params = AliyunSigner.params(Self.sms("m-2", number: "+8613900139000"))
            let form = try AliyunSigner.query(params, method: "POST")
            let post = try await client.send(
                HTTPRequest(
                    method: .post, url: base + "/",
                    headers: ["Content-Type": "application/x-www-form-urlencoded"], body: Array(form.utf8)))
            #expect(jsonObject(post)["Code"] as? String == "OK")

            let stats = stub.stats
            #expect(stats.received == 2)
            #expect(stats.accepted == 2)
            #expect(stats.acceptedIds == ["m-1", "m-2"])
            #expect(stats.duplicateSends == [])
        }
    }

    @Test func badSignatureGetsTheCommonErrorShape() async throws {
        try await withStub(StubConfiguration(kind: .aliyun)) { stub, base in
            let response = try await send(base, AliyunSigner.params(Self.sms("m-1")), secret: "wrong")
            #expect(response.status == 400)
            let body = jsonObject(response)
            #expect(Set(body.keys) == ["RequestId", "HostId", "Code", "Message", "Recommend"])
            #expect(body["Code"] as? String == "SignatureDoesNotMatch")
            #expect(
                (body["Message"] as? String)?.hasPrefix(
                    "Specified signature is not matched with our calculation. server string to sign is:GET&%2F&")
                    == true)
            #expect(stub.stats.rejected == ["SignatureDoesNotMatch": 1])
            #expect(stub.stats.accepted == 0)
        }
    }

    @Test func reusedNonceAndStaleTimestampAreRefused() async throws {
        try await withStub(StubConfiguration(kind: .aliyun)) { _, base in
            let first = try await send(base, AliyunSigner.params(Self.sms("a"), nonce: "n-1"))
            #expect(jsonObject(first)["Code"] as? String == "OK")
            let reused = try await send(base, AliyunSigner.params(Self.sms("b"), nonce: "n-1"))
            #expect(reused.status == 400)
            #expect(jsonObject(reused)["Code"] as? String == "SignatureNonceUsed")
            let stale = try await send(base, AliyunSigner.params(Self.sms("c"), timestamp: Date() - 16 * 60))
            #expect(jsonObject(stale)["Code"] as? String == "InvalidTimeStamp.Expired")
        }
    }

    @Test func businessValidationAndDailyLimit() async throws {
        let configuration = StubConfiguration(kind: .aliyun, limits: StubLimits(aliyunDailyPerNumber: 2))
        try await withStub(configuration) { stub, base in
            var params = Self.sms("j")
            params["TemplateParam"] = #"{"count":3}"#
            let json = jsonObject(try await send(base, AliyunSigner.params(params)))
            #expect(json["Code"] as? String == "isv.INVALID_JSON_PARAM")
            #expect(json["Message"] as? String == "JSON参数不合法，只接受字符串值")

            let illegal = jsonObject(try await send(base, AliyunSigner.params(Self.sms("i", number: "1234"))))
            #expect(illegal["Code"] as? String == "isv.MOBILE_NUMBER_ILLEGAL")

            let many = (0..<1001).map { String(13_000_000_000 + $0) }.joined(separator: ",")
            let tooMany = jsonObject(try await send(base, AliyunSigner.params(Self.sms("t", number: many))))
            #expect(tooMany["Code"] as? String == "isv.MOBILE_COUNT_OVER_LIMIT")

            for id in ["d1", "d2"] {
                #expect(jsonObject(try await send(base, AliyunSigner.params(Self.sms(id))))["Code"] as? String == "OK")
            }
            let limited = try await send(base, AliyunSigner.params(Self.sms("d3")))
            #expect(limited.status == 200)
            #expect(jsonObject(limited)["Code"] as? String == "isv.BUSINESS_LIMIT_CONTROL")
            #expect(jsonObject(limited)["Message"] as? String == "触发天级流控Permits:2")
            #expect(stub.stats.rejected["isv.BUSINESS_LIMIT_CONTROL"] == 1)
            #expect(stub.stats.accepted == 2)
        }
    }

    @Test func resendingTheSameOutIdIsReportedAsADuplicateAndQueryable() async throws {
        var configuration = StubConfiguration(kind: .aliyun)
        configuration.receipts.delay = .zero
        try await withStub(configuration) { stub, base in
            let first = jsonObject(try await send(base, AliyunSigner.params(Self.sms("same"))))
            _ = try await send(base, AliyunSigner.params(Self.sms("same")))
            #expect(stub.stats.duplicateSends == ["same"])

            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "Asia/Shanghai")
            formatter.dateFormat = "yyyyMMdd"
            let query = AliyunSigner.params([
                "Action": "QuerySendDetails", "PhoneNumber": "13800138000", "SendDate": formatter.string(from: Date()),
                "BizId": first["BizId"] as? String ?? "", "PageSize": "10", "CurrentPage": "1",
            ])
            let answer = jsonObject(try await send(base, query))
            #expect(answer["Code"] as? String == "OK")
            #expect(answer["TotalCount"] as? Int == 1)
            let dtos = (answer["SmsSendDetailDTOs"] as? [String: Any])?["SmsSendDetailDTO"] as? [[String: Any]]
            #expect(dtos?.first?["SendStatus"] as? Int == 3)
            #expect(dtos?.first?["ErrCode"] as? String == "DELIVERED")
        }
    }

    @Test func v3TestSignerMatchesTheSDKVector() throws {
        let (signedHeaders, signature) = try AliyunV3Signer.sign(
            method: "GET", query: [("test", "ok"), ("empty", "")],
            headers: [("x-acs-test", "http"), ("x-acs-TEST", "https")],
            payloadHash: "55e12e91650d2fec56ec74e1d3e4ddbfce2ef3a65890c2a19ecf88a307e76a23", secret: "secret")
        #expect(signedHeaders == "x-acs-test")
        #expect(signature == "d16b30a7699ae9e43875b13195b2f81bcc3ed10c14a9b5eb780e51619aa50be1")
    }

    @Test func v3SignedRPCIsAcceptedAndAForgedOneRefused() async throws {
        try await withStub(StubConfiguration(kind: .aliyun)) { stub, base in
            func request(secret: String, outID: String) throws -> HTTPRequest {
                let formatter = DateFormatter()
                formatter.locale = Locale(identifier: "en_US_POSIX")
                formatter.timeZone = TimeZone(identifier: "UTC")
                formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss'Z'"
                let query = Self.sms(outID).map { ($0.key, $0.value) }.filter { $0.0 != "Action" }
                let headers = [
                    ("host", String(base.dropFirst("http://".count))), ("x-acs-action", "SendSms"),
                    ("x-acs-version", "2017-05-25"), ("x-acs-date", formatter.string(from: Date())),
                    ("x-acs-signature-nonce", UUID().uuidString),
                    ("x-acs-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
                ]
                let (signed, signature) = try AliyunV3Signer.sign(
                    method: "POST", query: query, headers: headers,
                    payloadHash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", secret: secret)
                var fields = HTTPHeaders(headers)
                fields.add(
                    name: "Authorization",
                    value: "ACS3-HMAC-SHA256 Credential=testId,SignedHeaders=\(signed),Signature=\(signature)")
                let text = query.map { PercentEncoding.rfc3986($0.0) + "=" + PercentEncoding.rfc3986($0.1) }
                    .joined(separator: "&")
                return HTTPRequest(method: .post, url: base + "/?" + text, headers: fields)
            }
            let accepted = try await client.send(try request(secret: "testSecret", outID: "v3-1"))
            #expect(jsonObject(accepted)["Code"] as? String == "OK")
            let forged = try await client.send(try request(secret: "nope", outID: "v3-2"))
            #expect(forged.status == 400)
            #expect(jsonObject(forged)["Code"] as? String == "SignatureDoesNotMatch")
            #expect(stub.stats.acceptedIds == ["v3-1"])
        }
    }
}
