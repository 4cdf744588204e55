import Foundation
import Registry
import Testing

@testable import Messaging

@Suite struct TemplateSetTests {
    @Test func shippedTemplatesLoadAndRender() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let directory = root.appendingPathComponent("templates").path
        let templates = try TemplateSet.load(directory: directory, schema: AttributeSchema())
        #expect(templates.sms.signature == "朝阳区税务局")
        #expect(templates.sms.maxSegments == 2)
        #expect(templates.aliyun?.params.map(\.key) == ["name", "policies"])
        #expect(templates.tencent?.params.count == 2)

        let renderer = PackageRenderer(templates: templates)
        let sms = renderer.renderSMS(for: enterprise(), policies: policies(12))
        #expect(sms.segments <= 2 && sms.includedPolicies >= 1)
        #expect(sms.text.hasPrefix("【朝阳区税务局】尊敬的北京示例科技有限公司") && sms.text.hasSuffix("回T退订"))
        #expect(sms.text.contains("https://etax.example.gov.cn/p/" + PackageLink.placeholder.token(for: "")))
        let wechat = renderer.renderWeChat(for: enterprise(), policies: policies(12))
        #expect(wechat.fields.allSatisfy { $0.value.count <= 20 })
    }

    @Test func unknownPlaceholderNamesFileLineAndField() {
        let wechat = """
            {
              template_id: "T1",
              fields: [
                { key: "thing1", value: "{name}" },
                { key: "thing2", value: "{policies}" },
                { key: "thing3", value: "截至{deadline}前办理" },
              ],
            }
            """
        let diagnostics = (try? TemplateFixture(files: ["wechat.json5": wechat]).diagnostics()) ?? []
        #expect(diagnostics.count == 1)
        let diagnostic = diagnostics.first
        #expect(diagnostic?.file.hasSuffix("/wechat.json5") == true)
        #expect(diagnostic?.line == 6)
        #expect(diagnostic?.field == "fields[2].value")
        #expect(diagnostic?.column == 32)
        #expect(diagnostic?.message.contains("{deadline}") == true)
    }

    @Test func declaredCustomAttributesArePlaceholders() throws {
        let fixture = try TemplateFixture(files: [
            "sms.json5": #"{ signature: "税务局", text: "{name}{deadline}" }"#
        ])
        #expect(fixture.diagnostics().map(\.field) == ["text"])
        #expect(throws: Never.self) { try fixture.load(schema: AttributeSchema(custom: ["deadline": .date])) }
    }

    @Test func unclosedBraceIsAnError() throws {
        let sms = """
            {
              signature: "税务局",
              text: "尊敬的{name：请查收",
            }
            """
        let diagnostics = try TemplateFixture(files: ["sms.json5": sms]).diagnostics()
        #expect(diagnostics.count == 1)
        #expect(diagnostics.first?.line == 3 && diagnostics.first?.field == "text")
        #expect(diagnostics.first?.message.contains("unclosed") == true)
    }

    @Test func loneClosingBraceIsAnError() throws {
        let fixture = try TemplateFixture(files: ["package.json5": #"{ link: "https://e.example.cn/p/{token}}" }"#])
        #expect(fixture.diagnostics().map(\.field) == ["link"])
    }

    @Test func doubledBracesAreLiteral() throws {
        let fixture = try TemplateFixture(files: [
            "sms.json5": #"{ signature: "税务局", opt_out: "", text: "{{name}}={name} }}{{" }"#
        ])
        let sms = try fixture.renderer().renderSMS(for: enterprise(name: "示例"), policies: [])
        #expect(sms.text == "【税务局】{name}=示例 }{")
    }

    @Test func everyProblemIsReportedAtOnce() throws {
        let fixture = try TemplateFixture(
            files: [
                "sms.json5": """
                {
                  signature: "【税务局】",
                  max_segments: 9,
                  text: "{nmae}",
                  opt_ot: "回T退订",
                }
                """,
                "tencent.json5": #"{ template_id: "1", sign_name: "x", params: ["{name}", { text: "{bad}" }] }"#,
            ],
            omit: ["wechat.json5"])
        let found = fixture.diagnostics().map {
            "\(($0.file as NSString).lastPathComponent):\($0.line):\($0.field ?? "")"
        }
        #expect(
            Set(found) == [
                "sms.json5:2:signature", "sms.json5:3:max_segments", "sms.json5:4:text", "sms.json5:5:opt_ot",
                "wechat.json5:0:", "tencent.json5:1:params[1].text",
            ])
    }

    @Test func syntaxAndTypeErrorsAreLocated() throws {
        let broken = try TemplateFixture(files: ["sms.json5": "{\n  signature: \"税务局\",\n  text: \"x\" \"y\",\n}"])
        let syntax = broken.diagnostics()
        #expect(syntax.count == 1 && syntax.first?.line == 3)

        let mistyped = try TemplateFixture(files: ["sms.json5": "{\n  signature: \"税务局\",\n  text: 42,\n}"])
        let type = mistyped.diagnostics()
        #expect(type.first?.line == 3 && type.first?.field == "text")

        let missing = try TemplateFixture(files: ["sms.json5": "{\n  signature: \"税务局\",\n}"])
        #expect(missing.diagnostics().first?.field == "text")
    }

    /// 200,000 nested `[` used to overflow the stack of the position scanner.
    @Test func deepNestingIsASyntaxErrorNotACrash() throws {
        let nested = String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000)
        let deep = "{\n  signature: " + nested + "\n}"
        let diagnostics = try TemplateFixture(files: ["sms.json5": deep]).diagnostics()
        let d = try #require(diagnostics.first)
        // The 64th `[` opens the 65th level (the object is the first): line 2, column 14 + 63.
        #expect(d.file.hasSuffix("sms.json5") && d.line == 2 && d.column == 77, "\(d)")
        #expect(d.message.contains("objects and arrays nest deeper than 64 levels"), "\(d)")
    }

    @Test func optionalGatewaysAreNil() throws {
        let templates = try TemplateFixture().load()
        #expect(templates.aliyun == nil && templates.tencent == nil)
        #expect(templates.package.separator == "、")
    }

    // MARK: Summary wording

    @Test func summaryReadsOnceInTheShippedTemplates() throws {
        let renderer = try TemplateFixture.shippedRenderer()
        let long = policies(4, titleLength: 60)
        let sms = renderer.renderSMS(for: enterprise(), policies: long)
        #expect(sms.includedPolicies == 0)
        #expect(sms.text.contains("可能符合4项税费优惠政策条件"), "\(sms.text)")
        #expect(!sms.text.contains("税费优惠政策税费优惠政策"))
        // The approved Aliyun and Tencent templates go on with 税费优惠政策条件 after the variable.
        let aliyun = try #require(renderer.renderAliyun(for: enterprise(), policies: long))
        #expect(aliyun.params.last?.value == "4项")
        let tencent = try #require(renderer.renderTencent(for: enterprise(), policies: long))
        #expect(tencent.params.last == "4项")
    }

    @Test func summaryRepeatingTheTextAfterThePoliciesIsATemplateError() throws {
        let fixture = try TemplateFixture(files: [
            "sms.json5": #"{ signature: "税务局", text: "贵单位可能符合{policies}税费优惠政策条件" }"#
        ])
        let diagnostics = fixture.diagnostics()
        #expect(diagnostics.map(\.field) == ["text"], "\(diagnostics)")
        #expect(diagnostics.first?.message.contains("税费优惠政策税费优惠政策") == true)

        let wechat = try TemplateFixture(files: [
            "wechat.json5": #"{ template_id: "T1", fields: [{ key: "thing2", value: "{policies}税费优惠政策" }] }"#
        ])
        #expect(wechat.diagnostics().map(\.field) == ["fields[0].value"])
        // A single shared character is left alone: 等4项项目 may well be meant.
        let single = try TemplateFixture(files: [
            "sms.json5": #"{ signature: "税务局", text: "{policies}项目" }"#
        ])
        #expect(single.diagnostics().isEmpty)
    }
}
