import Foundation
import Registry
import Testing

@testable import Rules

/// The shipped profiles in `config/policies`, on enterprises at, just below and just above each threshold.
@Suite struct DefaultPoliciesTests {
    static let catalog: PolicyCatalog = {
        let (catalog, diagnostics) = PolicyCatalog.load(
            directory: "\(packageRoot)/config/policies", schema: AttributeSchema())
        precondition(diagnostics.isEmpty, "\(diagnostics)")
        return catalog
    }()

    func matches(_ id: String, _ e: Enterprise) throws -> Bool {
        try #require(Self.catalog.entry(id: id)).rule.matches(e)
    }

    @Test func allLoadWithoutDiagnostics() throws {
        let (catalog, diagnostics) = PolicyCatalog.load(
            directory: "\(packageRoot)/config/policies", schema: AttributeSchema())
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        #expect(
            Set(catalog.entries.map(\.profile.id)) == [
                "small_low_profit", "vat_small_scale_exemption", "vat_small_scale_1pct", "six_taxes_two_fees",
                "individual_iit_half", "rd_super_deduction", "advanced_manufacturing_vat_credit", "high_tech_15pct",
                "vat_credit_refund",
            ])
        for entry in catalog.entries {
            #expect(entry.profile.shortTitle.count <= 10, "\(entry.profile.id)")
            #expect(!entry.profile.basis.isEmpty && entry.profile.officialLink != nil && entry.profile.notes != nil)
            #expect(entry.profile.isActive(on: date("2025-06-30")), "\(entry.profile.id)")
        }
        #expect(catalog.entry(id: "rd_super_deduction")?.profile.effectiveTo == nil)
        #expect(catalog.entry(id: "small_low_profit")?.profile.effectiveTo == date("2027-12-31"))
    }

    /// Every shipped policy can be put in a campaign: it says what it means, how to claim it and
    /// where the announcement is, within the limits the loader enforces.
    @Test func allCarryASummaryAGuideAndAnOfficialLink() throws {
        let ids = Self.catalog.entries.map(\.profile.id)
        #expect(Self.catalog.guidanceProblems(ids: ids).isEmpty, "\(Self.catalog.guidanceProblems(ids: ids))")
        for entry in Self.catalog.entries {
            let p = entry.profile
            let summary = try #require(p.summary, "\(p.id)")
            let lines = summary.split(separator: "\n", omittingEmptySubsequences: false)
            #expect((1...2).contains(lines.count) && lines.allSatisfy { !$0.isEmpty && $0.count <= 80 }, "\(p.id)")
            #expect((2...6).contains(p.guide.count), "\(p.id)")
            #expect(p.guide.allSatisfy { !$0.isEmpty && $0.count <= 120 && !$0.contains("\n") }, "\(p.id)")
            let link = try #require(p.officialLink.flatMap(URLComponents.init(string:)), "\(p.id)")
            #expect(link.scheme == "https" && link.host?.hasSuffix(".chinatax.gov.cn") == true, "\(p.id)")
            // The landing page of the policy library is not an announcement.
            #expect(link.path != "/" && !link.path.isEmpty, "\(p.id)")
        }
    }

    /// A general-taxpayer small, low-profit enterprise that qualifies exactly at every threshold.
    func smallLowProfit(
        taxpayerType: TaxpayerType? = .general, employees: Int? = 300, taxableIncome: Double? = 3_000_000,
        totalAssets: Double? = 50_000_000
    ) -> Enterprise {
        enterprise(
            taxpayerType: taxpayerType, employees: employees, taxableIncome: taxableIncome, totalAssets: totalAssets)
    }

    @Test func smallLowProfitThresholds() throws {
        #expect(try matches("small_low_profit", smallLowProfit()))
        #expect(
            try matches(
                "small_low_profit",
                smallLowProfit(
                    taxpayerType: .smallScale, employees: 299,
                    taxableIncome: 2_999_999, totalAssets: 49_999_999)))
        #expect(try !matches("small_low_profit", smallLowProfit(taxableIncome: 3_000_001)))
        #expect(try !matches("small_low_profit", smallLowProfit(employees: 301)))
        #expect(try !matches("small_low_profit", smallLowProfit(totalAssets: 50_000_001)))
        // A loss this year or last does not unmake a small, low-profit enterprise.
        #expect(try matches("small_low_profit", smallLowProfit(taxableIncome: 0)))
        #expect(try matches("small_low_profit", smallLowProfit(taxableIncome: -50_000)))
        #expect(try !matches("small_low_profit", smallLowProfit(taxpayerType: .individual)))
        // Only a known excess excludes: missing figures are sent to.
        #expect(try matches("small_low_profit", smallLowProfit(employees: nil)))
        #expect(
            try matches("small_low_profit", smallLowProfit(taxpayerType: nil, taxableIncome: nil, totalAssets: nil)))
    }

    @Test func smallScaleVAT() throws {
        #expect(try matches("vat_small_scale_exemption", enterprise(taxpayerType: .smallScale, annualSales: 1_200_000)))
        #expect(try matches("vat_small_scale_exemption", enterprise(taxpayerType: .smallScale, annualSales: 1_199_999)))
        // The test is monthly; a high annual figure does not rule out a month under 100,000.
        #expect(try matches("vat_small_scale_exemption", enterprise(taxpayerType: .smallScale, annualSales: 4_800_000)))
        #expect(try !matches("vat_small_scale_exemption", enterprise(taxpayerType: .general, annualSales: 100)))
        #expect(try matches("vat_small_scale_exemption", enterprise(taxpayerType: .smallScale, annualSales: nil)))
        #expect(try matches("vat_small_scale_exemption", enterprise(taxpayerType: .individual)))
        #expect(try matches("vat_small_scale_1pct", enterprise(taxpayerType: .smallScale, annualSales: 9_000_000)))
        #expect(try matches("vat_small_scale_1pct", enterprise(taxpayerType: .individual)))
        #expect(try !matches("vat_small_scale_1pct", enterprise(taxpayerType: .general)))
        #expect(try !matches("vat_small_scale_1pct", enterprise(taxpayerType: nil)))
    }

    @Test func sixTaxesTwoFees() throws {
        #expect(try matches("six_taxes_two_fees", enterprise(taxpayerType: .smallScale, employees: 5_000)))
        #expect(try matches("six_taxes_two_fees", enterprise(taxpayerType: .individual, employees: nil)))
        #expect(try matches("six_taxes_two_fees", smallLowProfit()))
        #expect(try matches("six_taxes_two_fees", smallLowProfit(taxableIncome: -10)))  // a loss still counts
        #expect(try !matches("six_taxes_two_fees", smallLowProfit(taxableIncome: 3_000_001)))
        #expect(try !matches("six_taxes_two_fees", smallLowProfit(employees: 301)))
        #expect(try !matches("six_taxes_two_fees", smallLowProfit(totalAssets: 50_000_001)))
        #expect(try matches("six_taxes_two_fees", smallLowProfit(employees: 299, totalAssets: 49_999_999)))
        #expect(try matches("six_taxes_two_fees", smallLowProfit(employees: nil)))
    }

    @Test func individualIncomeTaxHalf() throws {
        #expect(try matches("individual_iit_half", enterprise(taxpayerType: .individual, taxableIncome: 2_000_000)))
        #expect(try matches("individual_iit_half", enterprise(taxpayerType: .individual, taxableIncome: 2_000_001)))
        #expect(try matches("individual_iit_half", enterprise(taxpayerType: .individual, taxableIncome: 1)))
        // Last year's nil income says nothing about this year's.
        #expect(try matches("individual_iit_half", enterprise(taxpayerType: .individual, taxableIncome: 0)))
        #expect(try !matches("individual_iit_half", enterprise(taxpayerType: .smallScale, taxableIncome: 100)))
    }

    @Test(arguments: [
        ("C13", true), ("C15", true), ("C16", false), ("C161", false), ("H61", false), ("F51", false), ("K70", false),
        ("L72", false), ("R90", false), ("R86", true), ("I65", true), ("M73", true),
    ])
    func researchSuperDeduction(industry: String, expected: Bool) throws {
        #expect(
            try matches("rd_super_deduction", enterprise(taxpayerType: .general, industryCode: industry)) == expected)
        // VAT status says nothing about how corporate income tax is collected.
        #expect(
            try matches("rd_super_deduction", enterprise(taxpayerType: .smallScale, industryCode: industry)) == expected
        )
        #expect(try !matches("rd_super_deduction", enterprise(taxpayerType: .individual, industryCode: industry)))
    }

    /// Only a known excluded industry excludes.
    @Test func researchSuperDeductionWithoutAnIndustryCode() throws {
        #expect(try matches("rd_super_deduction", enterprise(taxpayerType: .general, industryCode: nil)))
    }

    @Test func highTechPolicies() throws {
        let manufacturer = enterprise(taxpayerType: .general, industryCode: "C39", highTech: true)
        #expect(try matches("advanced_manufacturing_vat_credit", manufacturer))
        #expect(try matches("high_tech_15pct", manufacturer))
        #expect(try !matches("advanced_manufacturing_vat_credit", enterprise(industryCode: "I65", highTech: true)))
        #expect(try matches("high_tech_15pct", enterprise(industryCode: "I65", highTech: true)))
        #expect(try !matches("advanced_manufacturing_vat_credit", enterprise(industryCode: "C39", highTech: false)))
        #expect(try !matches("high_tech_15pct", enterprise(highTech: nil)))
        // The 15% rate follows the certificate, not VAT status.
        #expect(try matches("high_tech_15pct", enterprise(taxpayerType: .smallScale, highTech: true)))
        #expect(try !matches("high_tech_15pct", enterprise(taxpayerType: .individual, highTech: true)))
        #expect(
            try !matches(
                "advanced_manufacturing_vat_credit",
                enterprise(taxpayerType: .smallScale, industryCode: "C39", highTech: true)))
    }

    @Test(arguments: [
        ("C13", CreditRating.a, true), ("M73", .b, true), ("D44", .a, true), ("I65", .a, true), ("I64", .a, false),
        ("N77", .b, true), ("N78", .b, false), ("G54", .a, true), ("F51", .a, true), ("H61", .b, true),
        ("R86", .a, true), ("K70", .a, false), ("C13", .m, false), ("C13", .c, false),
    ])
    func creditRefund(industry: String, rating: CreditRating, expected: Bool) throws {
        // A large enterprise: only the industries of announcements 2022/14 and 2022/21 qualify.
        let e = enterprise(
            taxpayerType: .general, industryCode: industry, employees: 500, annualSales: 90_000_000,
            creditRating: rating)
        #expect(try matches("vat_credit_refund", e) == expected)
    }

    /// Small and micro enterprises qualify in every industry; a missing size is not a known large one.
    @Test func creditRefundForSmallEnterprisesInAnyIndustry() throws {
        func realEstate(employees: Int?, sales: Double?) -> Enterprise {
            enterprise(
                taxpayerType: .general, industryCode: "K70", employees: employees, annualSales: sales, creditRating: .a)
        }
        #expect(try matches("vat_credit_refund", realEstate(employees: 40, sales: 90_000_000)))
        #expect(try matches("vat_credit_refund", realEstate(employees: 500, sales: 59_999_999)))
        #expect(try matches("vat_credit_refund", realEstate(employees: nil, sales: nil)))
        #expect(try !matches("vat_credit_refund", realEstate(employees: 300, sales: 60_000_000)))
        #expect(
            try !matches(
                "vat_credit_refund",
                enterprise(taxpayerType: .smallScale, industryCode: "C13", employees: 5, creditRating: .a)))
    }

    @Test func explainNamesTheFailingThreshold() throws {
        let rule = try #require(Self.catalog.entry(id: "small_low_profit")).rule
        let explanation = rule.explain(smallLowProfit(employees: 301))
        let failed = explanation.root.children.filter { !$0.held }
        #expect(failed.map(\.text) == ["not (employees > 300)"])
        #expect(failed.first?.children.first?.actual == "301")
    }
}
