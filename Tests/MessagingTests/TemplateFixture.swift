import Foundation
import Registry
import Rules

@testable import Messaging

/// A temporary template directory: the shipped-style defaults, with any file replaced; removed
/// when the fixture goes.
final class TemplateFixture {
    static let package = """
        { link: "https://etax.example.gov.cn/p/{token}", separator: "、", more: "等{n}项", summary: "{n}项税费优惠政策" }
        """
    static let sms = """
        { signature: "税务局", opt_out: "回T退订", max_segments: 1, text: "{policies}" }
        """
    static let wechat = """
        { template_id: "T1", url: "{link}", fields: [{ key: "thing1", value: "{name}", max_length: 6 }] }
        """

    let directory: String

    /// The repository's `templates/`, as shipped.
    static let shippedDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("templates").path

    /// A renderer over the shipped templates.
    static func shippedRenderer(schema: AttributeSchema = AttributeSchema()) throws -> PackageRenderer {
        PackageRenderer(templates: try TemplateSet.load(directory: shippedDirectory, schema: schema))
    }

    init(files: [String: String] = [:], omit: Set<String> = []) throws {
        directory = (NSTemporaryDirectory() as NSString).appendingPathComponent("templates-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let defaults = ["package.json5": Self.package, "sms.json5": Self.sms, "wechat.json5": Self.wechat]
        for (name, text) in defaults.merging(files, uniquingKeysWith: { $1 }) where !omit.contains(name) {
            try text.write(
                toFile: (directory as NSString).appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func load(schema: AttributeSchema = AttributeSchema()) throws -> TemplateSet {
        try TemplateSet.load(directory: directory, schema: schema)
    }

    func renderer(schema: AttributeSchema = AttributeSchema()) throws -> PackageRenderer {
        PackageRenderer(templates: try load(schema: schema))
    }

    /// The diagnostics of a load that must fail.
    func diagnostics(schema: AttributeSchema = AttributeSchema()) -> [Diagnostic] {
        do {
            _ = try load(schema: schema)
            return []
        } catch let error as TemplateError {
            return error.diagnostics
        } catch {
            return [Diagnostic(file: "", line: 0, message: "unexpected \(error)")]
        }
    }
}

func enterprise(name: String = "北京示例科技有限公司", code: String = "91110105MA01ABCD0X") -> Enterprise {
    Enterprise(creditCode: code, name: name, region: "朝阳区", annualSales: 5_000_000, mobile: "13800001234")
}

/// `count` policies whose short titles are `length` characters each (`政策1……`).
func policies(_ count: Int, titleLength: Int = 10) -> [PolicyProfile] {
    (1...max(count, 1)).prefix(count).map { i in
        let tag = "政策\(i)"
        let short = tag + String(repeating: "惠", count: max(0, titleLength - tag.count))
        return PolicyProfile(
            id: "p\(i)", title: "关于第\(i)项税费优惠政策的公告", shortTitle: short, basis: "示例公告", priority: 100 - i,
            when: "true")
    }
}
