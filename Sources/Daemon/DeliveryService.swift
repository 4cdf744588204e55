import Config
import Delivery
import Foundation
import Kit
import Ops
import Planning
import Registry
import Storage

/// The configured gateways, ready to send: one libcurl transport, an adapter and a
/// `GatewayDispatcher` per gateway, and a `ChannelRouter` per channel.
public final class DeliveryService: Sendable {
    public struct Gateway: Sendable {
        public let settings: GatewaySettings
        public let adapter: any GatewayAdapter
        public let dispatcher: GatewayDispatcher
    }

    public let transport: CurlTransport
    public let gateways: [String: Gateway]
    public let routers: [Channel: ChannelRouter]
    /// The gateways of each channel, in failover order (a gateway may serve both channels).
    public let channelGateways: [Channel: [String]]
    /// Provider query APIs by gateway name, for the gateways that have one (Aliyun, Tencent).
    public let lookups: [String: ProviderLookup]

    /// - Throws: `ConfigurationError` for a gateway that cannot be built (options, credentials).
    ///
    /// - Parameter now: wall-clock time for the dispatchers' pauses, daily caps and recipient windows.
    public init(
        configuration: Configuration, environment: [String: String] = ProcessInfo.processInfo.environment,
        now: @escaping @Sendable () -> Date = Date.init
    ) throws {
        // Every gateway is checked (options, credentials) before the transport's thread starts,
        // so a bad configuration leaves nothing running.
        var problems: [String] = []
        for settings in configuration.gateways {
            do {
                _ = try GatewayFactory.build(settings, client: NoClient(), environment: environment)
            } catch let error as ConfigurationError {
                problems += error.problems
            }
        }
        if !problems.isEmpty { throw ConfigurationError(file: configuration.file ?? "(defaults)", problems: problems) }

        var transportConfiguration = configuration.transport
        let maxInFlight = configuration.gateways.reduce(0) { $0 + $1.maxInFlight }
        transportConfiguration.maxConnections = max(transportConfiguration.maxConnections, maxInFlight)
        transport = CurlTransport(configuration: transportConfiguration)
        var gateways: [String: Gateway] = [:]
        var lookups: [String: ProviderLookup] = [:]
        for settings in configuration.gateways {
            let built = try GatewayFactory.build(settings, client: transport, environment: environment)
            let dispatcher = GatewayDispatcher(
                configuration: Self.dispatchConfiguration(settings, timeZone: configuration.timeZone),
                sender: AdapterSender(adapter: built.adapter, client: transport), now: now)
            gateways[settings.name] = Gateway(settings: settings, adapter: built.adapter, dispatcher: dispatcher)
            lookups[settings.name] = ProviderLookup.make(settings, credentials: built.credentials, client: transport)
        }
        self.gateways = gateways
        self.lookups = lookups
        var routers: [Channel: ChannelRouter] = [:]
        for (channel, names) in configuration.channelGateways {
            let members = names.compactMap { gateways[$0] }.map {
                ChannelRouter.Member($0.dispatcher, weight: $0.settings.weight)
            }
            if !members.isEmpty { routers[channel] = ChannelRouter(channel: channel.rawValue, members: members) }
        }
        self.routers = routers
        self.channelGateways = configuration.channelGateways
    }

    /// Sends one message through a named gateway, with its throttles and breaker.
    public func send(_ message: OutboundMessage, gateway name: String) async -> DispatchResult? {
        guard let gateway = gateways[name] else { return nil }
        return await gateway.dispatcher.send(
            message, recipientKeys: Self.recipientKeys(message, kind: gateway.settings.kind))
    }

    /// Takes this node's share of every gateway's rate and burst when `nodes` live nodes share the
    /// provider accounts (``GatewayDispatcher/setShare(nodes:)``); the daemon calls it whenever
    /// the live node count changes. 1 (or less) takes the whole rate.
    public func share(nodes: Int) async {
        for gateway in gateways.values { await gateway.dispatcher.setShare(nodes: nodes) }
    }

    /// Ends the transport; pending requests fail as cancelled.
    public func shutdown() async {
        await transport.shutdown()
    }

    /// The provider's own per-recipient frequency limits, counted by these keys.
    static func recipientKeys(_ message: OutboundMessage, kind: GatewayKind) -> [String] {
        switch kind {
        case .aliyun:
            [RecipientLimits.key(scope: "aliyun", message.signName ?? "", message.templateID ?? "", message.recipient)]
        case .tencent:
            [
                RecipientLimits.key(
                    scope: "tencent", message.recipient, message.params.map(\.value).joined(separator: "\u{1E}"))
            ]
        case .wechat, .generic:
            []
        }
    }

    /// The gateway's daily cap and recipient windows for an admission at `at`, as the store counts
    /// them across nodes (``SendBudget``): the same limits the dispatcher counts for its own sends.
    static func budget(
        _ configuration: GatewayDispatcher.Configuration, recipientKeys: [String], at: Date
    ) -> SendBudget {
        let limits = RecipientLimits(windows: configuration.recipientWindows)
        let windows = recipientKeys.flatMap { key in
            limits.applicable(to: key).map { SendBudget.Window(key: key, limit: $0.limit, period: $0.period.seconds) }
        }
        let day = DailyCap(limit: 0, timeZone: configuration.timeZone).bounds(of: at)
        return SendBudget(
            gateway: configuration.name, dailyCap: configuration.dailyCap, dayStart: day.start, dayEnd: day.end,
            windows: windows)
    }

    static func dispatchConfiguration(_ g: GatewaySettings, timeZone: TimeZone) -> GatewayDispatcher.Configuration {
        let unlimited = g.rate == 0
        // Rates below 1/s are expressed per minute so the bucket keeps integer arithmetic.
        let perMinute = !unlimited && g.rate < 1
        let windows: [RecipientLimits.Window] =
            g.recipientLimits
            ?? {
                switch g.kind {
                case .aliyun: RecipientLimits.aliyunNotification
                case .tencent: RecipientLimits.tencentSameContent
                case .wechat, .generic: []
                }
            }()
        // Unlimited is a rate no sender reaches. The burst stays small: the token bucket keeps one
        // timestamp per burst token and copies them on every check, so a huge burst costs time
        // on every send; 1,024 tokens at 10^9/s still refill in a microsecond.
        return GatewayDispatcher.Configuration(
            name: g.name,
            rate: unlimited ? 1_000_000_000 : Int((perMinute ? g.rate * 60 : g.rate).rounded()),
            ratePeriod: perMinute ? .seconds(60) : .seconds(1),
            burst: unlimited ? 1024 : g.burst,
            dailyCap: g.dailyCap > 0 ? g.dailyCap : nil,
            timeZone: timeZone,
            maxInFlight: g.maxInFlight,
            breaker: g.breaker,
            recipientWindows: windows,
            retry: g.retry)
    }
}

/// Bridges a gateway adapter to the dispatcher's sender protocol.
struct AdapterSender: MessageSender {
    let adapter: any GatewayAdapter
    let client: any HTTPClient

    nonisolated(nonsending) func send(_ message: OutboundMessage) async -> DeliveryOutcome {
        await adapter.send(message, using: client)
    }
}

/// Stands in for the transport while gateway settings are only being checked; never sends.
private struct NoClient: HTTPClient {
    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        throw TransportError(code: .cancelled)
    }
}
