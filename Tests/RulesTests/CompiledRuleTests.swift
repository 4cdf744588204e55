import Registry
import Testing

@testable import Rules

@Suite struct CompiledRuleTests {
    @Test(arguments: [
        ("employees == 100", true), ("employees != 100", false), ("employees < 101", true), ("employees < 100", false),
        ("employees <= 100", true), ("employees <= 99", false), ("employees > 99", true), ("employees > 100", false),
        ("employees >= 100", true), ("employees >= 101", false),
        ("annual_sales <= 5_000_000", true), ("annual_sales < 4_999_999.5", false), ("taxable_income > -3", true),
        ("taxpayer_type == \"general\"", true), ("taxpayer_type != \"general\"", false),
        ("industry_code startswith \"C\"", true), ("industry_code startswith \"C1\"", true),
        ("industry_code startswith \"C16\"", false),
        ("credit_rating in [\"A\", \"B\"]", true), ("credit_rating not in [\"A\", \"B\"]", false),
        ("credit_rating in [\"M\"]", false), ("credit_rating not in [\"M\", \"C\"]", true),
        ("employees in [1, 100]", true), ("employees not in [1, 100]", false),
        ("registered_on >= 2020-01-01", true), ("registered_on < 2020-06-01", false),
        ("registered_on == 2020-06-01", true), ("registered_on in [2020-06-01, 2021-01-01]", true),
        ("high_tech", false), ("not high_tech", true), ("high_tech == false", true), ("high_tech != true", true),
        ("100 == employees", true), ("99 < employees", true), ("100 < employees", false),
        ("2021-01-01 > registered_on", true),
    ])
    func operators(source: String, expected: Bool) throws {
        #expect(try rule(source).matches(enterprise()) == expected, "\(source)")
    }

    @Test func precedenceAndParentheses() throws {
        let e = enterprise()  // general, employees 100, high_tech false
        // `and` binds tighter than `or`.
        #expect(try rule("employees == 1 and employees == 2 or taxpayer_type == \"general\"").matches(e))
        #expect(try !rule("employees == 1 and (employees == 2 or taxpayer_type == \"general\")").matches(e))
        // `not` binds tighter than `and`, comparisons tighter than `not`.
        #expect(try rule("not high_tech and employees == 100").matches(e))
        #expect(try !rule("not (high_tech or employees == 100)").matches(e))
        #expect(try rule("not employees == 5").matches(e))
        #expect(try rule("not not employees == 100").matches(e))
        #expect(try rule("((employees == 100))").matches(e))
    }

    @Test func multiLineRulesAndStrings() throws {
        let r = try rule("region == \"南山\"\n  and zone == \"a \\\"quoted\\\" \\\\ zone\"")
        #expect(r.matches(enterprise(custom: ["zone": "a \"quoted\" \\ zone"])))
        #expect(!r.matches(enterprise(custom: ["zone": "a"])))
    }

    @Test func customAttributes() throws {
        let r = try rule("export_share >= 0.5 and founded < 2000-01-01 and listed")
        #expect(r.matches(enterprise(custom: ["export_share": "0.5", "founded": "1999-12-31", "listed": "是"])))
        #expect(!r.matches(enterprise(custom: ["export_share": "0.4", "founded": "1999-12-31", "listed": "yes"])))
        #expect(!r.matches(enterprise(custom: ["export_share": "abc", "founded": "1999-12-31", "listed": "yes"])))
    }

    @Test(arguments: [
        "employees == 1", "employees != 1", "employees < 1", "employees > 1", "employees in [1]",
        "employees not in [1]",
        "taxpayer_type == \"general\"", "taxpayer_type != \"general\"", "taxpayer_type in [\"general\"]",
        "taxpayer_type not in [\"general\"]", "taxpayer_type startswith \"g\"", "high_tech", "high_tech == false",
        "high_tech != true", "registered_on != 2020-01-01", "registered_on < 2020-01-01",
        "registered_on not in [2020-01-01]",
    ])
    func missingValuesAreFalse(source: String) throws {
        let e = enterprise(
            taxpayerType: nil, employees: nil, highTech: nil, registeredOn: nil)
        #expect(try !rule(source).matches(e))
        #expect(try rule("not (\(source))").matches(e))
    }

    @Test func explainReportsEveryClauseWithActualValues() throws {
        let r = try rule("taxpayer_type == \"small_scale\"  and\n annual_sales   <= 1_200_000 and not high_tech")
        let explanation = r.explain(enterprise(taxpayerType: .smallScale, annualSales: 1_500_000, highTech: nil))
        #expect(!explanation.matched)
        #expect(explanation.root.kind == "and")
        #expect(
            explanation.root.text == "taxpayer_type == \"small_scale\" and annual_sales <= 1_200_000 and not high_tech")
        let clauses = explanation.root.children
        #expect(clauses.count == 3)
        #expect(clauses[0].text == "taxpayer_type == \"small_scale\"")
        #expect(clauses[0].actual == "\"small_scale\"")
        #expect(clauses[0].held)
        #expect(clauses[1].text == "annual_sales <= 1_200_000")
        #expect(clauses[1].attribute == "annual_sales")
        #expect(clauses[1].actual == "1500000")
        #expect(!clauses[1].held)
        #expect(clauses[2].kind == "not")
        #expect(clauses[2].held)
        let missing = clauses[2].children[0]
        #expect(missing.kind == "clause" && missing.missing && missing.actual == nil && !missing.held)
    }

    @Test func explainRendersDatesAndFractions() throws {
        let r = try rule("registered_on >= 2020-01-01 or export_share > 0.25")
        let explanation = r.explain(enterprise(registeredOn: date("2019-03-01"), custom: ["export_share": "0.5"]))
        #expect(explanation.matched)
        #expect(explanation.root.children.map(\.actual) == ["2019-03-01", "0.5"])
        #expect(explanation.root.children.map(\.held) == [false, true])
    }

    @Test(arguments: [
        ("employes > 5", 1, 1, "unknown attribute 'employes'; did you mean 'employees'?"),
        ("employees > 5 and\n  industry_code == 5", 2, 20, "type mismatch: industry_code is string, 5 is number"),
        ("credit_rating < \"B\"", 1, 15, "'<' needs a number or date; credit_rating is string"),
        ("high_tech == 1", 1, 14, "type mismatch: high_tech is bool, 1 is number"),
        ("credit_rating >= 5", 1, 15, "'>=' needs a number or date; credit_rating is string"),
        ("\"B\" > credit_rating", 1, 5, "'>' needs a number or date; credit_rating is string"),
        ("employees in [1, \"a\"]", 1, 18, "type mismatch: employees is number, \"a\" is string"),
        ("employees startswith \"1\"", 1, 11, "startswith needs a string attribute; employees is number"),
        ("industry_code startswith 5", 1, 26, "type mismatch: industry_code is string, 5 is number"),
        ("registered_on >= 2020-02-30", 1, 18, "invalid date 2020-02-30"),
        ("employees", 1, 1, "employees is number; only a bool attribute can stand alone as a clause"),
        ("xyz", 1, 1, "unknown attribute 'xyz'"),
        ("employees == employees", 1, 14, "the right side must be a literal"),
        ("employees in []", 1, 14, "empty list"),
    ])
    func typeErrorsAndUnknownAttributes(source: String, line: Int, column: Int, message: String) {
        let error = ruleError(source)
        #expect(error?.line == line, "\(source): \(String(describing: error))")
        #expect(error?.column == column, "\(source): \(String(describing: error))")
        #expect(error?.message.contains(message) == true, "\(source): \(String(describing: error))")
    }

    @Test(arguments: [
        ("region == \"南山", 1, 11, "unterminated string"),
        ("employees > 5 and", 1, 15, "expected a clause after 'and'"),
        ("employees > 5 or\n", 1, 15, "expected a clause after 'or'"),
        ("employees >", 1, 11, "expected a value after '>'"),
        ("(employees > 5\n and high_tech", 1, 1, "unbalanced '('"),
        ("employees > 5)", 1, 14, "unbalanced ')'"),
        ("employees > 5 high_tech", 1, 15, "expected 'and', 'or' or the end of the rule"),
        ("employees = 5", 1, 11, "use '=='"),
        ("high_tech AND employees > 5", 1, 11, "keywords are lowercase"),
        ("credit_rating in [\"A\"", 1, 18, "unbalanced '['"),
        ("", 1, 1, "empty rule"),
        ("zone == \"a\\n\"", 1, 11, "unknown escape"),
    ])
    func syntaxErrors(source: String, line: Int, column: Int, message: String) {
        let error = ruleError(source)
        #expect(error?.line == line, "\(source): \(String(describing: error))")
        #expect(error?.column == column, "\(source): \(String(describing: error))")
        #expect(error?.message.contains(message) == true, "\(source): \(String(describing: error))")
    }

    @Test func literalsParse() throws {
        #expect(try rule("annual_sales == 3_000_000").matches(enterprise(annualSales: 3_000_000)))
        #expect(try rule("taxable_income == -3").matches(enterprise(taxableIncome: -3)))
        #expect(try rule("export_share == 0.5").matches(enterprise(custom: ["export_share": "0.50"])))
        #expect(ruleError("employees > 3__000") != nil)
        #expect(ruleError("employees > 3_") != nil)
    }
}
