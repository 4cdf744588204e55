import Kit
import Registry
import Testing

@testable import Rules

@Suite struct RuleEvaluatorTests {
    /// Rules that exercise every operator and every column kind, missing values included.
    static let sources = [
        "employees == 300", "employees != 300", "employees < 300", "employees <= 300", "employees > 300",
        "employees >= 300", "employees in [0, 301]", "employees not in [0, 301]",
        "taxable_income > 0 and taxable_income <= 3_000_000", "annual_sales != 1_200_000",
        "taxpayer_type == \"general\"", "taxpayer_type != \"general\"", "credit_rating in [\"A\", \"B\"]",
        "credit_rating not in [\"A\", \"B\"]", "industry_code startswith \"C\"", "not industry_code startswith \"C1\"",
        "industry_code == \"no such code\"", "industry_code != \"no such code\"",
        "high_tech", "not high_tech", "high_tech == false", "high_tech != false", "high_tech in [false]",
        "high_tech not in [false]",
        "registered_on >= 2020-01-01", "registered_on < 2020-01-01", "registered_on != 2020-01-01",
        "registered_on == 2020-01-01", "registered_on not in [2020-01-01, 2021-06-30]",
        "registered_on <= 2021-06-30",
        "export_share >= 0.5", "export_share != 0.5", "zone == \"前海\"", "zone not in [\"蛇口\"]", "listed",
        "not listed", "listed != true",
        "taxpayer_type == \"small_scale\" or (taxpayer_type == \"general\" and employees <= 300 and not high_tech)",
        "not (employees > 300 or credit_rating == \"D\") and industry_code startswith \"C\"",
        "employees > 100000 and taxpayer_type == \"general\"",
    ]

    @Test func columnarAgreesWithRowWise() throws {
        var generator = SplitMix64(seed: 42)
        // Not a multiple of 64, so the tail word is exercised.
        let enterprises = (0..<4_001).map { _ in randomEnterprise(&generator) }
        let rules = try Self.sources.map { try rule($0) }
        let columns = EnterpriseColumns(schema: schema, enterprises: enterprises)
        let results = RuleEvaluator(rules: rules).evaluate(columns)
        #expect(results.count == rules.count)
        for (r, compiled) in rules.enumerated() {
            #expect(results[r].count == enterprises.count)
            var disagreements = 0
            for (i, e) in enterprises.enumerated() where results[r][i] != compiled.matches(e) {
                disagreements += 1
            }
            #expect(disagreements == 0, "\(compiled.source)")
            #expect(results[r].popcount == enterprises.filter(compiled.matches).count)
        }
    }

    @Test func columnsWithAnotherSchemaTreatAbsentAttributesAsMissing() throws {
        let rules = [try rule("export_share >= 0.5"), try rule("not listed"), try rule("employees > 1")]
        let columns = EnterpriseColumns(schema: AttributeSchema(), enterprises: [enterprise(), enterprise()])
        let results = RuleEvaluator(rules: rules).evaluate(columns)
        #expect(results.map(\.popcount) == [0, 2, 2])
    }

    @Test func emptyColumns() throws {
        let results = RuleEvaluator(rules: [try rule("employees > 1")]).evaluate(EnterpriseColumns(schema: schema))
        #expect(results.count == 1 && results[0].count == 0)
    }

    @Test func concurrentCallsShareOneEvaluator() async throws {
        var generator = SplitMix64(seed: 7)
        let columns = EnterpriseColumns(
            schema: schema, enterprises: (0..<1_000).map { _ in randomEnterprise(&generator) })
        let evaluator = RuleEvaluator(rules: try Self.sources.map { try rule($0) })
        let expected = evaluator.evaluate(columns)
        try await withThrowingTaskGroup(of: [Bitset].self) { group in
            for _ in 0..<4 { group.addTask { evaluator.evaluate(columns) } }
            for try await result in group { #expect(result == expected) }
        }
    }
}
