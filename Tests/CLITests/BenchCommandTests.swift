import Foundation
import Testing

/// `policypush bench` on a foreign workload: the given policies and enterprises, not generated ones.
@Suite("policypush bench on a foreign workload")
struct BenchCommandTests {
    /// Two policies and the sample registry: the figures are for exactly those (no synthetic
    /// policies added, no enterprise generated).
    @Test func timesTheGivenPoliciesAndEnterprises() async throws {
        let cli = try CLIHarness()
        let policies = cli.stateDirectory.appendingPathComponent("policies")
        try FileManager.default.createDirectory(at: policies, withIntermediateDirectories: true)
        let shipped = CLIHarness.packageRoot.appendingPathComponent("config/policies")
        for name in ["small_low_profit.json5", "high_tech_15pct.json5"] {
            try FileManager.default.copyItem(
                at: shipped.appendingPathComponent(name), to: policies.appendingPathComponent(name))
        }
        let enterprises = CLIHarness.packageRoot.appendingPathComponent("config/sample-enterprises.csv").path
        let result = try await cli.run(
            "bench", "--enterprises", enterprises, "--policies-dir", policies.path)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("rules: 3000 enterprises x 2 policies"), "\(result.stdout)")
        #expect(result.stdout.contains("preview: 3000 enterprises, 2 policies"), "\(result.stdout)")
        #expect(!result.stdout.contains("import:"), "with a file, --only defaults to rules,preview")
    }

    /// A rejected row refuses the file, named by file, line and field as `enterprises import` names it.
    @Test func aRejectedRowIsNamedByFileLineAndField() async throws {
        let cli = try CLIHarness()
        let sample = try String(
            contentsOf: CLIHarness.packageRoot.appendingPathComponent("config/sample-enterprises.csv"), encoding: .utf8)
        // The sample ends its lines in CRLF, one Character in Swift.
        var lines = sample.split(whereSeparator: \.isNewline).prefix(4).map(String.init)
        try #require(lines.count == 4, "\(sample.prefix(200))")
        lines[2] = "12345" + lines[2].drop { $0 != "," }
        let file = try cli.write("bad.csv", lines.joined(separator: "\n") + "\n")
        let result = try await cli.run("bench", "--enterprises", file)
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(file):3:1: credit_code:"), "\(result.stderr)")
        #expect(result.stderr.contains("1 row(s) rejected"), "\(result.stderr)")
        #expect(!result.stdout.contains("rules:"))
    }
}
