import Foundation
import Kit
import Registry
import Testing

@testable import Rules

let schema = AttributeSchema(custom: ["export_share": .number, "founded": .date, "zone": .string, "listed": .bool])

func rule(_ source: String) throws -> CompiledRule {
    try CompiledRule(source: source, schema: schema)
}

/// The error a rule fails to compile with, or nil when it compiles.
func ruleError(_ source: String) -> RuleError? {
    do {
        _ = try CompiledRule(source: source, schema: schema)
        return nil
    } catch {
        return error
    }
}

func date(_ iso: String) -> LocalDate { LocalDate(iso: iso)! }

/// An enterprise with every built-in attribute set to an ordinary value; tests override what they check.
func enterprise(
    taxpayerType: TaxpayerType? = .general, industryCode: String? = "C13", employees: Int? = 100,
    annualSales: Double? = 5_000_000, taxableIncome: Double? = 1_000_000, totalAssets: Double? = 10_000_000,
    creditRating: CreditRating? = .a, highTech: Bool? = false, registeredOn: LocalDate? = LocalDate(iso: "2020-06-01"),
    region: String? = "南山", custom: [String: String] = [:]
) -> Enterprise {
    Enterprise(
        creditCode: "91440300MA5DXXXX0X", name: "测试企业", taxpayerType: taxpayerType, industryCode: industryCode,
        region: region, registeredOn: registeredOn, employees: employees, annualSales: annualSales,
        taxableIncome: taxableIncome, totalAssets: totalAssets, creditRating: creditRating, highTech: highTech,
        custom: custom)
}

/// The package root, found from this file's path (Tests/RulesTests/TestSupport.swift).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

func randomEnterprise(_ g: inout SplitMix64) -> Enterprise {
    func maybe<T>(_ value: T) -> T? { Int.random(in: 0..<8, using: &g) == 0 ? nil : value }
    let industries = ["C13", "C16", "C39", "F51", "G52", "H61", "I65", "K70", "L72", "M73", "N77", "R90", "D44", "A01"]
    var custom: [String: String] = [:]
    if Bool.random(using: &g) { custom["export_share"] = String(Double(Int.random(in: 0...10, using: &g)) / 10) }
    if Bool.random(using: &g) { custom["zone"] = ["前海", "蛇口", "bad"].randomElement(using: &g)! }
    if Bool.random(using: &g) { custom["listed"] = ["yes", "no", "maybe"].randomElement(using: &g)! }
    return enterprise(
        taxpayerType: maybe(TaxpayerType.allCases.randomElement(using: &g)!),
        industryCode: maybe(industries.randomElement(using: &g)!),
        employees: maybe([0, 299, 300, 301, 1000].randomElement(using: &g)!),
        annualSales: maybe([0, 1_199_999, 1_200_000, 1_200_001, 9_000_000].randomElement(using: &g)!),
        taxableIncome: maybe([-5, 0, 1, 2_000_000, 3_000_000, 3_000_001].randomElement(using: &g)!),
        totalAssets: maybe([0, 50_000_000, 50_000_001].randomElement(using: &g)!),
        creditRating: maybe(CreditRating.allCases.randomElement(using: &g)!),
        highTech: maybe(Bool.random(using: &g)),
        registeredOn: maybe(LocalDate(daysSinceEpoch: Int32.random(in: 17_000...20_000, using: &g))),
        region: maybe(["南山", "福田"].randomElement(using: &g)!), custom: custom)
}
