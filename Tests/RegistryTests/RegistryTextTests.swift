import Testing

@testable import Registry

struct RegistryTextTests {
    @Test(arguments: [
        "北京华盛科技有限公司", "华盛（北京）科技有限公司", "A&B 科技 Co., Ltd.", "No.1 餐饮店", "V2.0 软件工作室", "A.B.C 贸易",
        "北京\u{3000}科技", "税务👨‍👩‍👧‍👦🇨🇳e\u{301}科技", "第〔2019〕号《示例》「商行」", "",
    ])
    func legitimateNamesAreKept(name: String) {
        #expect(RegistryText.sanitized(name) == name)
        #expect(RegistryText.inspect(name).isClean)
    }

    @Test(arguments: [
        ("【公安局】您涉嫌洗钱请访问http://evil.example/x", "（公安局）您涉嫌洗钱请访问"),
        ("〖公安局〗〘通知〙〚急〛［法院］︻a︼︗b︘﹇c﹈", "（公安局）（通知）（急）（法院）（a）（b）（c）"),
        ("Acme [China] Ltd", "Acme (China) Ltd"),
        ("访问evil.cn/x领取", "访问领取"),
        ("访问 www.example 领取", "访问 领取"),
        ("HTTPS://EVIL.CN", ""),
        ("ｅｖｉｌ．ｃｎ／ｘ示例", "示例"),
        ("示例 bit.ly 公司", "示例 公司"),
        ("示例1.2.3.4:8080公司", "示例公司"),
        ("示例xn--fiqs8s.xn--fiqz9s公司", "示例公司"),
        ("示例mailto:a@evil.cn公司", "示例公司"),
        ("示例hxxp://x公司", "示例公司"),
        ("Beijing ABC Co.Ltd", "Beijing ABC"),
        ("示例\u{0}科技\r\n有限\t公司", "示例科技 有限 公司"),
        ("\u{1B}[31m红色\u{1B}[0m公司", "(31m红色(0m公司"),
        ("示例\u{202E}司公\u{202C}\u{2066}\u{2069}\u{200E}\u{200F}\u{061C}", "示例司公"),
        ("示\u{200B}例\u{2060}公\u{FEFF}司\u{AD}\u{E0041}\u{3164}", "示例公司"),
        ("  前后  空白\u{2028}\u{2029} ", "前后 空白"),
    ])
    func rules(raw: String, clean: String) {
        #expect(RegistryText.sanitized(raw) == clean)
        #expect(!RegistryText.inspect(raw).isClean)
        #expect(RegistryText.inspect(raw).length == clean.count)
    }

    @Test func inspectionNamesWhatChanges() {
        let found = RegistryText.inspect("【公安局】\r\n\u{202E}请访问 http://evil.example/x 或 www.evil.cn")
        #expect(found.controls == ["\r", "\n"])
        #expect(found.formats == ["\u{202E}"])
        #expect(found.brackets == ["【", "】"])
        #expect(found.addresses == ["http://evil.example/x", "www.evil.cn"])
        #expect(found.length == 11)  // （公安局） 请访问 或
    }

    @Test func escapedShowsInvisibleCharacters() {
        #expect(RegistryText.escaped("示例\u{202E}公司\r\n") == "示例<U+202E>公司<U+000D><U+000A>")
        #expect(RegistryText.escaped("【示例】公司") == "【示例】公司")
        #expect(RegistryText.codePoint("\u{1F600}") == "U+1F600")
    }

    @Test func hostsNeedALetterTopLevelLabel() {
        func address(_ text: String) -> Bool { RegistryText.isAddress(Array(text.utf8)) }
        #expect(address("evil.cn") && address("a.b.example") && address("x.co.uk/") && address("10.0.0.1"))
        #expect(!address("a.b") && !address("1.5") && !address("no.1") && !address("co.,") && !address(".cn"))
        #expect(!address("a..b") && !address("300.1.1.1") && !address("1.2.3"))
    }
}
