import Testing

@testable import Registry

struct EnterpriseValidatorTests {
    static let today = LocalDate(year: 2026, month: 6, day: 1)!

    private func validator(custom: [String: AttributeType] = [:]) -> EnterpriseValidator {
        EnterpriseValidator(schema: AttributeSchema(custom: custom), today: Self.today, file: "in.csv")
    }

    private func diagnostics(_ outcome: EnterpriseValidator.Outcome) -> [Diagnostic] {
        if case .rejected(let diagnostics, _) = outcome { return diagnostics }
        return []
    }

    @Test func acceptsAFullRecordAndNormalises() {
        var v = validator()
        let outcome = v.validate(
            [
                "credit_code": " 91350100m000100y43 ", "name": "  北京华盛科技有限公司\u{3000}", "taxpayer_type": "General",
                "industry_code": "c1311", "region": "望京街道", "registered_on": "2015-03-02", "employees": "12",
                "annual_sales": "1200000.50", "taxable_income": "-3000", "total_assets": "0", "credit_rating": "a",
                "high_tech": "是", "sms_opt_out": "", "wechat_opt_out": "1", "mobile": "+86 138-1234-5678",
                "wechat_openid": "o6_bmjrPTlm6_2sgVt7hMZOPfL2M", "export_share": "0.4",
            ], line: 2)
        let expected = Enterprise(
            creditCode: "91350100M000100Y43", name: "北京华盛科技有限公司", taxpayerType: .general, industryCode: "C1311",
            region: "望京街道", registeredOn: LocalDate(year: 2015, month: 3, day: 2), employees: 12,
            annualSales: 1_200_000.5, taxableIncome: -3000, totalAssets: 0, creditRating: .a, highTech: true,
            mobile: "13812345678", wechatOpenID: "o6_bmjrPTlm6_2sgVt7hMZOPfL2M", smsOptOut: false,
            wechatOptOut: true, custom: ["export_share": "0.4"])
        #expect(outcome == .accepted(expected))
    }

    @Test func emptyOptionalValuesAreMissing() {
        var v = validator()
        guard
            case .accepted(let e) = v.validate(
                [
                    "credit_code": "91350100M000100Y43", "name": "x", "high_tech": "", "sms_opt_out": " ",
                    "employees": "",
                ],
                line: 2)
        else {
            Issue.record("rejected")
            return
        }
        #expect(e.highTech == nil)
        #expect(e.smsOptOut == false)
        #expect(e.employees == nil)
    }

    @Test func messagesNameLineColumnAndField() {
        var v = validator()
        let columns = ["credit_code": 1, "name": 2, "employees": 3, "registered_on": 4, "mobile": 5]
        let found = diagnostics(
            v.validate(
                [
                    "credit_code": "91350100M000100Y44", "name": "", "employees": "-1", "registered_on": "2026-06-02",
                    "mobile": "12345",
                ], line: 9, columns: columns))
        #expect(
            found == [
                Diagnostic(
                    file: "in.csv", line: 9, column: 1, field: "credit_code", message: "check digit should be 3"),
                Diagnostic(file: "in.csv", line: 9, column: 2, field: "name", message: "is required"),
                Diagnostic(
                    file: "in.csv", line: 9, column: 3, field: "employees",
                    message: "'-1' is not a non-negative integer"),
                Diagnostic(
                    file: "in.csv", line: 9, column: 4, field: "registered_on",
                    message: "2026-06-02 is in the future (today is 2026-06-01)"),
                Diagnostic(
                    file: "in.csv", line: 9, column: 5, field: "mobile",
                    message: "is not a mainland mobile number (11 digits starting 13-19)"),
            ])
    }

    @Test(arguments: [
        ("taxpayer_type", "vat"), ("industry_code", "U12"), ("industry_code", "C123456"), ("industry_code", "13"),
        ("registered_on", "2020-02-30"), ("registered_on", "2020/01/01"), ("employees", "1.5"),
        ("annual_sales", "-1"), ("annual_sales", "1e6"), ("annual_sales", "1,000"), ("total_assets", "abc"),
        ("taxable_income", "--5"), ("credit_rating", "AA"), ("high_tech", "maybe"), ("sms_opt_out", "2"),
        ("wechat_openid", "bad id!"), ("wechat_openid", String(repeating: "a", count: 65)),
    ])
    func rejectsBadValues(field: String, value: String) {
        var v = validator()
        let found = diagnostics(
            v.validate(["credit_code": "91350100M000100Y43", "name": "x", field: value], line: 2))
        #expect(found.count == 1)
        #expect(found.first?.field == field)
        #expect(found.first?.line == 2)
    }

    @Test func reportsDuplicateCreditCodesWithTheFirstLine() {
        var v = validator()
        #expect(diagnostics(v.validate(["credit_code": "91350100M000100Y43", "name": "a"], line: 2)).isEmpty)
        #expect(diagnostics(v.validate(["credit_code": "91110108769361569N", "name": "b"], line: 3)).isEmpty)
        let found = diagnostics(
            v.validate(["credit_code": "91350100m000100y43", "name": "c"], line: 5, columns: ["credit_code": 1]))
        #expect(
            found == [
                Diagnostic(
                    file: "in.csv", line: 5, column: 1, field: "credit_code",
                    message: "duplicate credit_code, first on line 2")
            ])
    }

    @Test func checksDeclaredCustomAttributes() {
        var v = validator(custom: ["export_share": .number, "certified": .bool, "audited_on": .date])
        let found = diagnostics(
            v.validate(
                [
                    "credit_code": "91350100M000100Y43", "name": "x", "export_share": "40%", "certified": "yes",
                    "audited_on": "2024-13-01", "free_text": "anything",
                ], line: 4))
        #expect(found.map(\.field) == ["audited_on", "export_share"])
        #expect(found.first?.message == "'2024-13-01' is not a valid date YYYY-MM-DD")
    }

    @Test func requiresCreditCodeAndName() {
        var v = validator()
        let found = diagnostics(v.validate(["region": "望京街道"], line: 3))
        #expect(found.map(\.field) == ["credit_code", "name"])
        #expect(found.allSatisfy { $0.message == "is required" && $0.column == nil })
    }

    @Test func acceptsChineseTaxpayerTypes() {
        #expect(EnterpriseValidator.taxpayerType("小规模纳税人") == .smallScale)
        #expect(EnterpriseValidator.taxpayerType("SMALL_SCALE") == .smallScale)
        #expect(EnterpriseValidator.taxpayerType("个体工商户") == .individual)
    }

    // MARK: Numbers out of range

    @Test(arguments: [
        ("employees", "99999999999999999999"), ("employees", "9223372036854775807"), ("employees", "10000001"),
        ("annual_sales", String(repeating: "9", count: 400)),
        ("total_assets", "1" + String(repeating: "0", count: 308)),
        ("taxable_income", "-" + String(repeating: "9", count: 400)), ("annual_sales", "1000000000000000.5"),
        ("export_share", String(repeating: "9", count: 400)),
    ])
    func numbersOutOfRangeAreRowErrors(field: String, value: String) {
        var v = validator(custom: ["export_share": .number])
        let found = diagnostics(
            v.validate(["credit_code": "91350100M000100Y43", "name": "x", field: value], line: 7, columns: [field: 3]))
        #expect(found.count == 1)
        #expect(found.first?.field == field && found.first?.line == 7 && found.first?.column == 3)
        #expect(found.first?.message.contains("is out of range") == true, "\(found)")
        #expect((found.first?.message.count ?? 0) < 120, "one bad cell must not flood the report")
    }

    @Test(arguments: [
        ("employees", "10000000"), ("annual_sales", "1000000000000000"), ("taxable_income", "-1000000000000000"),
    ])
    func numbersAtTheLimitAreAccepted(field: String, value: String) {
        var v = validator()
        #expect(
            diagnostics(v.validate(["credit_code": "91350100M000100Y43", "name": "x", field: value], line: 2)).isEmpty)
    }

    @Test(arguments: ["99999-01-01", "+2020-01-01", "2020-1-01", "0000-01-01"])
    func impossibleDatesAreRowErrors(value: String) {
        var v = validator()
        let found = diagnostics(
            v.validate(["credit_code": "91350100M000100Y43", "name": "x", "registered_on": value], line: 2))
        #expect(found.map(\.field) == ["registered_on"])
    }
}
