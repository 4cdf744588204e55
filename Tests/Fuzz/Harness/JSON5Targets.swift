// JSON5 files an operator edits: message templates and the configuration.

import Config
import Glibc
import Messaging
import Registry
import Rules

private let templateNames = ["package.json5", "sms.json5", "wechat.json5", "aliyun.json5", "tencent.json5"]

/// Templates like the shipped ones, shortened and without comments, written to the scratch directory
/// once: every input loads all five, so the fewer bytes beside the input, the more inputs a second.
private let baseTemplates: [[UInt8]] = {
    let texts = [
        #"{ link: "https://etax.example.gov.cn/p/{token}", separator: "、", more: "等{n}项", summary: "{n}项税费优惠政策" }"#,
        #"{ signature: "朝阳区税务局", opt_out: "回T退订", max_segments: 2, text: "尊敬的{name}：贵单位可能符合{policies}，详见{link}。" }"#,
        #"""
        { template_id: "T", url: "{link}", fields: [{ key: "thing1", value: "{name}", max_length: 20 },
          { key: "thing2", value: "{policies}", max_length: 20 }, { key: "number3", value: "{policy_count}" }] }
        """#,
        #"{ template_code: "SMS_1", sign_name: "税务局", max_length: 35, params: { name: "{name}", policies: { text: "{policies}", max_length: 35 } } }"#,
        #"{ template_id: "1234567", sign_name: "税务局", max_length: 20, params: ["{name}", { text: "{policies}", max_length: 20 }] }"#,
    ]
    let files = texts.map { Array($0.utf8) }
    for (name, bytes) in zip(templateNames, files) { writeScratch(name, bytes) }
    return files
}()

private let schema = AttributeSchema(custom: ["export_share": .number, "zone": .string])
private let policies: [PolicyProfile] = {
    let entries = PolicyCatalog.load(directory: "config/policies", schema: schema).0.entries
    if entries.isEmpty { fail("no policies in config/policies: run from the repository root") }
    return entries.map(\.profile)
}()
private let enterprise = Enterprise(
    creditCode: "91440300MA5DXXXX0X", name: "深圳市测试科技有限公司", taxpayerType: .smallScale, industryCode: "C39",
    region: "南山", employees: 12, annualSales: 1_200_000, mobile: "13800138000", wechatOpenID: "oia2TjuEGTNoeX76",
    custom: ["export_share": "0.25", "zone": "前海"])

/// One template file replaced by the input, the others from `baseTemplates`; when the set loads, a
/// package is rendered for every channel with one, two and all shipped policies (`config/policies`).
///
/// The first byte picks the file: `p`ackage, `s`ms, `w`echat, `a`liyun, `t`encent, or any other
/// byte modulo 5.
func fuzzTemplate(_ bytes: [UInt8]) {
    guard let selector = bytes.first else { return }
    let which =
        templateNames.firstIndex { $0.utf8.first == selector } ?? Int(selector) % templateNames.count
    _ = baseTemplates
    writeScratch(templateNames[which], bytes.dropFirst())
    defer { writeScratch(templateNames[which], baseTemplates[which]) }
    guard let templates = try? TemplateSet.load(directory: scratch, schema: schema) else { return }
    let renderer = PackageRenderer(templates: templates)
    for count in [1, 2, policies.count] {
        let chosen = Array(policies.prefix(count))
        _ = renderer.renderSMS(for: enterprise, policies: chosen)
        _ = renderer.renderWeChat(for: enterprise, policies: chosen)
        _ = renderer.renderAliyun(for: enterprise, policies: chosen)
        _ = renderer.renderTencent(for: enterprise, policies: chosen)
    }
}

/// A `policypush.json5`, read and validated as the daemon and the CLI do at start-up.
func fuzzConfiguration(_ bytes: [UInt8]) {
    let path = writeScratch("policypush.json5", bytes)
    _ = try? Configuration.load(file: path, environment: ["HOME": "/nonexistent", "STATE_DIRECTORY": "/var/lib/pp"])
}
