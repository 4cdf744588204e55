import Config
import Delivery
import Foundation
import Kit
import Ops
import Planning
import Registry
import Storage
import Synchronization

/// Sends due outbox messages through the delivery layer and records every transition.
///
/// Messages are claimed into memory (a lease in the store, no state change), routed, and handed
/// to their gateway's dispatcher. Only when that gateway admits one — token, in-flight slot,
/// breaker, recipient windows, inside the sending window — is it committed as `sending` with the
/// gateway's name, and only after that commit does its request leave. A crash therefore leaves
/// ambiguous exactly the messages some gateway may have received, each pinned to that gateway.
/// What follows an answer is ``DeliveryDecision``'s rule; every transition goes through the
/// group-commit writer and is durable before the next step.
public final class OutboxDispatcher: Service {
    public struct Settings: Sendable {
        /// Messages claimed per store round trip.
        public var claimBatch = 256
        /// Messages held at once (claimed, waiting for their gateway, or awaiting an answer).
        public var maxInFlight = 256
        /// How long to sleep when nothing is due.
        public var idlePoll: Duration = .milliseconds(200)
        /// When a channel has no available gateway, retry after this long.
        public var unavailableDelay: TimeInterval = 30
        /// When a deduplicating gateway answers that a send with the same key is still in flight
        /// (HTTP 409), ask again after this long.
        public var inFlightRecheck: TimeInterval = 0.5
        /// A claimed message is hidden from other claims this long (``OutboxLease``).
        public var lease: TimeInterval = OutboxLease.default
        /// When a message could not be committed as `sending` (a store error), retry after this long.
        public var storeRetry: TimeInterval = 1
        /// While the store cannot be written, how often to try a write.
        public var storeProbe: Duration = .seconds(1)
        /// Whether each admission is also counted in the store against its gateway's daily cap and
        /// recipient windows (``SendBudget``), in the commit that makes it `sending`: exact when
        /// several nodes share the store and the provider account. The dispatcher's own counts stay
        /// the first, cheap filter. Default nil: when the store is shared (``OutboxWriter/isShared``,
        /// PostgreSQL). On SQLite one daemon owns the store, its own counts are the account's, and
        /// the windows' rows would halve the writer's admissions per second.
        public var storeBudget: Bool?
        public init() {}
    }

    public static let quietHoursReason = ReasonCode("dispatch", "quiet-hours")
    /// The campaign was paused or cancelled, or the message settled, while it waited for its gateway.
    public static let notSendable = ReasonCode("dispatch", "not-sendable")
    public static let storeUnavailable = ReasonCode("store", "unavailable")

    let store: StoreWorker
    let writer: any OutboxWriter
    let delivery: DeliveryService
    let settings: Settings
    let reconcile: ReconcileSettings
    let metrics: DaemonMetrics?
    let log: Log
    /// Wall-clock time: claims, quiet hours, every recorded time.
    let now: @Sendable () -> Date
    /// The sending window now (it follows SIGHUP reloads); `nil` sends at any hour.
    let quietHours: @Sendable () -> QuietHours?
    /// Whether the store takes writes; while it does not, nothing is claimed.
    public let health: StoreHealth
    /// Whether new claims are allowed.
    private let draining = Mutex(false)
    /// The messages held in memory. A claim that returns one again is not processed twice; its
    /// claim is undone when the holder lets go (``Holding``).
    private let holding = Mutex(Holding())
    /// Messages held whose last transition is not yet committed.
    private let active = Atomic<Int>(0)
    /// `run` returned after a drain: every message it held is recorded.
    private let drained = Completion()

    public init(
        store: StoreWorker, writer: any OutboxWriter, delivery: DeliveryService, settings: Settings = Settings(),
        reconcile: ReconcileSettings = ReconcileSettings(), metrics: DaemonMetrics? = nil, log: Log = Log(),
        now: @escaping @Sendable () -> Date = Date.init, quietHours: @escaping @Sendable () -> QuietHours? = { nil },
        health: StoreHealth = StoreHealth()
    ) {
        self.health = health
        self.store = store
        self.writer = writer
        self.delivery = delivery
        self.settings = settings
        self.reconcile = reconcile
        self.metrics = metrics
        self.log = log
        self.now = now
        self.quietHours = quietHours
    }

    /// Stops claiming; messages held finish (`run` returns once they are recorded).
    public func drain() { draining.withLock { $0 = true } }

    /// Drains and returns once every message held is recorded (the service group bounds the wait
    /// by the grace period, then cancels: sends still in flight are recovered as ambiguous).
    public func shutdownGracefully() async {
        drain()
        await drained.wait()
    }

    var isDraining: Bool { draining.withLock { $0 } }

    /// No message is held (after `drain`, the dispatcher may stop).
    public var isIdle: Bool { active.load(ordering: .relaxed) == 0 }

    /// After a restart: schedules a resend of interrupted messages where that is safe.
    ///
    /// A message that was `sending` when the daemon died is pinned to the gateway that had
    /// admitted it. It is resent, with the same id and to that gateway only, when the gateway
    /// deduplicates by our id; otherwise reconciliation settles it. (A message left by an older
    /// version without a gateway is pinned to its channel's gateway when the channel has only one.)
    public func scheduleSafeResends() async throws -> Int {
        let at = now()
        for (channel, names) in delivery.channelGateways where names.count == 1 {
            let only = names[0]
            _ = try await store.run { try $0.pinGatewayless(channel: channel, to: only, at: at) }
        }
        var total = 0
        for gateway in delivery.gateways.values where gateway.adapter.deduplicates {
            let name = gateway.settings.name
            total += try await store.run { try $0.scheduleAmbiguousResend(gateway: name, at: at) }
        }
        return total
    }

    /// Claims and sends until drained or cancelled.
    ///
    /// A store that cannot be written (a full disk) stops the claims, not the loop: sends in flight
    /// finish, then ``recoverStore()`` probes until writes succeed and recovers what the failure left.
    public func run() async throws {
        try await withThrowingTaskGroup(of: Int.self) { group in
            var inFlight = 0
            while true {
                if isDraining || Task.isCancelled {
                    while inFlight > 0, let done = try await group.next() { inFlight -= done }
                    drained.complete()
                    return
                }
                if health.problem != nil {
                    if inFlight > 0, let done = try await group.next() {
                        inFlight -= done
                    } else if try await !recoverStore() {
                        try? await Task.sleep(for: settings.storeProbe)
                    }
                    continue
                }
                let room = settings.maxInFlight - inFlight
                var claimed: [OutboxMessage] = []
                let at = now()
                // Outside the sending window nothing is claimed; retries and backlog wait for it.
                if room >= max(1, settings.maxInFlight / 4), quietHours()?.allows(at) ?? true {
                    let limit = min(room, settings.claimBatch)
                    // On the writer's connection: no second writer to take turns with at the lock.
                    do {
                        claimed = try await writer.claimDue(now: at, limit: limit, lease: settings.lease)
                    } catch {
                        storeFailed(error)
                        continue
                    }
                    claimed = holding.withLock { holding in claimed.filter { holding.take($0) } }
                }
                // One task per chunk, not per message: a chunk's messages are routed, admitted,
                // committed as `sending` and recorded together (``process(_:)``). Chunks of a
                // quarter of `maxInFlight` keep a claim's worth of work from waiting for its slowest.
                let chunkSize = max(1, settings.maxInFlight / 4)
                for start in stride(from: 0, to: claimed.count, by: chunkSize) {
                    let chunk = Array(claimed[start..<min(start + chunkSize, claimed.count)])
                    inFlight += chunk.count
                    active.add(chunk.count, ordering: .relaxed)
                    group.addTask {
                        defer { self.active.subtract(chunk.count, ordering: .relaxed) }
                        await self.process(chunk)
                        let reclaimed = self.holding.withLock { holding in chunk.compactMap { holding.letGo($0.id) } }
                        if !reclaimed.isEmpty {
                            do { try await self.writer.release(reclaimed) } catch { self.storeFailed(error) }
                        }
                        return chunk.count
                    }
                }
                if claimed.isEmpty {
                    if inFlight > 0, let done = try await group.next() {
                        inFlight -= done
                    } else {
                        try? await Task.sleep(for: settings.idlePoll)
                    }
                } else if inFlight >= settings.maxInFlight, let done = try await group.next() {
                    inFlight -= done
                }
            }
        }
    }

    /// After a store failure, with nothing in flight: tries a write; when it succeeds, recovers the
    /// messages the failure left `sending` (their outcome could not be recorded) by the rules of
    /// crash recovery — ambiguous, pinned to their gateway, resent where it deduplicates, else
    /// reconciled — and releases the claims. Returns whether the store is healthy again.
    func recoverStore() async throws -> Bool {
        do {
            try await writer.probe()
            let at = now()
            let recovered = try await store.run { [node = writer.node] in try $0.recoverAfterCrash(now: at, node: node)
            }
            let resends = try await scheduleSafeResends()
            health.recovered()
            log.notice(
                "store writable again",
                [
                    "recovered_sending": recovered.sending, "released_claims": recovered.released,
                    "resends_scheduled": resends,
                ])
            return true
        } catch {
            return false
        }
    }

    func storeFailed(_ error: any Error) {
        if health.failed(error, at: now()) {
            log.error("the store cannot be written; claims stop until it can", ["error": "\(error)"])
        }
    }

    /// Records transitions; a store that cannot be written is noted, not thrown: the message stays
    /// as the store last had it and is recovered once writes succeed again.
    @discardableResult
    func record(_ transitions: [Transition]) async -> [Transition] {
        do {
            return try await writer.submit(transitions)
        } catch {
            storeFailed(error)
            return []
        }
    }

    /// The store's transition for a decided step.
    func transition(for step: DeliveryDecision.Step, message: OutboxMessage, at: Date) -> Transition {
        switch step {
        case .accepted(let gateway, let providerID):
            let check = delivery.lookups[gateway] != nil ? at.addingTimeInterval(reconcile.receiptCheck) : nil
            return Transition(
                messageID: message.id, to: .accepted, at: at, gateway: gateway, providerID: providerID, checkAt: check)
        case .failed(let gateway, let reason, _, let lastError):
            let text = lastError.map { "\($0) (\(reason))" } ?? reason.description
            return Transition(messageID: message.id, to: .failed, at: at, gateway: gateway, error: text)
        case .retry(let next, let reason, let countsAsAttempt, let gateway):
            return Transition(
                messageID: message.id, to: .retryWait, at: at, gateway: gateway, error: reason.description,
                nextAttemptAt: next, countsAsAttempt: countsAsAttempt)
        case .pinned(let gateway, let resendAt, let reason, let countsAsAttempt):
            return Transition(
                messageID: message.id, to: .ambiguous, at: at, gateway: gateway, error: reason.description,
                nextAttemptAt: resendAt, countsAsAttempt: countsAsAttempt,
                checkAt: at.addingTimeInterval(reconcile.settle))
        }
    }

    /// The SMS that replaces a WeChat message that failed for good, when the campaign allows it.
    func fallback(for message: OutboxMessage, payload: MessagePayload, channel: Channel, at: Date) -> NewMessage? {
        guard channel == .wechat, let mobile = payload.fallbackMobile, payload.sms != nil else { return nil }
        var sms = payload
        sms.wechat = nil
        sms.fallbackMobile = nil
        return NewMessage(
            campaignID: message.campaignID, creditCode: message.creditCode, channel: .sms,
            recipient: mobile, policyIDs: message.policyIDs, payload: sms.encoded(),
            idempotencyKey: message.idempotencyKey + "-sms", notBefore: at, parentKey: message.idempotencyKey)
    }
}

/// The ids the dispatcher holds, and the claims that returned a held message again.
///
/// A holder commits its message's last transition and only then lets go of it; a claim in between
/// finds the message due and leases it, but must not process it twice. Its lease would hide the
/// message until it ended (ten minutes: one in three runs of a test left a resend of an ambiguous
/// message waiting so), so the holder, letting go, undoes that claim. Should a lease outlive its
/// holder's wait, the holder's own transition clears the second lease and nothing is undone.
struct Holding {
    private var ids: Set<Int64> = []
    private var reclaimed: [Int64: ClaimRelease] = [:]

    /// Takes `message` as claimed; false when it is held already (its claim is noted to undo).
    mutating func take(_ message: OutboxMessage) -> Bool {
        if ids.insert(message.id).inserted { return true }
        reclaimed[message.id] = ClaimRelease(messageID: message.id, due: message.nextAttemptAt ?? .distantPast)
        return false
    }

    /// Lets go of a message; returns the claim to undo, if one returned it meanwhile.
    mutating func letGo(_ id: Int64) -> ClaimRelease? {
        ids.remove(id)
        return reclaimed.removeValue(forKey: id)
    }
}
