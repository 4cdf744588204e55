import Config
import Delivery
import Foundation
import HTTPServer
import Kit
import Messaging
import Ops
import Planning
import Registry
import Rules
import Storage
import Synchronization

/// `policypush serve`: opens the store (one daemon per store), recovers from a crash, and runs its
/// services in one ``ServiceGroup`` — the receipts listener, campaign control, the planner, the
/// outbox dispatcher, reconciliation and housekeeping — until SIGTERM or SIGINT; SIGHUP reloads.
///
/// Wall time is injected (`now`), so a test can run the daemon in process through quiet hours,
/// expiry and reconciliation with a clock of its own.
public final class Daemon: Sendable {
    let configurationFile: String?
    let environment: [String: String]
    let log: Log
    let notifier: SystemdNotifier
    let metrics = DaemonMetrics()
    /// Whether the store takes writes: `/healthz`, STATUS and the dispatcher's claims follow it.
    let health = StoreHealth()
    /// How many nodes share the store; 1 unless it is shared (``NodeMembership``).
    let nodes = LiveNodes()
    let now: @Sendable () -> Date
    private let current: InputsBox

    public init(
        configurationFile: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
        now: @escaping @Sendable () -> Date = Date.init
    ) throws {
        self.configurationFile = configurationFile
        self.environment = environment
        self.now = now
        log = Log(environment: environment)
        notifier = SystemdNotifier(environment: environment)
        current = InputsBox(try Self.loadInputs(configurationFile, environment: environment))
    }

    static func loadInputs(_ file: String?, environment: [String: String]) throws -> DaemonContext.Inputs {
        let configuration = try Configuration.load(file: file, environment: environment)
        let workspace = Workspace(configuration: configuration)
        let (catalog, diagnostics) = workspace.loadPolicies()
        if !diagnostics.isEmpty {
            throw ConfigurationError(file: configuration.policiesDirectory, problems: diagnostics.map(\.description))
        }
        return DaemonContext.Inputs(
            configuration: configuration, catalog: catalog,
            renderer: PackageRenderer(templates: try workspace.loadTemplates()), linkTokens: try workspace.linkTokens())
    }

    /// Runs until SIGTERM/SIGINT; returns the exit code.
    public func run() async throws -> Int32 {
        try await run(signals: UnixSignals([SIGTERM, SIGINT, SIGHUP]))
    }

    /// Runs until a stop signal arrives on `signals` (SIGHUP there reloads); returns the exit code.
    ///
    /// - Parameter ready: called with the listener's port once the daemon serves.
    public func run<Signals: AsyncSequence & Sendable>(
        signals: Signals, ready: @escaping @Sendable (Int?) -> Void = { _ in }
    ) async throws -> Int32 where Signals.Element == Int32 {
        let configuration = current.value.withLock { $0.configuration }
        let location = configuration.storeLocation
        let shared = Store.isShared(url: location)
        try FileManager.default.createDirectory(atPath: configuration.stateDirectory, withIntermediateDirectories: true)
        // One daemon per SQLite store, taken before anything touches it: a second daemon would recover
        // this one's sends in flight. A PostgreSQL store is shared by several daemons on purpose.
        var lock: StoreLock?
        if !shared {
            try FileManager.default.createDirectory(
                atPath: (configuration.storePath as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true)
            lock = try StoreLock(storePath: configuration.storePath)
        }
        defer { withExtendedLifetime(lock) {} }
        try DaemonPresence.write(stateDirectory: configuration.stateDirectory)
        defer { DaemonPresence.remove(stateDirectory: configuration.stateDirectory) }

        let store = try StoreWorker(url: location)
        // Registered before the writer claims anything: a shared store's claims and sends are the node's.
        // Heartbeats go through a connection of their own: queued behind planning's reads and
        // writes on the daemon's, a beat came late enough for the lease to lapse.
        let beats = Store.isShared(url: location) ? try StoreWorker(url: location, label: "policypush.nodes") : nil
        defer { beats?.close() }
        let membership: NodeMembership?
        if let beats {
            membership = try await NodeMembership.join(
                store: beats, settings: configuration.daemon, live: nodes, log: log, metrics: metrics, now: now)
        } else {
            membership = nil
        }
        let writer = try Store.openWriter(url: location, node: membership?.node.id)
        let changes = try Store.changes(url: location)
        defer { changes?.close() }
        let context = DaemonContext(
            store: store, log: log, notifier: notifier, metrics: metrics, health: health, now: now, nodes: nodes,
            current: current, changes: changes)
        let start = now()
        let recovered = try await store.run { [node = writer.node] in try $0.recoverAfterCrash(now: start, node: node) }
        let delivery = try DeliveryService(configuration: configuration, environment: environment, now: now)
        // A node's share of each gateway's rate, before its first send (the whole rate on SQLite).
        await delivery.share(nodes: nodes.liveNodes)
        var dispatchSettings = OutboxDispatcher.Settings()
        dispatchSettings.maxInFlight = configuration.daemon.maxInFlight
        dispatchSettings.claimBatch = configuration.daemon.claimBatch
        let dispatcher = OutboxDispatcher(
            store: store, writer: writer, delivery: delivery, settings: dispatchSettings,
            reconcile: configuration.reconcile, metrics: metrics, log: log, now: now,
            quietHours: { [current] in current.value.withLock { $0.configuration.planning.quietHours } }, health: health
        )
        let reconciler = Reconciler(
            store: store, writer: writer, lookups: delivery.lookups, settings: configuration.reconcile, log: log,
            now: now)
        let resends = try await dispatcher.scheduleSafeResends()
        log.info(
            "store opened",
            [
                "store": Store.describe(url: location), "recovered_sending": recovered.sending,
                "released_claims": recovered.released, "resends_scheduled": resends,
            ])

        let receipts = try ReceiptsService(context: context, environment: environment)
        let landing = try LandingService(context: context)
        notifier.ready(status: "ready")
        log.info(
            "ready",
            [
                "listen": receipts.port.map { "127.0.0.1:\($0)" } ?? "off",
                "landing": landing.port.map { "\(configuration.landing.listen?.host ?? "127.0.0.1"):\($0)" } ?? "off",
                "gateways": delivery.gateways.count,
            ])
        ready(receipts.port)

        // Shut down in reverse: the dispatcher drains first while receipts are still heard.
        let pause: Duration = .seconds(1)
        // The node (on a shared store) heartbeats until the rest has stopped.
        let group = ServiceGroup(
            (membership.map { [.init("nodes", $0), .init("rate-share", RateShare(nodes: nodes, delivery: delivery))] }
                ?? []) + [
                    .init("receipts", receipts),
                    .init("landing", landing),
                    .init("housekeeping", Housekeeping(context: context, delivery: delivery), restartAfter: pause),
                    .init("reconcile", reconciler, restartAfter: pause),
                    .init("control", CampaignControl(context: context), restartAfter: pause),
                    .init("planner", CampaignPlanning(context: context), restartAfter: pause),
                    .init("dispatch", dispatcher, restartAfter: pause),
                ],
            gracePeriod: configuration.daemon.grace, log: log)
        var status: Int32 = 0
        do {
            try await group.run(
                signals: signals,
                onSignal: { [self] signo in
                    if signo == SIGHUP { await reload(store: store) }
                },
                onShutdown: { [notifier] in notifier.stopping() })
        } catch {
            log.error("stopped by a failure", ["error": "\(error)"])
            status = 1
        }
        await writer.flush()
        writer.close()
        await membership?.leave()
        await delivery.shutdown()
        store.close()
        log.info("stopped")
        return status
    }

    /// Reloads config, policies and templates; a bad reload keeps the old ones. Either way the
    /// reload is appended to the audit trail as `config.reload` by `daemon`: a signal does not
    /// say who sent it.
    func reload(store: StoreWorker) async {
        notifier.reloading()
        let result: String
        do {
            let fresh = try Self.loadInputs(configurationFile, environment: environment)
            current.value.withLock { $0 = fresh }
            log.info("reloaded", ["policies": fresh.catalog.entries.count])
            result = "ok: \(fresh.catalog.entries.count) policies"
        } catch {
            log.error("reload rejected; keeping the previous configuration", ["error": "\(error)"])
            result = "failed: \(error)"
        }
        let entry = AuditEntry.New(
            operatorName: "daemon", action: "config.reload", target: configurationFile ?? "(defaults)",
            arguments: "signal=SIGHUP", result: result)
        do {
            _ = try await store.run { try $0.appendAudit(entry) }
        } catch {
            log.error("the reload could not be added to the audit trail", ["error": "\(error)"])
        }
        notifier.ready(status: "reloaded")
    }
}
