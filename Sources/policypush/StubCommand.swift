import Daemon
import Delivery
import Foundation
import GatewayStub
import Ops

/// Runs one stub gateway until SIGTERM or SIGINT.
struct StubCommand: Command {
    static let spec = CommandSpec(
        path: ["stub"],
        summary: "Run a stub gateway imitating Aliyun, Tencent, WeChat or a generic JSON gateway.",
        options: [.option("--kind", "KIND", "aliyun, tencent, wechat or generic (required); see below for the rest.")],
        discussion: StubGateway.optionsHelp,
        passesOptionsThrough: true)

    let configuration: StubConfiguration

    init(_ arguments: ParsedArguments) throws(UsageError) {
        do {
            configuration = try StubGateway.parseOptions(arguments.raw)
        } catch {
            throw arguments.usageError("\(error)")
        }
    }

    func run(_ context: Context) async throws -> Int32 {
        let signals = UnixSignals([SIGTERM, SIGINT])
        let transport = CurlTransport(configuration: .init())
        let stub = StubGateway(configuration: configuration, pushClient: transport)
        let port = try stub.start()
        Output.out("stub \(configuration.kind.rawValue) listening on 127.0.0.1:\(port)")
        let signo = await signals.next() ?? SIGTERM
        await stub.stop()
        await transport.shutdown()
        let stats = stub.stats
        Output.err(
            "stub \(configuration.kind.rawValue) stopped by signal \(signo): received \(stats.received), "
                + "accepted \(stats.accepted), deduplicated \(stats.deduplicated), "
                + "dropped after accept \(stats.droppedAfterAccept), "
                + "duplicate deliveries \(stats.duplicateDeliveries?.count ?? 0), receipts pushed \(stats.receiptsPushed)"
        )
        return 0
    }
}
