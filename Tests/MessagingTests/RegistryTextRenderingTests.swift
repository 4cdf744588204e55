import Foundation
import Registry
import Rules
import Testing

@testable import Messaging

/// Registry text placed in a template is data: it can neither forge the SMS signature, nor carry a
/// link, control or bidi characters to the handset, nor crowd the policies and the link out.
@Suite struct RegistryTextRenderingTests {
    static let spoof = "【公安局】您涉嫌洗钱请访问http://evil.example/x"
    static let signature = "【朝阳区税务局】"

    @Test func spoofedNameCannotForgeASignatureOrALinkOnAnyChannel() throws {
        let renderer = try TemplateFixture.shippedRenderer()
        let company = enterprise(name: Self.spoof)
        let sms = renderer.renderSMS(for: company, policies: policies(2, titleLength: 6))
        #expect(sms.text.hasPrefix(Self.signature))
        let body = sms.text.dropFirst(Self.signature.count)
        #expect(!body.contains("【") && !body.contains("】"), "\(sms.text)")
        #expect(!sms.text.contains("evil") && !sms.text.contains("http://"), "\(sms.text)")
        #expect(sms.text.contains("尊敬的（公安局）您涉嫌洗钱请访问："), "\(sms.text)")
        #expect(sms.text.contains("https://etax.example.gov.cn/p/"))

        let expected = "（公安局）您涉嫌洗钱请访问"
        let aliyun = try #require(renderer.renderAliyun(for: company, policies: policies(2, titleLength: 6)))
        #expect(aliyun.params.first?.value == expected)
        let tencent = try #require(renderer.renderTencent(for: company, policies: policies(2, titleLength: 6)))
        #expect(tencent.params.first == expected)
        let wechat = renderer.renderWeChat(for: company, policies: policies(2, titleLength: 6))
        #expect(wechat.fields.first?.value == expected)
        #expect(wechat.url?.contains("evil") == false)
    }

    @Test func controlBidiAndInvisibleCharactersNeverReachTheGateway() throws {
        let renderer = try TemplateFixture.shippedRenderer()
        let name = "示例\u{0}科技\r\n有限\u{202E}公司\u{200B}\u{2066}\u{7}\u{85}\u{FEFF}"
        let company = enterprise(name: name)
        let clean = "示例科技 有限公司"
        let sms = renderer.renderSMS(for: company, policies: policies(1, titleLength: 6))
        #expect(sms.text.contains("尊敬的\(clean)："), "\(sms.text.unicodeScalars.map { String($0.value, radix: 16) })")
        let aliyun = try #require(renderer.renderAliyun(for: company, policies: []))
        #expect(aliyun.params.first?.value == clean)
        #expect(!aliyun.templateParam.contains("\\u") && !aliyun.templateParam.contains("\\r"))
        #expect(try #require(renderer.renderTencent(for: company, policies: [])).params.first == clean)
        #expect(renderer.renderWeChat(for: company, policies: []).fields.first?.value == clean)
        for text in [sms.text, aliyun.templateParam] {
            #expect(!text.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) })
            #expect(!text.unicodeScalars.contains { $0.properties.generalCategory == .format })
        }
    }

    @Test func textAttributesAreCleanedToo() throws {
        let schema = AttributeSchema(custom: ["office": .string])
        let fixture = try TemplateFixture(files: [
            "sms.json5": #"{ signature: "税务局", opt_out: "", max_segments: 3, text: "{region}|{office}|{name}" }"#
        ])
        var company = enterprise(name: "示例公司")
        company.region = "朝阳区\n【公安局】"
        company.custom = ["office": "请访问 www.evil.cn 领取\u{202E}"]
        let sms = try fixture.renderer(schema: schema).renderSMS(for: company, policies: [])
        #expect(sms.text == "【税务局】朝阳区 （公安局）|请访问 领取|示例公司")
    }

    @Test func longNameNeverPushesThePoliciesOrTheLinkOut() throws {
        let renderer = try TemplateFixture.shippedRenderer()
        let company = enterprise(name: String(repeating: "企", count: 600))
        let sms = renderer.renderSMS(for: company, policies: policies(4, titleLength: 6))
        #expect(sms.segments <= 2 && sms.length <= 134, "\(sms.length)")
        #expect(sms.text.contains("https://etax.example.gov.cn/p/00000000000，咨询12366。回T退订"), "\(sms.text)")
        // Frame 12 + text 45 + link 41 (an 11-character token) + four titles 27 = 125 would leave the
        // name 9, under its floor of 12: three titles and 等4项 (23) leave it 13 characters.
        #expect(sms.text.contains("尊敬的\(String(repeating: "企", count: 12))…：经初步筛选"), "\(sms.text)")
        #expect(sms.text.contains("政策1惠惠惠、政策2惠惠惠、政策3惠惠惠等4项税费优惠政策条件"), "\(sms.text)")
        #expect(sms.includedPolicies == 3 && sms.length == 134)
        #expect(renderer.smsCost(for: company, policies: policies(4, titleLength: 6)) == (sms.length, sms.segments))

        // More policies than fit: counted, and the name takes the room left (up to 30).
        let many = renderer.renderSMS(for: company, policies: policies(12, titleLength: 6))
        #expect(many.length <= 134 && many.text.contains("等12项税费优惠政策条件"), "\(many.text)")
        #expect(many.text.contains("00000000000，咨询12366。回T退订"))

        // Titles too long to name: the summary stays, and so does the link.
        let summary = renderer.renderSMS(for: company, policies: policies(3, titleLength: 60))
        #expect(summary.text.contains("企…：经初步筛选，贵单位可能符合3项税费优惠政策条件，详情"), "\(summary.text)")
        #expect(summary.text.contains("00000000000，咨询12366。回T退订") && summary.segments == 2)

        // Gateway parameters and WeChat fields hold their own limits.
        let aliyun = try #require(renderer.renderAliyun(for: company, policies: policies(4, titleLength: 6)))
        #expect(aliyun.params[0].value.hasSuffix("企…") && aliyun.params[0].value.count <= 35)
        #expect(aliyun.params[1].value == "政策1惠惠惠、政策2惠惠惠、政策3惠惠惠、政策4惠惠惠")
    }

    @Test func nameLongerThanTheFloorYieldsToNamedPolicies() throws {
        let renderer = try TemplateFixture.shippedRenderer()
        // 31 characters, printed as 30 at most; beside two titles (18 with the separator) and the link
        // (41 with its 11-character token) 18 remain.
        let name = "北京市朝阳区华盛科技发展有限责任公司第一分公司望京科技园区分部"
        let two = [
            PolicyProfile(id: "a", title: "A", shortTitle: "小规模减按1%征收", basis: "", when: "true"),
            PolicyProfile(id: "b", title: "B", shortTitle: "六税两费减半征收", basis: "", when: "true"),
        ]
        let sms = renderer.renderSMS(for: enterprise(name: name), policies: two)
        #expect(sms.includedPolicies == 2 && sms.length == 134, "\(sms.text)")
        #expect(sms.text.contains("尊敬的\(name.prefix(17))…：经初步筛选"), "\(sms.text)")
        // A name within the floor is never cut to name more policies.
        let short = renderer.renderSMS(for: enterprise(name: "北京市朝阳区华盛科技有限"), policies: policies(9, titleLength: 9))
        #expect(short.text.contains("尊敬的北京市朝阳区华盛科技有限："), "\(short.text)")
    }

    @Test func nameSharingAFieldWithThePoliciesYieldsToThem() throws {
        let fixture = try TemplateFixture(files: [
            "wechat.json5":
                #"{ template_id: "T1", fields: [{ key: "thing1", value: "{name}：{policies}", max_length: 20 }] }"#
        ])
        let company = enterprise(name: String(repeating: "企", count: 600))
        let value = try fixture.renderer().renderWeChat(for: company, policies: policies(4, titleLength: 30)).fields[0]
            .value
        #expect(value.count == 20)
        #expect(value.hasSuffix("企…：4项税费优惠政策"), "\(value)")
    }
}
