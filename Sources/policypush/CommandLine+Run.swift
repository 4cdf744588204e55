import Foundation

/// Every subcommand, in the order `--help` lists them.
let commands: [any Command.Type] = [
    ImportCommand.self,
    GenerateCommand.self,
    ShowCommand.self,
    PoliciesCheckCommand.self,
    ExplainCommand.self,
    PackageShowCommand.self,
    PreviewCommand.self,
    CampaignStartCommand.self,
    CampaignListCommand.self,
    CampaignStatusCommand.self,
    CampaignWatchCommand.self,
    CampaignPauseCommand.self,
    CampaignResumeCommand.self,
    CampaignCancelCommand.self,
    CampaignApproveCommand.self,
    CampaignRejectCommand.self,
    CampaignReportCommand.self,
    CampaignReconcileCommand.self,
    CampaignRepliesCommand.self,
    CampaignUnreachedCommand.self,
    CampaignEffectCommand.self,
    UptakeImportCommand.self,
    UptakeGenerateCommand.self,
    SuppressionsListCommand.self,
    SuppressionsAddCommand.self,
    SuppressionsRemoveCommand.self,
    AuditListCommand.self,
    AuditVerifyCommand.self,
    BenchCommand.self,
    BenchDispatchCommand.self,
    BenchCampaignCommand.self,
    StubCommand.self,
    SendTestCommand.self,
    ServeCommand.self,
    VersionCommand.self,
]

let version = "0.1.0"

enum Main {
    static let globalOptions: [OptionSpec] = [
        .option(
            "--config", "FILE",
            "Config file (default: $POLICYPUSH_CONFIG, ./config/policypush.json5, /etc/policypush/policypush.json5)."),
        .flag("--help", "Show help; `policypush COMMAND --help` shows a command's options."),
    ]

    static var overview: String {
        var text = """
            policypush \(version): tells every enterprise of a tax district, in one personal message, which
            tax-relief policies it qualifies for, and proves what became of every message.

            Usage: policypush [--config FILE] COMMAND [options]

            Commands:

            """
        let width = commands.map { $0.spec.path.joined(separator: " ").count }.max() ?? 0
        for command in commands {
            let name = command.spec.path.joined(separator: " ")
            text += "  " + name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + command.spec.summary + "\n"
        }
        text += "\nGlobal options:\n"
        for option in globalOptions {
            let left = option.name + (option.value.map { " " + $0 } ?? "")
            text += "  " + left.padding(toLength: 16, withPad: " ", startingAt: 0) + option.help + "\n"
        }
        return text
    }

    static func usageFailure(_ message: String, usage: String) -> Int32 {
        Output.err("error: \(message)")
        Output.err("Usage: \(usage)")
        Output.err("See 'policypush --help'.")
        return 64
    }

    static func run(_ arguments: [String]) async -> Int32 {
        var arguments = arguments
        var configFile: String?
        // Global options come before the command words.
        while let first = arguments.first, first.hasPrefix("-") {
            arguments.removeFirst()
            if first == "--help" || first == "-h" {
                Output.out(overview)
                return 0
            } else if first == "--version" {
                Output.out("policypush \(version)")
                return 0
            } else if first == "--config" {
                guard !arguments.isEmpty else {
                    return usageFailure(
                        "option '--config' needs a value (FILE)", usage: "policypush [--config FILE] COMMAND")
                }
                configFile = arguments.removeFirst()
            } else if first.hasPrefix("--config=") {
                configFile = String(first.dropFirst("--config=".count))
            } else {
                return usageFailure("unknown option '\(first)'", usage: "policypush [--config FILE] COMMAND [options]")
            }
        }
        guard let word = arguments.first else {
            Output.err(overview)
            return 64
        }
        // The longest command path that prefixes the arguments.
        let match =
            commands
            .filter { arguments.starts(with: $0.spec.path) }
            .max { $0.spec.path.count < $1.spec.path.count }
        guard let command = match else {
            let group = commands.filter { $0.spec.path.first == word }
            if !group.isEmpty {
                let rest = arguments.dropFirst()
                if rest.isEmpty || rest.first == "--help" || rest.first == "-h" {
                    let names = group.map { "  " + $0.spec.path.joined(separator: " ") + " — " + $0.spec.summary }
                    let text = "Commands of '\(word)':\n" + names.joined(separator: "\n")
                    if rest.isEmpty {
                        Output.err(text)
                        return 64
                    }
                    Output.out(text)
                    return 0
                }
                return usageFailure(
                    "unknown command '\(word) \(rest.first!)'",
                    usage:
                        "policypush \(word) \(group.map { $0.spec.path.dropFirst().joined(separator: " ") }.joined(separator: "|")) ..."
                )
            }
            return usageFailure("unknown command '\(word)'", usage: "policypush [--config FILE] COMMAND [options]")
        }
        let rest = Array(arguments.dropFirst(command.spec.path.count))
        if rest.contains("--help") || rest.contains("-h") {
            Output.out(command.spec.help)
            return 0
        }
        let context = Context(configFile: configFile)
        do {
            let parsed = try ParsedArguments(rest, spec: command.spec)
            let instance = try command.init(parsed)
            return try await instance.run(context)
        } catch let error as UsageError {
            return usageFailure(error.message, usage: error.usage)
        } catch {
            Output.err("error: \(error)")
            return 1
        }
    }
}
