import Testing

@testable import Messaging

@Suite struct PackageLinkTests {
    @Test func tokenIsDeterministicBase62() {
        let token = PackageLink.token(for: "91110105MA01ABCD0X")
        #expect(token == PackageLink.token(for: "91110105MA01ABCD0X"))
        // FNV-1a 64 mod 62⁸ in base62, computed independently: a change breaks every sent link.
        #expect(token == "aRpM3KZI")
        #expect(token.count == 8)
        #expect(token.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
    }

    @Test func tokenDiffersAcrossCreditCodes() {
        let codes = (0..<1000).map { "91110105MA01\(String($0 + 1000))X" }
        #expect(Set(codes.map(PackageLink.token(for:))).count == codes.count)
        #expect(PackageLink.token(for: "91110105MA01ABCD0X") != PackageLink.token(for: "91110105MA01ABCD1X"))
    }

    @Test func renderedLinkCarriesTheToken() throws {
        let fixture = try TemplateFixture(files: [
            "sms.json5": #"{ signature: "税务局", opt_out: "", max_segments: 3, text: "{link}" }"#
        ])
        let renderer = try fixture.renderer()
        let sms = renderer.renderSMS(for: enterprise(code: "91110105MA01ABCD0X"), policies: policies(1))
        #expect(sms.text == "【税务局】https://etax.example.gov.cn/p/aRpM3KZI")
        let wechat = renderer.renderWeChat(for: enterprise(code: "91110105MA01ABCD1X"), policies: policies(1))
        #expect(wechat.url == "https://etax.example.gov.cn/p/" + PackageLink.token(for: "91110105MA01ABCD1X"))
    }
}
