import Delivery
import Testing

@Suite struct DigestTests {
    @Test func sha256OfEmptyInput() throws {
        #expect(Digest.hex(try Digest.sha256([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Digest.hex(try Digest.sha256("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func sha256OfTencentCloudPayload() throws {
        // The \u sequences are literal ASCII backslash escapes in the payload, not Chinese characters.
        let payload = #"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#
        #expect(
            Digest.hex(try Digest.sha256(payload))
                == "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064")
        #expect(try Digest.sha256(Array(payload.utf8)) == Digest.sha256(payload))
    }

    @Test func hmacSHA1OfAlibabaCloudStringToSign() throws {
        let mac = try Digest.hmacSHA1(key: "secret&", data: "GET&%2F&body%3Dtest%26query%3Dtest")
        #expect(Digest.base64(mac) == "XlUyV4sXjOuX5FnjUz9IF9tm5rU=")
        #expect(
            try Digest.hmacSHA1(key: Array("secret&".utf8), data: Array("GET&%2F&body%3Dtest%26query%3Dtest".utf8))
                == mac)
    }

    @Test func sha1OfWeChatSignature() throws {
        #expect(Digest.hex(try Digest.sha1("1409304348testtokenxxxxxx")) == "30d7c91db269b3e0cb3e1a131646b6d1ae4750f5")
        #expect(try Digest.sha1(Array("1409304348testtokenxxxxxx".utf8)).count == 20)
    }

    @Test func hmacSHA256RFC4231TestCase2() throws {
        let mac = try Digest.hmacSHA256(key: "Jefe", data: "what do ya want for nothing?")
        #expect(Digest.hex(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(try Digest.hmacSHA256(key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8)) == mac)
    }

    @Test(arguments: [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ])
    func base64RFC4648Vectors(input: String, expected: String) {
        #expect(Digest.base64(Array(input.utf8)) == expected)
    }

    @Test func hexIsLowercaseAndPadded() {
        #expect(Digest.hex([0x00, 0x0f, 0xab, 0xff]) == "000fabff")
        #expect(Digest.hex([]) == "")
    }
}
