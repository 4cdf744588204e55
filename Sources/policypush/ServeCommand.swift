import Config
import Daemon
import Foundation

/// The daemon: `policypush serve`, usually under systemd (Type=notify).
struct ServeCommand: Command {
    static let spec = CommandSpec(
        path: ["serve"],
        summary: "Run the daemon: plan campaigns, dispatch the outbox, take receipts, serve /metrics and /healthz.",
        discussion: """
            Stops on SIGTERM or SIGINT after the sends in flight finish (daemon.grace_s); SIGHUP reloads
            the config, policies and templates (a bad reload keeps the old ones). Under systemd it
            reports READY, STATUS, WATCHDOG and STOPPING. Logs go to stderr, one key=value line per event.
            """)

    init(_ arguments: ParsedArguments) throws(UsageError) {}

    func run(_ context: Context) async throws -> Int32 {
        let daemon = try Daemon(configurationFile: context.configFile ?? Configuration.defaultFile())
        return try await daemon.run()
    }
}
