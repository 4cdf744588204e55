import Delivery
import Foundation
import Registry
import Storage
import Synchronization

/// Sends due outbox messages through the delivery layer and records every transition.
///
/// A message is claimed (committed as `sending`, through the group-commit writer's connection)
/// before its gateway is called; its outcome is written through the group-commit writer. Nothing is sent twice blind: an ambiguous send is
/// repeated only through the gateway that had it, and only when that gateway deduplicates by
/// our id.
public final class OutboxDispatcher: Sendable {
    public struct Settings: Sendable {
        /// Messages claimed per store round trip.
        public var claimBatch = 256
        /// Sends awaiting an answer at once, across gateways.
        public var maxInFlight = 256
        /// How long to sleep when nothing is due.
        public var idlePoll: Duration = .milliseconds(200)
        /// When a channel has no available gateway, retry after this long.
        public var unavailableDelay: TimeInterval = 30
        /// When a deduplicating gateway answers that a send with the same key is still in flight
        /// (HTTP 409), ask again after this long.
        public var inFlightRecheck: TimeInterval = 0.5
        public init() {}
    }

    let store: StoreWorker
    let writer: GroupCommitWriter
    let delivery: DeliveryService
    let settings: Settings
    let metrics: DaemonMetrics?
    let log: Log
    /// Guards whether new claims are allowed.
    private let draining = Mutex(false)
    /// Sends awaiting their transition's commit.
    private let active = Atomic<Int>(0)

    public init(
        store: StoreWorker, writer: GroupCommitWriter, delivery: DeliveryService, settings: Settings = Settings(),
        metrics: DaemonMetrics? = nil, log: Log = Log()
    ) {
        self.store = store
        self.writer = writer
        self.delivery = delivery
        self.settings = settings
        self.metrics = metrics
        self.log = log
    }

    /// Stops claiming; sends in flight finish (`run` returns once they are recorded).
    public func drain() { draining.withLock { $0 = true } }

    var isDraining: Bool { draining.withLock { $0 } }

    /// No send is in flight (after `drain`, the dispatcher may stop).
    public var isIdle: Bool { active.load(ordering: .relaxed) == 0 }

    /// After a restart: schedules a resend of interrupted messages where that is safe.
    ///
    /// A message that was `sending` when the daemon died may or may not have reached its gateway.
    /// It is resent, with the same id, only when every gateway of its channel deduplicates by our
    /// id and there is exactly one (so the message cannot have gone elsewhere); otherwise it
    /// stays ambiguous until a receipt or query settles it.
    public func scheduleSafeResends(now: Date = Date()) async throws -> Int {
        var total = 0
        for channel in delivery.routers.keys {
            let serving = (delivery.channelGateways[channel] ?? []).compactMap { delivery.gateways[$0] }
            guard serving.count == 1, let only = serving.first, only.adapter.deduplicates else { continue }
            let name = only.settings.name
            total += try await store.run { try $0.scheduleAmbiguousResend(channel: channel.rawValue, gateway: name, at: now) }
        }
        return total
    }

    /// Claims and sends until drained or cancelled.
    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var inFlight = 0
            while true {
                if isDraining || Task.isCancelled {
                    while inFlight > 0 {
                        _ = try await group.next()
                        inFlight -= 1
                    }
                    return
                }
                let room = settings.maxInFlight - inFlight
                var claimed: [OutboxMessage] = []
                if room >= max(1, settings.maxInFlight / 4) {
                    let limit = min(room, settings.claimBatch)
                    // On the writer's connection: no second writer to take turns with at the lock.
                    claimed = try await writer.claimDue(now: Date(), limit: limit)
                }
                for message in claimed {
                    inFlight += 1
                    active.add(1, ordering: .relaxed)
                    group.addTask {
                        defer { self.active.subtract(1, ordering: .relaxed) }
                        try await self.process(message)
                    }
                }
                if claimed.isEmpty {
                    if inFlight > 0 {
                        _ = try await group.next()
                        inFlight -= 1
                    } else {
                        try? await Task.sleep(for: settings.idlePoll)
                    }
                } else if inFlight >= settings.maxInFlight {
                    _ = try await group.next()
                    inFlight -= 1
                }
            }
        }
    }

    /// One attempt for one claimed message; the transition is durable when this returns.
    func process(_ message: OutboxMessage) async throws {
        let now = Date()
        let transition: Transition
        var fallback: NewMessage?
        guard let channel = Channel(rawValue: message.channel), let payload = try? MessagePayload.decode(message.payload) else {
            transition = Transition(messageID: message.id, to: .failed, at: now, error: "outbox:unreadable-payload")
            _ = try await writer.submit([transition])
            return
        }
        // An ambiguous message goes back only to the gateway that had it.
        let gateway: DeliveryService.Gateway
        if let pinned = message.gateway, message.claimedFrom == .ambiguous {
            guard let g = delivery.gateways[pinned] else {
                _ = try await writer.submit([Transition(messageID: message.id, to: .ambiguous, at: now, gateway: pinned, error: "gateway-removed")])
                return
            }
            gateway = g
        } else {
            switch delivery.routers[channel]?.pick(now: now) {
            case .gateway(let dispatcher)?:
                gateway = delivery.gateways[dispatcher.name]!
            case .unavailable(let retryAt)?:
                let at = retryAt ?? now.addingTimeInterval(settings.unavailableDelay)
                _ = try await writer.submit([Transition(messageID: message.id, to: .retryWait, at: now, error: "route:unavailable", nextAttemptAt: at, countsAsAttempt: false)])
                return
            case nil:
                _ = try await writer.submit([Transition(messageID: message.id, to: .failed, at: now, error: "route:no-gateway-for-\(channel.rawValue)")])
                return
            }
        }
        let name = gateway.settings.name
        guard let outbound = payload.outbound(id: message.idempotencyKey, recipient: message.recipient, kind: gateway.settings.kind) else {
            _ = try await writer.submit([Transition(messageID: message.id, to: .failed, at: now, gateway: name, error: "template:missing-\(gateway.settings.kind.rawValue)")])
            return
        }
        let started = ContinuousClock.now
        let result = await gateway.dispatcher.send(outbound, recipientKeys: DeliveryService.recipientKeys(outbound, kind: gateway.settings.kind))
        let elapsed = ContinuousClock.now - started
        if result.attempted { metrics?.sendSeconds.observe(elapsed - result.waited, labels: [name]) }
        if result.waited > .zero { metrics?.throttleWaitSeconds.increment(by: result.waited.seconds, labels: [name]) }
        let at = Date()
        switch result.outcome {
        case .accepted(let providerID):
            transition = Transition(messageID: message.id, to: .accepted, at: at, gateway: name, providerID: providerID)
        case .failed(let reason, let allowFallback):
            transition = Transition(messageID: message.id, to: .failed, at: at, gateway: name, error: reason.description)
            if allowFallback, channel == .wechat, let mobile = payload.fallbackMobile, payload.sms != nil {
                var sms = payload
                sms.wechat = nil
                sms.fallbackMobile = nil
                fallback = NewMessage(
                    campaignID: message.campaignID, creditCode: message.creditCode, channel: Channel.sms.rawValue,
                    recipient: mobile, policyIDs: message.policyIDs, payload: sms.encoded(),
                    idempotencyKey: message.idempotencyKey + "-sms", notBefore: at, parentKey: message.idempotencyKey)
            }
        case .retry(let after, let reason) where reason == ReasonCode("http", "409") && gateway.adapter.deduplicates:
            // 409 from a deduplicating gateway: an earlier send with this key is still in flight
            // there and may yet be accepted. Ask that gateway again later, without spending an
            // attempt: failing it when the attempts run out, or routing it elsewhere, could lose
            // or double a message the provider took.
            transition = Transition(
                messageID: message.id, to: .ambiguous, at: at, gateway: name, error: reason.description,
                nextAttemptAt: after ?? at.addingTimeInterval(settings.inFlightRecheck), countsAsAttempt: false)
        case .retry(let after, let reason):
            let attempt = message.attempts + 1
            switch gateway.dispatcher.configuration.retry.next(
                attempt: attempt, firstAttemptAt: message.firstAttemptAt ?? at, now: at, providerEarliest: after)
            {
            case .retry(let next):
                transition = Transition(messageID: message.id, to: .retryWait, at: at, gateway: name, error: reason.description, nextAttemptAt: next)
            case .giveUp(let giveUp):
                transition = Transition(messageID: message.id, to: .failed, at: at, gateway: name, error: "\(reason) (\(giveUp))")
            }
        case .deferred(let until, let reason):
            transition = Transition(messageID: message.id, to: .retryWait, at: at, error: reason.description, nextAttemptAt: until, countsAsAttempt: false)
        case .pauseGateway(let reason, let kind, let until):
            log.warning("gateway paused", ["gateway": name, "kind": kind.rawValue, "reason": reason.description])
            transition = Transition(
                messageID: message.id, to: .retryWait, at: at, error: reason.description,
                nextAttemptAt: until ?? at.addingTimeInterval(settings.unavailableDelay), countsAsAttempt: false)
        case .ambiguous(let reason):
            if gateway.adapter.deduplicates {
                let attempt = message.attempts + 1
                switch gateway.dispatcher.configuration.retry.next(
                    attempt: attempt, firstAttemptAt: message.firstAttemptAt ?? at, now: at, providerEarliest: nil)
                {
                case .retry(let next):
                    transition = Transition(messageID: message.id, to: .ambiguous, at: at, gateway: name, error: reason.description, nextAttemptAt: next)
                case .giveUp:
                    transition = Transition(messageID: message.id, to: .ambiguous, at: at, gateway: name, error: reason.description)
                }
            } else {
                transition = Transition(messageID: message.id, to: .ambiguous, at: at, gateway: name, error: reason.description)
            }
        }
        _ = try await writer.submit([transition])
        if let fallback {
            let batch = [fallback]
            _ = try await store.run { try $0.insertMessages(batch) }
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
