import Foundation
import Registry
import Testing

@testable import Rules

/// Limits that keep hostile or runaway rules from exhausting the stack or the CPU.
@Suite struct RuleParserTests {
    /// `RuleParser.maxDepth`, spelled out: the error message promises it.
    let limit = 64

    @Test func nestingUpToTheLimitCompiles() throws {
        let depth = limit
        let parenthesised = String(repeating: "(", count: depth) + "high_tech" + String(repeating: ")", count: depth)
        #expect(try rule(parenthesised).matches(enterprise(highTech: true)))
        let negated = String(repeating: "not ", count: depth) + "high_tech"
        #expect(try rule(negated).matches(enterprise(highTech: true)) == depth.isMultiple(of: 2))
        let mixed =
            String(repeating: "not (", count: depth / 2) + "high_tech" + String(repeating: ")", count: depth / 2)
        #expect(try rule(mixed).matches(enterprise(highTech: false)) == !(depth / 2).isMultiple(of: 2))
    }

    /// 20,000 `(` used to overflow the parser's stack and kill the process.
    @Test func deepParenthesesAreRefusedAtTheFirstLevelTooMany() throws {
        let source = String(repeating: "(", count: 20_000) + "high_tech" + String(repeating: ")", count: 20_000)
        let error = try #require(ruleError(source))
        #expect(error.line == 1 && error.column == limit + 1, "\(error)")
        #expect(error.message == "rule nests deeper than 64 levels of parentheses and 'not'")
    }

    /// 20,000 chained `not` used to take minutes: every `not` node copied the source text after it.
    @Test func longNotChainsAreRefusedQuickly() throws {
        let source = String(repeating: "not ", count: 20_000) + "high_tech"
        let clock = ContinuousClock()
        var error: RuleError?
        let elapsed = clock.measure { error = ruleError(source) }
        #expect(elapsed < .milliseconds(500), "took \(elapsed)")
        let refused = try #require(error)
        // The 65th `not` starts at column 4 * 64 + 1.
        #expect(refused.line == 1 && refused.column == 4 * limit + 1, "\(refused)")
        #expect(refused.message.contains("nests deeper than 64 levels"))
    }

    /// The did-you-mean hint measured a 200,000-letter identifier against every attribute: 20 s.
    @Test func hugeUnknownAttributeIsRefusedQuickly() throws {
        let source = String(repeating: "x", count: 200_000) + " == 1"
        let clock = ContinuousClock()
        var error: RuleError?
        let elapsed = clock.measure { error = ruleError(source) }
        #expect(elapsed < .milliseconds(500), "took \(elapsed)")
        #expect(error?.message.hasPrefix("unknown attribute 'xxx") == true)
        #expect(error?.message.contains("did you mean") == false)
        #expect(ruleError("employes > 5")?.message.contains("did you mean 'employees'?") == true)
    }

    /// Every node keeps its text: nested 63 deep around 5,000 clauses, collapsing each node's span
    /// anew took seconds.
    @Test func deepNodesAroundAWideRuleCompileQuickly() throws {
        let wide = Array(repeating: "employees > 1", count: 5_000).joined(separator: " or ")
        let source = String(repeating: "not ", count: limit - 1) + "(" + wide + ")"
        let clock = ContinuousClock()
        var compiled: CompiledRule?
        let elapsed = clock.measure { compiled = try? rule(source) }
        #expect(elapsed < .milliseconds(500), "took \(elapsed)")
        #expect(compiled?.matches(enterprise(employees: 5)) == false)
    }

    @Test func nodeTextsCollapseWhitespaceOutsideStrings() throws {
        let source = "  not  (zone == \"a  b\\\"  c\"\n  or\thigh_tech)  and\n\n employees >  1 "
        let root = try rule(source).explain(enterprise()).root
        #expect(root.text == #"not (zone == "a  b\"  c" or high_tech) and employees > 1"#)
        #expect(root.children.map(\.text) == [#"not (zone == "a  b\"  c" or high_tech)"#, "employees > 1"])
        let or = try #require(root.children.first?.children.first)
        #expect(or.text == #"zone == "a  b\"  c" or high_tech"#)
        #expect(or.children.map(\.text) == [#"zone == "a  b\"  c""#, "high_tech"])
    }

    @Test func depthCountsOnlyOpenLevels() throws {
        // Many sibling groups at a shallow depth are fine: the limit is on nesting, not on count.
        let groups = Array(repeating: "(not (employees > 1))", count: 500).joined(separator: " or ")
        #expect(try rule(groups).matches(enterprise(employees: 1)))
    }

    @Test func tooDeepRuleIsReportedAtItsFilePosition() throws {
        let when = String(repeating: "(", count: 100) + "high_tech" + String(repeating: ")", count: 100)
        let file = """
            {
              id: "deep",
              when: "\(when)",
            }
            """
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try file.write(toFile: "\(directory)/deep.json5", atomically: true, encoding: .utf8)
        let (catalog, diagnostics) = PolicyCatalog.load(directory: directory, schema: schema)
        #expect(catalog.entries.isEmpty)
        let diagnostic = try #require(diagnostics.first)
        // `  when: "` is 9 columns; the 65th `(` is the 65th character of the string.
        #expect(diagnostic.line == 3 && diagnostic.column == 9 + 65 && diagnostic.field == "when", "\(diagnostic)")
        #expect(
            diagnostic.description.hasSuffix(
                "deep.json5:3:74: when: rule nests deeper than 64 levels of parentheses and 'not'"))
    }
}
