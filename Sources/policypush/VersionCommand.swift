struct VersionCommand: Command {
    static let spec = CommandSpec(path: ["version"], summary: "Print the version.")
    init(_ arguments: ParsedArguments) throws(UsageError) {}
    func run(_ context: Context) async throws -> Int32 {
        Output.out("policypush \(version)")
        return 0
    }
}
