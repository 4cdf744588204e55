import Daemon
import Foundation
import Messaging
import Planning
import Registry
import Rules

struct PoliciesCheckCommand: Command {
    static let spec = CommandSpec(
        path: ["policies", "check"],
        summary: "Validate every policy profile and template; list the policies and their validity windows.",
        options: [.option("--on", "DATE", "Mark policies active or inactive on this date (default: today).")],
        discussion: """
            A policy in force on the date must have a summary, a guide and an official_link, since a
            campaign may announce it; one missing is an error.
            """)

    let date: LocalDate?

    init(_ arguments: ParsedArguments) throws(UsageError) {
        date = try parseDate(arguments, "--on")
    }

    func run(_ context: Context) async throws -> Int32 {
        let workspace = Workspace(configuration: try context.configuration())
        let on = date ?? workspace.today()
        let (catalog, loadDiagnostics) = workspace.loadPolicies()
        // A policy in force may be put in a campaign, so it needs its summary, guide and link now.
        let active = catalog.entries.filter { $0.profile.isActive(on: on) }.map(\.profile.id)
        var diagnostics = loadDiagnostics + catalog.guidanceProblems(ids: active)
        do {
            _ = try workspace.loadTemplates()
        } catch let error as TemplateError {
            diagnostics += error.diagnostics
        }
        let failed = !diagnostics.isEmpty
        for diagnostic in diagnostics { Output.err("error: \(diagnostic)") }
        Output.out("Policies in \(workspace.configuration.policiesDirectory) (on \(on)):")
        let idWidth = catalog.entries.map(\.profile.id.count).max() ?? 0
        for entry in catalog.entries {
            let p = entry.profile
            let window = "\(p.effectiveFrom?.description ?? "…") .. \(p.effectiveTo?.description ?? "…")"
            let state = p.isActive(on: on) ? "active  " : "inactive"
            Output.out(
                "  \(p.id.padding(toLength: idWidth, withPad: " ", startingAt: 0))  \(state)  \(window.padding(toLength: 24, withPad: " ", startingAt: 0))  \(("p" + String(p.priority)).padding(toLength: 5, withPad: " ", startingAt: 0)) \(p.title)"
            )
        }
        Output.out(
            failed
                ? "\(diagnostics.count) problem(s) found; fix them before starting a campaign."
                : "\(catalog.entries.count) policies and the templates in \(workspace.configuration.templatesDirectory) are valid."
        )
        return failed ? 1 : 0
    }
}

struct ExplainCommand: Command {
    static let spec = CommandSpec(
        path: ["policies", "explain"],
        summary: "Show why an enterprise does or does not qualify for each policy, clause by clause.",
        arguments: ["CODE"],
        options: [
            .option("--policy", "ID", "Only this policy."),
            .option("--on", "DATE", "Campaign date for validity windows (default: today)."),
            .flag("--json", "Print as JSON."),
        ])

    let code: String
    let policy: String?
    let date: LocalDate?
    let json: Bool

    init(_ arguments: ParsedArguments) throws(UsageError) {
        code = arguments.positionals[0].uppercased()
        policy = arguments.value("--policy")
        date = try parseDate(arguments, "--on")
        json = arguments.flag("--json")
    }

    struct Answer: Encodable {
        var policy: String
        var title: String
        var active: Bool
        var matched: Bool
        var explanation: RuleExplanation
    }

    func run(_ context: Context) async throws -> Int32 {
        let workspace = Workspace(configuration: try context.configuration())
        let on = date ?? workspace.today()
        let (catalog, diagnostics) = workspace.loadPolicies()
        for diagnostic in diagnostics { Output.err("warning: \(diagnostic)") }
        let store = try workspace.openStore(readOnly: true)
        guard let enterprise = try store.enterprise(creditCode: code) else {
            throw CommandFailure("no enterprise with credit code \(code) in \(workspace.storeDescription)")
        }
        var entries = catalog.entries
        if let policy {
            guard let entry = catalog.entry(id: policy) else {
                throw CommandFailure(
                    "no policy '\(policy)'; known: \(catalog.entries.map(\.profile.id).joined(separator: ", "))")
            }
            entries = [entry]
        }
        let answers = entries.map { entry in
            let explanation = entry.rule.explain(enterprise)
            let active = entry.profile.isActive(on: on)
            return Answer(
                policy: entry.profile.id, title: entry.profile.title, active: active,
                matched: explanation.matched && active, explanation: explanation)
        }
        if json {
            struct Report: Encodable {
                var creditCode: String
                var name: String
                var date: String
                var policies: [Answer]
            }
            try Output.json(
                Report(
                    creditCode: enterprise.creditCode, name: enterprise.name, date: on.description, policies: answers))
            return 0
        }
        // The name as imported, with control and bidi characters shown rather than obeyed.
        Output.out("\(enterprise.creditCode) \(RegistryText.escaped(enterprise.name)) — on \(on)")
        for answer in answers {
            let verdict =
                answer.matched
                ? "QUALIFIES"
                : (answer.explanation.matched ? "qualifies, but the policy is not in force" : "does not qualify")
            Output.out("")
            Output.out("\(answer.policy) \(answer.title): \(verdict)")
            print(answer.explanation.root, indent: "  ")
        }
        Output.out("")
        Output.out("Legend: [x] held  [ ] did not hold  [?] value missing (the clause is false)")
        return 0
    }

    private func print(_ node: RuleExplanation.Node, indent: String) {
        let mark = node.missing ? "[?]" : (node.held ? "[x]" : "[ ]")
        switch node.kind {
        case "clause":
            let actual = node.missing ? "missing" : (node.actual ?? "")
            Output.out("\(indent)\(mark) \(node.text)    (\(node.attribute ?? "value") = \(actual))")
        default:
            Output.out("\(indent)\(mark) \(node.kind)")
            for child in node.children { print(child, indent: indent + "    ") }
        }
    }
}

func parseDate(_ arguments: ParsedArguments, _ name: String) throws(UsageError) -> LocalDate? {
    guard let text = arguments.value(name) else { return nil }
    guard let date = LocalDate(iso: text) else {
        throw arguments.usageError("\(name) expects a date YYYY-MM-DD, got '\(text)'")
    }
    return date
}
