import Foundation

/// A command-line option as shown in help and accepted by the parser.
struct OptionSpec {
    var name: String
    /// Placeholder for the option's value (`FILE`); `nil` for a flag.
    var value: String?
    var help: String

    static func flag(_ name: String, _ help: String) -> OptionSpec { OptionSpec(name: name, value: nil, help: help) }
    static func option(_ name: String, _ value: String, _ help: String) -> OptionSpec {
        OptionSpec(name: name, value: value, help: help)
    }
}

/// The shape of one subcommand: its words, arguments, options and help.
struct CommandSpec {
    var path: [String]
    var summary: String
    /// Positional arguments as shown in the usage line, e.g. `FILE`.
    var arguments: [String] = []
    var options: [OptionSpec] = []
    var discussion: String = ""
    /// Options are not checked here but handed to the command as they are (`policypush stub`).
    var passesOptionsThrough = false

    var usage: String {
        var line = "policypush " + path.joined(separator: " ")
        for argument in arguments { line += " " + argument }
        if !options.isEmpty { line += " [options]" }
        return line
    }

    var help: String {
        var text = "\(summary)\n\nUsage: \(usage)\n"
        if !options.isEmpty {
            text += "\nOptions:\n"
            let all = options + [.flag("--help", "Show this help.")]
            let width = all.map { $0.name.count + ($0.value.map { $0.count + 1 } ?? 0) }.max() ?? 0
            for option in all {
                let left = option.name + (option.value.map { " " + $0 } ?? "")
                text += "  " + left.padding(toLength: width + 2, withPad: " ", startingAt: 0) + option.help + "\n"
            }
        }
        if !discussion.isEmpty { text += "\n" + discussion + "\n" }
        return text
    }
}

/// A usage mistake: exit code 64 with the usage line.
struct UsageError: Error {
    var message: String
    var usage: String
}

/// Parsed arguments of one subcommand, checked against its spec.
struct ParsedArguments {
    var positionals: [String] = []
    /// The arguments as given, for commands that parse them themselves.
    let raw: [String]
    private var values: [String: String] = [:]
    private var flags: Set<String> = []
    let spec: CommandSpec

    /// Parses `--name value`, `--name=value`, flags, and positionals (`--` ends options).
    init(_ arguments: [String], spec: CommandSpec) throws(UsageError) {
        self.spec = spec
        raw = arguments
        if spec.passesOptionsThrough { return }
        var i = 0
        var onlyPositionals = false
        while i < arguments.count {
            let argument = arguments[i]
            i += 1
            if onlyPositionals || !argument.hasPrefix("-") || argument == "-" {
                positionals.append(argument)
                continue
            }
            if argument == "--" {
                onlyPositionals = true
                continue
            }
            var name = argument
            var inline: String?
            if let eq = argument.firstIndex(of: "=") {
                name = String(argument[..<eq])
                inline = String(argument[argument.index(after: eq)...])
            }
            guard let option = spec.options.first(where: { $0.name == name }) else {
                throw UsageError(message: "unknown option '\(name)'", usage: spec.usage)
            }
            if option.value == nil {
                if inline != nil { throw UsageError(message: "option '\(name)' takes no value", usage: spec.usage) }
                flags.insert(name)
            } else if let inline {
                values[name] = inline
            } else {
                guard i < arguments.count else {
                    throw UsageError(message: "option '\(name)' needs a value (\(option.value!))", usage: spec.usage)
                }
                values[name] = arguments[i]
                i += 1
            }
        }
        if positionals.count > spec.arguments.filter({ !$0.hasPrefix("[") }).count,
            positionals.count > spec.arguments.count
        {
            throw UsageError(message: "unexpected argument '\(positionals[spec.arguments.count])'", usage: spec.usage)
        }
        let required = spec.arguments.filter { !$0.hasPrefix("[") }.count
        if positionals.count < required {
            throw UsageError(message: "missing argument \(spec.arguments[positionals.count])", usage: spec.usage)
        }
    }

    func flag(_ name: String) -> Bool { flags.contains(name) }

    func value(_ name: String) -> String? { values[name] }

    func usageError(_ message: String) -> UsageError { UsageError(message: message, usage: spec.usage) }

    /// An integer option within a range.
    func int(_ name: String, default fallback: Int? = nil, in range: ClosedRange<Int>) throws(UsageError) -> Int? {
        guard let text = values[name] else { return fallback }
        guard let n = Int(text.replacingOccurrences(of: "_", with: "")), range.contains(n) else {
            throw usageError("\(name) expects an integer in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
        }
        return n
    }

    /// A comma-separated list option.
    func list(_ name: String) -> [String]? {
        values[name].map {
            $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
    }
}
