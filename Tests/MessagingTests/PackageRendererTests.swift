import Foundation
import Registry
import Testing

@testable import Messaging

@Suite struct PackageRendererTests {
    // MARK: SMS fitting (frame: 【税务局】 5 + 回T退订 4; budget 70 for one segment)

    @Test func packageThatFitsNamesEveryPolicy() throws {
        let renderer = try TemplateFixture().renderer()
        let sms = renderer.renderSMS(for: enterprise(), policies: policies(3))
        #expect(sms.text == "【税务局】政策1惠惠惠惠惠惠惠、政策2惠惠惠惠惠惠惠、政策3惠惠惠惠惠惠惠回T退订")
        #expect(sms.length == 41 && sms.segments == 1 && sms.includedPolicies == 3)
    }

    @Test func packageTooLongNamesTheLargestPrefixThatFits() throws {
        let renderer = try TemplateFixture().renderer()
        // Full: 8 × 10 + 7 separators + 9 = 96. First k: 11k − 1 + 等8项 (3) + 9 ≤ 70 → k = 5 (66).
        let sms = renderer.renderSMS(for: enterprise(), policies: policies(8))
        let named = policies(8).prefix(5).map(\.shortTitle).joined(separator: "、")
        #expect(sms.text == "【税务局】" + named + "等8项回T退订")
        #expect(sms.includedPolicies == 5)
        #expect(sms.length == 66 && sms.text.count == 66 && sms.segments == 1)
        #expect(renderer.smsCost(for: enterprise(), policies: policies(8)) == (66, 1))
    }

    @Test func kIsExactAtTheBoundary() throws {
        // Budget 134 (2 segments). With 10-character titles the k-th prefix costs 11k + 12; k = 11 gives 133,
        // k = 12 gives 144 (one more title would need 3 segments).
        let fixture = try TemplateFixture(files: [
            "sms.json5": #"{ signature: "税务局", opt_out: "回T退订", text: "{policies}" }"#
        ])
        let renderer = try fixture.renderer()
        let sms = renderer.renderSMS(for: enterprise(), policies: policies(20))
        #expect(sms.includedPolicies == 11)
        #expect(sms.text.hasSuffix("等20项回T退订"))
        #expect(sms.length == 133 && sms.segments == 2)
    }

    @Test func summaryWhenNotEvenOneTitleFits() throws {
        let renderer = try TemplateFixture().renderer()
        let long = policies(2, titleLength: 60)
        let sms = renderer.renderSMS(for: enterprise(), policies: long)
        #expect(sms.text == "【税务局】2项税费优惠政策回T退订")
        #expect(sms.includedPolicies == 0 && sms.length == 17 && sms.segments == 1)
        #expect(renderer.smsCost(for: enterprise(), policies: long) == (17, 1))
    }

    @Test func smsSummaryOverridesThePackageSummary() throws {
        let fixture = try TemplateFixture(files: [
            "sms.json5": #"{ signature: "税务局", max_segments: 1, text: "{policies}", summary: "多项（{n}）优惠" }"#
        ])
        let sms = try fixture.renderer().renderSMS(for: enterprise(), policies: policies(2, titleLength: 60))
        #expect(sms.text == "【税务局】多项（2）优惠回T退订")
    }

    @Test func bodyOverTheHardCapIsCutBeforeTheOptOut() throws {
        // Full titles are not fitted: 40 of them run past 500 characters whatever {policies} does.
        let fixture = try TemplateFixture(files: [
            "sms.json5": #"{ signature: "税务局", opt_out: "回T退订", text: "{policy_titles}：{policies}" }"#
        ])
        let renderer = try fixture.renderer()
        let sms = renderer.renderSMS(for: enterprise(), policies: policies(40))
        #expect(sms.length == 500 && sms.text.count == 500 && sms.segments == 8)
        #expect(sms.text.hasSuffix("…回T退订"))
        #expect(sms.includedPolicies == 0)
        #expect(renderer.smsCost(for: enterprise(), policies: policies(40)) == (500, 8))
    }

    @Test func noPoliciesLeavesTheListEmpty() throws {
        let sms = try TemplateFixture().renderer().renderSMS(for: enterprise(), policies: [])
        #expect(sms.text == "【税务局】回T退订" && sms.includedPolicies == 0)
    }

    @Test func everyPlaceholderRenders() throws {
        let schema = AttributeSchema(custom: ["district_office": .string, "export_share": .number])
        let text =
            "{name}|{credit_code}|{credit_code_tail}|{policy_count}|{policy_titles}|{top_policy}|{region}|"
            + "{annual_sales}|{export_share}|{district_office}|{industry_code}|{high_tech}"
        let fixture = try TemplateFixture(files: [
            "sms.json5": #"{ signature: "税务局", opt_out: "", max_segments: 8, text: "\#(text)" }"#
        ])
        var company = enterprise()
        company.custom = ["export_share": "0.25", "district_office": "第一税务所"]
        company.highTech = true
        let sms = try fixture.renderer(schema: schema).renderSMS(for: company, policies: policies(2))
        #expect(
            sms.text == "【税务局】北京示例科技有限公司|91110105MA01ABCD0X|CD0X|2|关于第1项税费优惠政策的公告；关于第2项税费优惠政策的公告|"
                + "政策1惠惠惠惠惠惠惠|朝阳区|5000000|0.25|第一税务所||是")
    }

    // MARK: WeChat

    @Test func wechatTruncatesChineseTextInsideTheLimit() throws {
        let renderer = try TemplateFixture().renderer()
        let message = renderer.renderWeChat(for: enterprise(name: "北京示例科技有限公司"), policies: policies(1))
        #expect(message.templateID == "T1")
        #expect(message.fields == [.init(key: "thing1", value: "北京示例科…")])
        #expect(message.fields[0].value.count == 6)
        let short = renderer.renderWeChat(for: enterprise(name: "示例公司"), policies: policies(1))
        #expect(short.fields[0].value == "示例公司")
    }

    @Test func wechatNeverSplitsAGrapheme() throws {
        let renderer = try TemplateFixture().renderer()
        let family = "👨‍👩‍👧‍👦"
        let message = renderer.renderWeChat(for: enterprise(name: "税务\(family)🇨🇳e\u{301}科技公司"), policies: [])
        let value = message.fields[0].value
        #expect(value == "税务\(family)🇨🇳e\u{301}…")
        #expect(value.count == 6)
        #expect(value.unicodeScalars.filter { $0 == "\u{200D}" }.count == 3)
    }

    @Test func wechatFieldWithPoliciesNamesWhatFits() throws {
        let fixture = try TemplateFixture(files: [
            "wechat.json5": #"{ template_id: "T1", fields: [{ key: "thing2", value: "{policies}", max_length: 20 }] }"#
        ])
        let message = try fixture.renderer().renderWeChat(for: enterprise(), policies: policies(4, titleLength: 6))
        // 6 + 1 + 6 + 等4项 (3) = 16 ≤ 20; a third title would make 23.
        #expect(message.fields[0].value == "政策1惠惠惠、政策2惠惠惠等4项")
        #expect(message.url == nil)
    }

    // MARK: Gateways

    @Test func aliyunParamsAreStringsInFileOrder() throws {
        let fixture = try TemplateFixture(files: [
            "aliyun.json5": """
            {
              template_code: "SMS_15305000",
              sign_name: "朝阳区税务局",
              params: {
                name: "{name}",
                count: "{policy_count}",
                sales: "{annual_sales}",
                policies: "{policies}",
                quote: { text: "\\"{top_policy}\\"", max_length: 8 },
              },
            }
            """
        ])
        let sms = try #require(try fixture.renderer().renderAliyun(for: enterprise(), policies: policies(5)))
        #expect(sms.templateCode == "SMS_15305000" && sms.signName == "朝阳区税务局")
        #expect(sms.params.map(\.key) == ["name", "count", "sales", "policies", "quote"])
        #expect(sms.params.map(\.value).allSatisfy { $0.count <= 35 })
        #expect(sms.params[1].value == "5")
        #expect(sms.params[2].value == "5000000")
        // Full list: 5 × 10 + 4 = 54 > 35; three titles and 等5项 make exactly 35.
        #expect(sms.params[3].value == "政策1惠惠惠惠惠惠惠、政策2惠惠惠惠惠惠惠、政策3惠惠惠惠惠惠惠等5项")
        #expect(sms.params[4].value == "\"政策1惠惠惠…")

        let json = try JSONSerialization.jsonObject(with: Data(sms.templateParam.utf8)) as? [String: Any]
        let object = try #require(json)
        #expect(object.count == 5)
        #expect(object.values.allSatisfy { $0 is String })
        #expect(object["sales"] as? String == "5000000")
        #expect(sms.templateParam.hasPrefix(#"{"name":"北京示例科技有限公司","count":"5""#))
    }

    /// `TemplateParam` is escaped as every JSON string we write: U+2028 escaped, `\b` by name.
    @Test func templateParamEscapesLikeAllOurJSON() {
        let sms = AliyunSMS(templateCode: "T", signName: "S", params: [.init(key: "a\"", value: "x\u{2028}\u{8}\n中")])
        #expect(sms.templateParam == #"{"a\"":"x\u2028\b\n中"}"#)
    }

    @Test func tencentParamsArePositional() throws {
        let fixture = try TemplateFixture(files: [
            "tencent.json5": """
            {
              template_id: "1234567",
              sign_name: "朝阳区税务局",
              max_length: 12,
              params: ["{name}", "{policy_count}", { text: "{policies}", max_length: 20 }],
            }
            """
        ])
        let renderer = try fixture.renderer()
        let sms = try #require(renderer.renderTencent(for: enterprise(), policies: policies(3, titleLength: 6)))
        #expect(sms.templateID == "1234567" && sms.signName == "朝阳区税务局")
        #expect(sms.params == ["北京示例科技有限公司", "3", "政策1惠惠惠、政策2惠惠惠、政策3惠惠惠"])
        let long = try #require(renderer.renderTencent(for: enterprise(name: "北京市朝阳区示例科技发展有限责任公司"), policies: []))
        #expect(long.params == ["北京市朝阳区示例科技发…", "0", ""])
    }

    @Test func gatewaysWithoutTemplatesRenderNil() throws {
        let renderer = try TemplateFixture().renderer()
        #expect(renderer.renderAliyun(for: enterprise(), policies: policies(1)) == nil)
        #expect(renderer.renderTencent(for: enterprise(), policies: policies(1)) == nil)
    }
}
