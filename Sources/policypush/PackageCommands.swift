import Foundation
import Landing
import Planning
import Registry
import Rules
import Storage

/// `package show CODE [--campaign ID] --html FILE`: the package page an enterprise would see.
struct PackageShowCommand: Command {
    static let spec = CommandSpec(
        path: ["package", "show"],
        summary: "Write the package page an enterprise would see, as HTML.",
        arguments: ["CODE"],
        options: [
            .option("--campaign", "ID", "The campaign's policies and date (default: every policy in force today)."),
            .option("--html", "FILE", "Where to write the page."),
            .flag("--link", "Print the link to the page its message in --campaign carries (stdout)."),
        ],
        discussion: """
            The page lists the policies the enterprise qualifies for, by priority, with summary,
            办理指引 and official link; with --campaign, the policies its message in that campaign
            carried, as the daemon serves them. Written atomically, never over the store. At least
            one of --html and --link.
            """)

    let code: String
    let campaign: Int64?
    let html: String?
    let link: Bool

    init(_ arguments: ParsedArguments) throws(UsageError) {
        code = arguments.positionals[0].uppercased()
        if let text = arguments.value("--campaign") {
            guard let id = Int64(text), id > 0 else {
                throw arguments.usageError("--campaign expects a campaign id (a positive integer), got '\(text)'")
            }
            campaign = id
        } else {
            campaign = nil
        }
        html = arguments.value("--html")
        link = arguments.flag("--link")
        if html?.isEmpty == true { throw arguments.usageError("--html expects a file name") }
        guard html != nil || link else { throw arguments.usageError("--html FILE or --link is required") }
        if link, campaign == nil { throw arguments.usageError("--link needs --campaign ID: links belong to campaigns") }
    }

    func run(_ context: Context) async throws -> Int32 {
        let configuration = try context.configuration()
        let workspace = Workspace(configuration: configuration)
        let (catalog, diagnostics) = workspace.loadPolicies()
        if !diagnostics.isEmpty {
            for diagnostic in diagnostics { Output.err("error: \(diagnostic)") }
            throw CommandFailure("the policy profiles have errors; run 'policypush policies check'")
        }
        let store = try workspace.openStore(readOnly: true)
        guard let enterprise = try store.enterprise(creditCode: code) else {
            throw CommandFailure("no enterprise with credit code \(code) in \(workspace.storeDescription)")
        }
        var date = workspace.today()
        var policies: [PolicyProfile]
        if let campaign {
            let record = try CampaignSupport.campaign(campaign, in: store)
            guard let campaignDate = LocalDate(iso: record.spec.campaignDate) else {
                throw CommandFailure("campaign \(campaign) has an unreadable date '\(record.spec.campaignDate)'")
            }
            date = campaignDate
            // What the link serves: the policies its message carried (de-duplication may have left
            // some out); without a message, what the enterprise qualifies for in the campaign.
            let token = try workspace.linkTokens().token(campaign: campaign, creditCode: code)
            if let target = try store.linkTarget(token: token), target.creditCode == code {
                policies = catalog.profiles(ids: target.policyIDs)
                if link {
                    let templates = try workspace.loadTemplates()
                    Output.out(templates.package.link.replacingOccurrences(of: "{token}", with: token))
                }
            } else {
                if link { throw CommandFailure("no message to \(code) in campaign \(campaign) carries a link") }
                Output.err("no message to \(code) in campaign \(campaign) names a page: showing what it qualifies for")
                policies = catalog.package(for: enterprise, on: date, among: record.spec.policyIDs)
            }
        } else {
            policies = catalog.package(for: enterprise, on: date)
        }
        guard let html else { return 0 }
        let bureau = try? workspace.loadTemplates().sms.signature
        let page = PackagePage(bureau: bureau).render(enterprise: enterprise, policies: policies, date: date)
        try OutputFile.write(page, to: html, configuration: configuration)
        Output.err(
            "wrote \(html): \(policies.count) \(policies.count == 1 ? "policy" : "policies"), \(page.utf8.count) bytes")
        return 0
    }
}
