// The rule language and the policy profiles that carry it.

import Registry
import Rules

private let schema = AttributeSchema(
    custom: ["export_share": .number, "founded": .date, "zone": .string, "listed": .bool])

/// Enterprises with values present, absent and odd, so compiled rules are evaluated both ways.
private let enterprises: [Enterprise] = [
    Enterprise(
        creditCode: "91440300MA5DXXXX0X", name: "测试企业", taxpayerType: .general, industryCode: "C13",
        region: "南山", registeredOn: LocalDate(iso: "2020-06-01"), employees: 100, annualSales: 5_000_000,
        taxableIncome: 1_000_000, totalAssets: 10_000_000, creditRating: .a, highTech: true,
        custom: ["export_share": "0.5", "founded": "2019-01-02", "zone": "前海", "listed": "true"]),
    Enterprise(creditCode: "92110105839391334N", name: "朝阳区达源餐馆", taxpayerType: .individual),
    Enterprise(
        creditCode: "9111010557878266X5", name: "", taxpayerType: .smallScale, employees: 0, annualSales: .nan,
        taxableIncome: -1, totalAssets: .infinity, highTech: false,
        custom: ["export_share": "x", "founded": "2019-13-40"]),
]
private let columns = EnterpriseColumns(schema: schema, enterprises: enterprises)

/// A `when` rule: lexed, parsed, type-checked; when it compiles, evaluated row by row, explained
/// and evaluated over columns.
func fuzzRule(_ bytes: [UInt8]) {
    guard let rule = try? CompiledRule(source: String(decoding: bytes, as: UTF8.self), schema: schema) else { return }
    for enterprise in enterprises {
        _ = rule.matches(enterprise)
        _ = rule.explain(enterprise)
    }
    _ = RuleEvaluator(rules: [rule, rule]).evaluate(columns)
}

/// A policy profile file (JSON5, one profile or an array), loaded as `policies/` is.
func fuzzPolicy(_ bytes: [UInt8]) {
    writeScratch("policy.json5", bytes)
    let (catalog, diagnostics) = PolicyCatalog.load(directory: scratch, schema: schema)
    for diagnostic in diagnostics { _ = diagnostic.description }
    for entry in catalog.entries {
        for enterprise in enterprises { _ = entry.rule.explain(enterprise) }
    }
}
