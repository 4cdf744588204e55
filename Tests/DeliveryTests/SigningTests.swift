import Delivery
import Testing

/// Every signature vector of Delivery/Gateways.md §9, verbatim.
@Suite struct SigningTests {
    /// Vector A: the official SendSms example.
    static let vectorA: [(String, String)] = [
        ("AccessKeyId", "testId"), ("Action", "SendSms"), ("Format", "XML"), ("OutId", "123"),
        ("PhoneNumbers", "15300000001"), ("RegionId", "cn-hangzhou"), ("SignName", "阿里云短信测试专用"),
        ("SignatureMethod", "HMAC-SHA1"), ("SignatureNonce", "45e25e9b-0a6f-4070-8c85-2956eda1b466"),
        ("SignatureVersion", "1.0"), ("TemplateCode", "SMS_71390007"), ("TemplateParam", #"{"customer":"test"}"#),
        ("Timestamp", "2017-07-12T02:42:19Z"), ("Version", "2017-05-25"),
    ]

    @Test func a1AliyunV2GetSignature() throws {
        let signer = AliyunSignatureV2(accessKeySecret: "testSecret")
        let stringToSign = AliyunSignatureV2.stringToSign(method: .get, parameters: Self.vectorA)
        #expect(stringToSign.hasPrefix("GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms"))
        #expect(stringToSign.contains("SignName%3D%25E9%2598%25BF"))
        #expect(stringToSign.contains("Timestamp%3D2017-07-12T02%253A42%253A19Z"))
        let signature = try signer.signature(method: .get, parameters: Self.vectorA)
        #expect(signature == "zJDF+Lrzhj/ThnlvIToysFRq6t4=")
        #expect(PercentEncoding.rfc3986(signature) == "zJDF%2BLrzhj%2FThnlvIToysFRq6t4%3D")
        #expect(signer.verify(signature: signature, method: .get, parameters: Self.vectorA))
    }

    @Test func a2AliyunV2PostSignature() throws {
        let signer = AliyunSignatureV2(accessKeySecret: "testSecret")
        #expect(try signer.signature(method: .post, parameters: Self.vectorA) == "Xvhv7fPXrPkLVSnlt0jIr08o8NQ=")
        // Order of the input does not matter: parameters are sorted before signing.
        #expect(
            try signer.signature(method: .post, parameters: Self.vectorA.reversed())
                == "Xvhv7fPXrPkLVSnlt0jIr08o8NQ=")
        #expect(!signer.verify(signature: "zJDF+Lrzhj/ThnlvIToysFRq6t4=", method: .post, parameters: Self.vectorA))
    }

    @Test func b1AliyunV2SDKTest() throws {
        let parameters = [("query", "test"), ("body", "test")]
        #expect(
            AliyunSignatureV2.stringToSign(method: .get, parameters: parameters)
                == "GET&%2F&body%3Dtest%26query%3Dtest")
        #expect(
            try AliyunSignatureV2(accessKeySecret: "secret").signature(method: .get, parameters: parameters)
                == "XlUyV4sXjOuX5FnjUz9IF9tm5rU=")
    }

    @Test func p1PercentEncoding() {
        #expect(PercentEncoding.rfc3986(" ~/*-+") == "%20~%2F%2A-%2B")
        #expect(AliyunSignatureV3.canonicalQuery([("test", " ~/*-+")]) == "test=%20~%2F%2A-%2B")
    }

    @Test func p2PercentEncodingOfUTF8() {
        #expect(PercentEncoding.rfc3986(" ~/*-+阿^\"{}:") == "%20~%2F%2A-%2B%E9%98%BF%5E%22%7B%7D%3A")
    }

    @Test func c1AliyunV3Signature() throws {
        let signed = try AliyunSignatureV3(accessKeyID: "acesskey", accessKeySecret: "secret").sign(
            method: .get, path: "", query: [("test", "ok"), ("empty", "")],
            headers: [("x-acs-test", "http"), ("x-acs-TEST", "https")],
            payloadHash: "55e12e91650d2fec56ec74e1d3e4ddbfce2ef3a65890c2a19ecf88a307e76a23")
        #expect(
            signed.canonicalRequest
                == "GET\n/\nempty=&test=ok\nx-acs-test:http,https\n\nx-acs-test\n"
                + "55e12e91650d2fec56ec74e1d3e4ddbfce2ef3a65890c2a19ecf88a307e76a23")
        #expect(signed.stringToSign.hasPrefix("ACS3-HMAC-SHA256\n"))
        #expect(signed.signedHeaders == "x-acs-test")
        #expect(signed.signature == "d16b30a7699ae9e43875b13195b2f81bcc3ed10c14a9b5eb780e51619aa50be1")
        #expect(
            signed.authorization
                == "ACS3-HMAC-SHA256 Credential=acesskey,SignedHeaders=x-acs-test,"
                + "Signature=d16b30a7699ae9e43875b13195b2f81bcc3ed10c14a9b5eb780e51619aa50be1")
    }

    @Test func c3HashOfEmptyBody() throws {
        #expect(Digest.hex(try Digest.sha256([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    /// Vector D: the official CVM example.
    static let payloadD = #"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#

    func signedD() throws -> TencentTC3Signer.Signed {
        try TencentTC3Signer(
            secretID: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", secretKey: "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
            service: "cvm"
        ).sign(payload: Array(Self.payloadD.utf8), host: "cvm.tencentcloudapi.com", timestamp: 1_551_113_065)
    }

    @Test func d1TencentPayloadHash() throws {
        #expect(try signedD().payloadHash == "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064")
    }

    @Test func d2TencentCanonicalRequest() throws {
        let signed = try signedD()
        #expect(
            signed.canonicalRequest
                == "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\n"
                + "content-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064")
        #expect(
            Digest.hex(try Digest.sha256(signed.canonicalRequest))
                == "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031")
        #expect(signed.credentialScope == "2019-02-25/cvm/tc3_request")
        #expect(
            signed.stringToSign
                == "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n"
                + "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031")
    }

    @Test func d3TencentSignature() throws {
        #expect(try signedD().signature == "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168")
    }

    @Test func d4TencentAuthorization() throws {
        #expect(
            try signedD().authorization
                == "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, "
                + "SignedHeaders=content-type;host, "
                + "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168")
    }

    @Test func tencentScopeUsesUTCDate() throws {
        // 2019-02-25T23:30:00Z is already the 26th in Beijing; the scope keeps the UTC date.
        let signed = try TencentTC3Signer(secretID: "id", secretKey: "key").sign(
            payload: [], host: "sms.tencentcloudapi.com", timestamp: 1_551_137_400)
        #expect(signed.credentialScope == "2019-02-25/sms/tc3_request")
    }

    @Test func e1WeChatPushSignature() throws {
        #expect(
            WeChatPushSignature.stringToSign(token: "testtoken", timestamp: "1409304348", nonce: "xxxxxx")
                == "1409304348testtokenxxxxxx")
        #expect(
            try WeChatPushSignature.signature(token: "testtoken", timestamp: "1409304348", nonce: "xxxxxx")
                == "30d7c91db269b3e0cb3e1a131646b6d1ae4750f5")
        #expect(
            WeChatPushSignature.verify(
                signature: "30d7c91db269b3e0cb3e1a131646b6d1ae4750f5", token: "testtoken", timestamp: "1409304348",
                nonce: "xxxxxx"))
        #expect(
            !WeChatPushSignature.verify(
                signature: "30d7c91db269b3e0cb3e1a131646b6d1ae4750f5", token: "testtoken", timestamp: "1409304349",
                nonce: "xxxxxx"))
    }
}
