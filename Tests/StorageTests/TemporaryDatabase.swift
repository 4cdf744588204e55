import Foundation
import Registry

/// A fresh directory under the system temporary directory, removed when the value is dropped.
final class TemporaryDatabase: Sendable {
    let directory: String
    /// A database path inside a not-yet-existing sub-directory, so opening exercises its creation.
    let path: String

    init() throws {
        directory =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("policypush-storage-\(UUID().uuidString)").path
        path = directory + "/data/store.sqlite"
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }
}

enum Fixtures {
    /// An enterprise with every attribute present.
    static let full = Enterprise(
        creditCode: "91440300MA5FXXXX1A", name: "深圳市前海示例科技有限公司", taxpayerType: .smallScale,
        industryCode: "I65", region: "前海", registeredOn: LocalDate(iso: "2019-03-28"), employees: 87,
        annualSales: 12_345_678.9, taxableIncome: -250_000.5, totalAssets: 4_000_000, creditRating: .b,
        highTech: true, mobile: "13812341234", wechatOpenID: "oABC-123_xyz", smsOptOut: true, wechatOptOut: false,
        custom: ["研发费用": "1200000", "quote\"back\\slash": "line\nbreak\t\u{1}", "emoji": "🙂"])

    /// An enterprise with every optional attribute missing.
    static let sparse = Enterprise(creditCode: "92440300MA5FYYYY2B", name: "个体户")

    /// `count` distinct enterprises with credit codes in ascending order.
    static func generated(_ count: Int, offset: Int = 0) -> [Enterprise] {
        (offset..<offset + count).map { i in
            Enterprise(
                creditCode: "9144" + String(100_000_000_000_000 + i), name: "企业\(i)",
                taxpayerType: TaxpayerType.allCases[i % 3], industryCode: "C\(10 + i % 30)",
                employees: i % 500, annualSales: Double(i) * 1000.5, taxableIncome: Double(i % 7 - 3) * 1e4,
                highTech: i % 2 == 0)
        }
    }
}
