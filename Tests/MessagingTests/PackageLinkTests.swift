import Testing

@testable import Messaging

@Suite struct PackageLinkTests {
    @Test func base62CarriesSixtyFourBits() {
        #expect(PackageLink.base62(0) == "00000000000")
        #expect(PackageLink.base62(61) == "0000000000z")
        // 2⁶⁴ − 1 = 62¹⁰·21 + …: fits in 11 digits with room to spare.
        #expect(PackageLink.base62(.max) == "LygHa16AHYF")
        #expect(PackageLink.base62(.max).count == PackageLink.tokenLength)
    }

    @Test func renderedLinkCarriesTheInjectedToken() throws {
        let fixture = try TemplateFixture(files: [
            "sms.json5": #"{ signature: "税务局", opt_out: "", max_segments: 3, text: "{link}" }"#
        ])
        let link = PackageLink { "T" + String($0.suffix(10)) }
        let renderer = try fixture.renderer().with(link: link)
        let sms = renderer.renderSMS(for: enterprise(code: "91110105MA01ABCD0X"), policies: policies(1))
        #expect(sms.text == "【税务局】https://etax.example.gov.cn/p/TMA01ABCD0X")
        #expect(sms.length == SMSLength.count(sms.text))
        let wechat = renderer.renderWeChat(for: enterprise(code: "91110105MA01ABCD1X"), policies: policies(1))
        #expect(wechat.url == "https://etax.example.gov.cn/p/TMA01ABCD1X")
    }

    @Test func placeholderHasTheRealLength() {
        #expect(PackageLink.placeholder.token(for: "91110105MA01ABCD0X").count == PackageLink.tokenLength)
    }
}
