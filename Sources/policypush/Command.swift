import Config
import Daemon
import Foundation

/// One subcommand: parses and validates its arguments in `init`, then runs.
protocol Command: Sendable {
    static var spec: CommandSpec { get }
    init(_ arguments: ParsedArguments) throws(UsageError)
    /// - Returns: the exit code (0 success, 1 failure).
    func run(_ context: Context) async throws -> Int32
}

/// Shared state of one CLI invocation: the config file and lazily loaded configuration.
final class Context {
    let configFile: String?

    init(configFile: String?) { self.configFile = configFile }

    lazy var configurationResult: Result<Configuration, Error> = Result {
        try Configuration.load(file: configFile ?? Configuration.defaultFile())
    }

    func configuration() throws -> Configuration { try configurationResult.get() }
}

/// A failure to report on stderr with exit code 1 (not a usage error).
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

enum Output {
    static func out(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func err(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    static func json(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let data = try encoder.encode(value)
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }
}
