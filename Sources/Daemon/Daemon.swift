import Ops
import Planning
import Config
import Delivery
import Foundation
import HTTPServer
import Messaging
import Registry
import Rules
import Storage
import Synchronization

/// `policypush serve`: the outbox store, the planner, the dispatcher, the receipts and metrics
/// listener, systemd notification, and signal handling, started in one task group.
public final class Daemon: Sendable {
    let configurationFile: String?
    let environment: [String: String]
    let log: Log
    let notifier: SystemdNotifier
    let metrics = DaemonMetrics()
    /// Whether the store takes writes: `/healthz`, STATUS and the dispatcher's claims follow it.
    let health = StoreHealth()
    /// What SIGHUP can swap: policies, templates and planning rules.
    private let planning: Mutex<PlanningInputs>

    struct PlanningInputs: Sendable {
        var configuration: Configuration
        var catalog: PolicyCatalog
        var renderer: PackageRenderer
    }

    public init(configurationFile: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.configurationFile = configurationFile
        self.environment = environment
        log = Log(environment: environment)
        notifier = SystemdNotifier(environment: environment)
        planning = Mutex(try Self.loadInputs(configurationFile, environment: environment))
    }

    static func loadInputs(_ file: String?, environment: [String: String]) throws -> PlanningInputs {
        let configuration = try Configuration.load(file: file, environment: environment)
        let workspace = Workspace(configuration: configuration)
        let (catalog, diagnostics) = workspace.loadPolicies()
        if !diagnostics.isEmpty {
            throw ConfigurationError(file: configuration.policiesDirectory, problems: diagnostics.map(\.description))
        }
        return PlanningInputs(
            configuration: configuration, catalog: catalog, renderer: PackageRenderer(templates: try workspace.loadTemplates()))
    }

    var inputs: PlanningInputs { planning.withLock { $0 } }

    /// Runs until SIGTERM/SIGINT; returns the exit code.
    public func run() async throws -> Int32 {
        let configuration = inputs.configuration
        let signals = SignalWaiter([SIGTERM, SIGINT])
        let hangups = SignalWaiter([SIGHUP])
        try FileManager.default.createDirectory(atPath: configuration.stateDirectory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            atPath: (configuration.storePath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        // Before anything touches the store: a second daemon would recover this one's sends in flight.
        let lock = try StoreLock(storePath: configuration.storePath)
        defer { withExtendedLifetime(lock) {} }
        try DaemonPresence.write(stateDirectory: configuration.stateDirectory)
        defer { DaemonPresence.remove(stateDirectory: configuration.stateDirectory) }

        let store = try StoreWorker(path: configuration.storePath)
        let writer = try GroupCommitWriter(path: configuration.storePath)
        let recovered = try await store.run { try $0.recoverAfterCrash(now: Date()) }
        let delivery = try DeliveryService(configuration: configuration, environment: environment)
        var dispatchSettings = OutboxDispatcher.Settings()
        dispatchSettings.maxInFlight = configuration.daemon.maxInFlight
        dispatchSettings.claimBatch = configuration.daemon.claimBatch
        let dispatcher = OutboxDispatcher(
            store: store, writer: writer, delivery: delivery, settings: dispatchSettings,
            reconcile: configuration.reconcile, metrics: metrics, log: log,
            quietHours: { [self] in self.inputs.configuration.planning.quietHours }, health: health)
        let reconciler = Reconciler(
            store: store, writer: writer, lookups: delivery.lookups, settings: configuration.reconcile, log: log)
        let resends = try await dispatcher.scheduleSafeResends()
        log.info(
            "store opened",
            [
                "path": configuration.storePath, "recovered_sending": recovered.sending,
                "released_claims": recovered.released, "resends_scheduled": resends,
            ])

        let listener = try startListener(configuration, store: store)
        defer { listener?.stop() }
        notifier.ready(status: "ready")
        log.info("ready", ["listen": listener.map { "127.0.0.1:\($0.port)" } ?? "off", "gateways": delivery.gateways.count])

        let status: Int32 = await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.keepRunning("dispatch") { try await dispatcher.run() } }
            group.addTask { await self.keepRunning("reconcile") { try await reconciler.run() } }
            group.addTask { await self.keepRunning("control") { try await self.controlLoop(store: store) } }
            group.addTask { await self.keepRunning("housekeeping") { try await self.housekeeping(store: store, delivery: delivery) } }
            group.addTask {
                while !Task.isCancelled {
                    _ = await hangups.wait()
                    if Task.isCancelled { break }
                    self.reload()
                }
            }
            let signo = await signals.wait()
            log.notice("stopping", ["signal": signo])
            notifier.stopping()
            dispatcher.drain()
            // Sends in flight finish within the grace period, or are cancelled (and recorded as
            // ambiguous on the next start).
            let grace = configuration.daemon.grace
            let drained = await withTaskGroup(of: Bool.self) { race in
                race.addTask {
                    while !dispatcher.isIdle { try? await Task.sleep(for: .milliseconds(20)) }
                    return true
                }
                race.addTask {
                    try? await Task.sleep(for: grace)
                    return false
                }
                let first = await race.next() ?? false
                race.cancelAll()
                return first
            }
            group.cancelAll()
            // The SIGHUP waiter only wakes on a signal: send ourselves one so it can see the cancel.
            kill(getpid(), SIGHUP)
            while let _ = await group.next() {}
            if !drained { log.warning("grace period over; in-flight sends cancelled", ["grace_s": Int(grace.seconds)]) }
            return 0
        }
        await writer.flush()
        writer.close()
        await delivery.shutdown()
        store.close()
        log.info("stopped")
        return status
    }

    /// Runs a loop, logging and restarting it after an error (a store hiccup must not stop the
    /// daemon), until cancelled.
    func keepRunning(_ name: String, _ body: @Sendable () async throws -> Void) async {
        while !Task.isCancelled {
            do {
                try await body()
                return
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                log.error("loop failed; restarting in 1 s", ["loop": name, "error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Reloads config, policies and templates; a bad reload keeps the old ones.
    func reload() {
        notifier.reloading()
        do {
            let fresh = try Self.loadInputs(configurationFile, environment: environment)
            planning.withLock { $0 = fresh }
            log.info("reloaded", ["policies": fresh.catalog.entries.count])
        } catch {
            log.error("reload rejected; keeping the previous configuration", ["error": "\(error)"])
        }
        notifier.ready(status: "reloaded")
    }

    private func startListener(_ configuration: Configuration, store: StoreWorker) throws -> ReceiptListener? {
        guard configuration.receiptsListen != nil else { return nil }
        let listenerConfiguration = try DeliveryService.receiptListenerConfiguration(configuration, environment: environment)
        let metrics = self.metrics
        let log = self.log
        let health = self.health
        let listener = ReceiptListener(
            configuration: listenerConfiguration,
            routes: { request in
                switch request.path {
                case "/metrics":
                    return HTTPServerResponse(status: 200, headers: [("Content-Type", Metrics.contentType)], body: Array(metrics.render().utf8))
                case "/healthz":
                    if let problem = health.problem {
                        return HTTPServerResponse(
                            status: 503, headers: [("Content-Type", "text/plain; charset=utf-8")],
                            body: Array("store unavailable: \(problem)\n".utf8))
                    }
                    return .text("ok\n")
                default:
                    return nil
                }
            },
            consumer: { receipts in
                let now = Date()
                let stored = receipts.map {
                    StoredReceipt(
                        gateway: $0.gateway, messageKey: $0.messageID, providerID: $0.providerID, status: $0.status.rawValue,
                        reasonCode: $0.reasonCode, occurredAt: $0.occurredAt, receivedAt: now, dedupeKey: $0.dedupeKey, raw: [])
                }
                let outcome: ReceiptOutcome
                do {
                    outcome = try await store.run { try $0.recordReceipts(stored) }
                } catch {
                    // The provider pushes again later; meanwhile /healthz says why.
                    if health.failed(error) { log.error("the store cannot be written", ["error": "\(error)"]) }
                    throw error
                }
                for r in receipts { metrics.countReceipt(r.status == .delivered ? .delivered : .failed, gateway: r.gateway) }
                if outcome.unmatched > 0 { log.info("receipts kept for later matching", ["unmatched": outcome.unmatched]) }
            })
        try listener.start()
        return listener
    }

    /// Plans pending campaigns and applies the CLI's pause/resume/cancel requests.
    func controlLoop(store: StoreWorker) async throws {
        var lastVersion: Int64 = -1
        var lastFull = ContinuousClock.now
        while !Task.isCancelled {
            let version = try await store.run { try $0.dataVersion() }
            // The dispatcher's own commits change data_version all the time: look at most twice a
            // second (reading campaigns counts the outbox), and every 2 s regardless.
            let sinceFull = ContinuousClock.now - lastFull
            if (version != lastVersion && sinceFull >= .milliseconds(500)) || sinceFull > .seconds(2) {
                lastVersion = version
                lastFull = ContinuousClock.now
                try await applyCampaigns(store: store)
            }
            try await Task.sleep(for: inputs.configuration.daemon.controlInterval)
        }
    }

    func applyCampaigns(store: StoreWorker) async throws {
        let campaigns = try await store.run { try $0.campaigns() }
        for campaign in campaigns where !campaign.state.isFinal {
            let id = campaign.id
            if let requested = campaign.requestedState {
                let changed = try await store.run { try $0.applyCampaignState(id: id, requested, at: Date()) }
                log.info("campaign \(requested.rawValue)", ["campaign": id, "messages_cancelled": requested == .cancelled ? changed : 0])
                continue
            }
            switch campaign.state {
            case .pending, .planning:
                try await plan(campaign, store: store)
            case .running:
                // Completed only when every message is final: ambiguous, unsent and accepted ones
                // (awaiting a receipt) are still open.
                let open = campaign.counts.filter { !$0.key.isFinal }.values.reduce(0, +)
                if open == 0 {
                    try await store.run { _ = try $0.applyCampaignState(id: id, .completed, at: Date()) }
                    log.info("campaign completed", ["campaign": id])
                }
            default:
                break
            }
        }
    }

    func plan(_ campaign: CampaignRecord, store: StoreWorker) async throws {
        let inputs = self.inputs
        let id = campaign.id
        if campaign.state == .pending {
            try await store.run { _ = try $0.applyCampaignState(id: id, .planning, at: Date()) }
        }
        let started = ContinuousClock.now
        let configuration = inputs.configuration
        let registry = try await store.run { try Workspace(configuration: configuration).loadShards(from: $0) }
        let planner = CampaignPlanner(
            registry: registry, catalog: inputs.catalog, renderer: inputs.renderer, policy: configuration.planning)
        let summary = try await planner.plan(campaign, store: store)
        try await store.run { _ = try $0.applyCampaignState(id: id, .running, at: Date()) }
        log.info(
            "campaign planned",
            ["campaign": id, "queued": summary.queued, "suppressed": summary.suppressed.values.reduce(0, +),
             "seconds": String(format: "%.2f", (ContinuousClock.now - started).seconds)])
    }

    /// Expiry, metrics, systemd status and watchdog.
    func housekeeping(store: StoreWorker, delivery: DeliveryService) async throws {
        var lastExpiry = ContinuousClock.now - .seconds(3600)
        var lastStatus = ContinuousClock.now - .seconds(3600)
        let watchdog = notifier.watchdogInterval.map { $0 / 2 } ?? .seconds(2)
        let tick = min(watchdog, .seconds(2))
        while !Task.isCancelled {
            let expireAfter = inputs.configuration.daemon.expireAfter
            if ContinuousClock.now - lastExpiry > .seconds(60) {
                lastExpiry = ContinuousClock.now
                let configuration = inputs.configuration
                let cutoff = Date().addingTimeInterval(-configuration.unmatchedReceiptTTL)
                do {
                    let expired = try await store.run {
                        try $0.expireAccepted(olderThan: Date().addingTimeInterval(-expireAfter), now: Date())
                    }
                    if expired > 0 { log.info("messages expired without a receipt", ["count": expired]) }
                    let pruned = try await store.run {
                        try $0.pruneReceipts(unmatchedBefore: cutoff, keep: configuration.unmatchedReceiptMax)
                    }
                    if pruned > 0 { log.info("unmatched receipts pruned", ["count": pruned]) }
                } catch {
                    // Tried again in a minute; meanwhile /healthz says why.
                    if health.failed(error) { log.error("the store cannot be written", ["error": "\(error)"]) }
                }
            }
            // One scan of the outbox for both: the depth by state is the sum of the finer counts.
            let counts = try await store.run { try $0.messageCounts() }
            var depth: [MessageState: Int] = [:]
            var gauges: [[String]: Double] = [:]
            for c in counts {
                gauges[[c.state.rawValue, c.channel, c.gateway]] = Double(c.count)
                depth[c.state, default: 0] += c.count
            }
            metrics.messages.replaceAll(gauges)
            metrics.queueDepth.set(Double((depth[.queued] ?? 0) + (depth[.retryWait] ?? 0)), labels: [])
            for gateway in delivery.gateways.values {
                let snapshot = await gateway.dispatcher.state
                let phase: DaemonMetrics.BreakerState =
                    switch snapshot.breaker {
                    case .closed: .closed
                    case .halfOpen: .halfOpen
                    case .open: .open
                    }
                metrics.setBreaker(phase, gateway: gateway.settings.name)
            }
            // Campaign counts scan the outbox: every 10 s is enough for `systemctl status`.
            let statusDue = ContinuousClock.now - lastStatus >= .seconds(10)
            if statusDue { lastStatus = ContinuousClock.now }
            let running = statusDue ? try await store.run { try $0.campaigns().filter { $0.state == .running } } : []
            let progress = running.map { c -> String in
                let total = c.counts.values.reduce(0, +)
                let final = c.counts.filter { $0.key.isFinal || $0.key == .accepted }.values.reduce(0, +)
                return "campaign \(c.id) \(total == 0 ? 0 : final * 100 / total)% (\(final)/\(total))"
            }
            var status = progress.isEmpty ? "idle" : progress.joined(separator: ", ")
            if let problem = health.problem { status = "store unavailable (\(problem)); " + status }
            status += "; queued \((depth[.queued] ?? 0) + (depth[.retryWait] ?? 0)), sending \(depth[.sending] ?? 0)"
            if statusDue || health.problem != nil { notifier.status(status) }
            notifier.watchdog()
            try await Task.sleep(for: tick)
        }
    }
}
