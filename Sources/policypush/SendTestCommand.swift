import Daemon
import Delivery
import Foundation
import Kit
import Messaging
import Planning
import Registry
import Rules

/// Sends one policy package through one configured gateway and waits for its receipt.
struct SendTestCommand: Command {
    static let spec = CommandSpec(
        path: ["send-test"],
        summary: "Send one test message through a configured gateway; print the answer and the receipt.",
        options: [
            .option("--gateway", "NAME", "A gateway of the config (required)."),
            .option("--to", "RECIPIENT", "Mobile number (SMS gateways) or openid (WeChat) (required)."),
            .option("--enterprise", "CODE", "Render the package of this registry enterprise (default: a sample one)."),
            .option("--wait", "SECONDS", "How long to wait for the receipt (default 10; 0 = do not wait)."),
        ],
        discussion: """
            The receipt arrives on the receipts listener (receipts.listen in the config) at
            /receipts/<gateway>/<token>; the gateway's receipts.token_file or token_env holds the token.
            """)

    let gateway: String
    let recipient: String
    let enterpriseCode: String?
    let wait: Int

    init(_ arguments: ParsedArguments) throws(UsageError) {
        guard let gateway = arguments.value("--gateway") else { throw arguments.usageError("--gateway is required") }
        guard let to = arguments.value("--to") else { throw arguments.usageError("--to is required") }
        self.gateway = gateway
        recipient = to
        enterpriseCode = arguments.value("--enterprise")
        wait = try arguments.int("--wait", default: 10, in: 0...3600)!
    }

    func run(_ context: Context) async throws -> Int32 {
        let configuration = try context.configuration()
        let workspace = Workspace(configuration: configuration)
        guard let settings = configuration.gateways.first(where: { $0.name == gateway }) else {
            throw CommandFailure(
                "no gateway '\(gateway)'; configured: \(configuration.gateways.map(\.name).joined(separator: ", "))")
        }
        let to: String
        if settings.kind == .wechat {
            to = recipient
        } else {
            guard let mobile = MobileNumber.normalize(recipient) else {
                throw CommandFailure("--to: not a mainland mobile number")
            }
            to = mobile
        }
        let (catalog, diagnostics) = workspace.loadPolicies()
        guard diagnostics.isEmpty else { throw CommandFailure("policy errors; run 'policypush policies check'") }
        let renderer = PackageRenderer(
            templates: try workspace.loadTemplates(), link: try workspace.linkTokens().link(campaign: 0))
        let enterprise =
            try enterpriseCode.map { code in
                guard let e = try workspace.openStore(readOnly: true).enterprise(creditCode: code.uppercased()) else {
                    throw CommandFailure("no enterprise \(code) in the registry")
                }
                return e
            } ?? Self.sampleEnterprise
        let today = workspace.today()
        var policies = catalog.entries.filter { $0.profile.isActive(on: today) && $0.rule.matches(enterprise) }.map(
            \.profile)
        if policies.isEmpty { policies = Array(catalog.entries.prefix(2).map(\.profile)) }

        let id = "test-" + UUID().uuidString.lowercased().prefix(13).replacingOccurrences(of: "-", with: "")
        let message = try MessageBuilder.outbound(
            id: id, recipient: to, enterprise: enterprise, policies: policies, kind: settings.kind, renderer: renderer)
        let service = try DeliveryService(configuration: configuration)
        let receipts = AsyncStream<Receipt>.makeStream(bufferingPolicy: .unbounded)
        var listener: ReceiptListener?
        if wait > 0, configuration.receiptsListen != nil {
            let listenerConfiguration = try DeliveryService.receiptListenerConfiguration(
                configuration, environment: ProcessInfo.processInfo.environment)
            if listenerConfiguration.gateways[gateway] != nil {
                let l = ReceiptListener(configuration: listenerConfiguration) { batch in
                    for receipt in batch { receipts.continuation.yield(receipt) }
                }
                try l.start()
                listener = l
            }
        }
        // Only a backstop for early exits: the normal path drains the listener below.
        defer { listener?.stop() }

        Output.out(
            "sending \(id) through \(gateway) (\(settings.kind.rawValue)) to \(settings.kind == .wechat ? Mask.openID(to) : Mask.mobile(to)): \(policies.count) policies"
        )
        let started = ContinuousClock.now
        guard let result = await service.send(message, gateway: gateway) else {
            throw CommandFailure("no gateway \(gateway)")
        }
        Output.out("answer after \(Self.format(ContinuousClock.now - started)): \(Self.describe(result.outcome))")
        var status: Int32 = 0
        if case .accepted(let providerID) = result.outcome {
            if let listener {
                Output.out("waiting up to \(wait) s for the receipt on port \(listener.port)…")
                let receipt = await Self.first(receipts.stream, within: .seconds(wait)) {
                    $0.messageID == id || ($0.providerID != nil && $0.providerID == providerID)
                }
                if let receipt {
                    Output.out("receipt after \(Self.format(ContinuousClock.now - started)): \(receipt)")
                } else {
                    Output.out("no receipt within \(wait) s")
                }
                // The consumer hands the receipt over before the listener answers its push. Let that
                // answer be written first, then close: closing at once could cut the push off, and the
                // provider would count it as failed and push again.
                await listener.stop(draining: Self.pushAnswerGrace)
            } else if wait > 0 {
                Output.out(
                    "no receipts listener for \(gateway) (set receipts.listen and gateways.\(gateway).receipts.token_file)"
                )
            }
        } else {
            status = 1
        }
        await service.shutdown()
        return status
    }

    /// How long closing the receipts listener waits for the answers to pushes already received
    /// (the providers' push timeouts are 5 s and more).
    static let pushAnswerGrace: Duration = .seconds(5)

    static let sampleEnterprise = Enterprise(
        creditCode: "91350100M000100Y43", name: "示例科技有限公司", taxpayerType: .smallScale, industryCode: "I65",
        region: "示例街道", employees: 12, annualSales: 800_000, taxableIncome: 120_000, totalAssets: 2_000_000,
        creditRating: .b, highTech: false)

    static func describe(_ outcome: DeliveryOutcome) -> String {
        switch outcome {
        case .accepted(let id): "accepted, provider id \(id ?? "(none)")"
        case .retry(let after, let reason): "retry (\(reason))" + (after.map { " not before \($0)" } ?? "")
        case .deferred(let until, let reason): "deferred until \(until) (\(reason))"
        case .pauseGateway(let reason, let kind, let until):
            "gateway paused: \(kind.rawValue) (\(reason))" + (until.map { " until \($0)" } ?? "")
        case .failed(let reason, let fallback):
            "failed permanently (\(reason))" + (fallback ? ", SMS fallback allowed" : "")
        case .ambiguous(let reason): "ambiguous: sent, no answer (\(reason))"
        }
    }

    static func format(_ d: Duration) -> String {
        String(format: "%.0f ms", d.seconds * 1000)
    }

    /// The first element matching `predicate` within `timeout`, or nil.
    static func first<T: Sendable>(
        _ stream: AsyncStream<T>, within timeout: Duration, where predicate: @escaping @Sendable (T) -> Bool
    ) async -> T? {
        await withTaskGroup(of: T?.self) { group in
            group.addTask {
                for await element in stream where predicate(element) { return element }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}
