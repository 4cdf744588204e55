import Delivery
import Foundation
import Kit
import Planning
import Registry
import Storage

/// A chunk of claimed messages goes through its gateways together.
///
/// Per message, the dispatcher used to start a task, visit its gateway's actor, commit its
/// `sending` in a writer round trip of its own, await its answer on the actor and record it in
/// another round trip: some eight executor hops and two context switches a message. Now a chunk
/// is routed at once, and per gateway each round reserves what the gateway takes
/// (``GatewayDispatcher/reserve(_:)``), commits all of it as `sending` in one group commit, sends
/// it side by side, settles the answers in one visit to the actor and records them in one
/// submission. The order that makes a crash safe is the same for each message: its `sending` is
/// committed before its request leaves, its outcome before it is let go.
extension OutboxDispatcher {
    /// A claimed message routed to a gateway, its request built.
    struct Routed {
        let message: OutboxMessage
        let payload: MessagePayload
        let channel: Channel
        let outbound: OutboundMessage
        let recipientKeys: [String]
        /// The gateway an ambiguous message is pinned to.
        let pinnedTo: String?
    }

    /// Where routing put a message.
    enum Route {
        case gateway(DeliveryService.Gateway, Routed)
        /// Settled without a gateway (unreadable, no route, gateway removed, no template).
        case settled(Transition)
        /// The router named a gateway the service does not hold: left as claimed.
        case dropped
    }

    /// One attempt for each message of `chunk`; every outcome is durable when this returns (or
    /// the store is marked unwritable and the outcome is recovered later).
    func process(_ chunk: [OutboxMessage]) async {
        let started = now()
        var settled: [Transition] = []
        var order: [String] = []
        var byGateway: [String: (gateway: DeliveryService.Gateway, routed: [Routed])] = [:]
        for message in chunk {
            switch route(message, at: started) {
            case .gateway(let gateway, let routed):
                let name = gateway.settings.name
                if byGateway[name] == nil {
                    order.append(name)
                    byGateway[name] = (gateway, [])
                }
                byGateway[name]?.routed.append(routed)
            case .settled(let transition):
                settled.append(transition)
            case .dropped:
                break
            }
        }
        if !settled.isEmpty { await record(settled) }
        if order.count == 1, let only = byGateway[order[0]] {
            await send(only.routed, through: only.gateway)
            return
        }
        await withTaskGroup(of: Void.self) { group in
            for name in order {
                guard let entry = byGateway[name] else { continue }
                group.addTask { await self.send(entry.routed, through: entry.gateway) }
            }
        }
    }

    /// Routes `message`: its pinned gateway when it is ambiguous, else its channel's pick.
    func route(_ message: OutboxMessage, at started: Date) -> Route {
        guard let channel = message.channel, let payload = try? MessagePayload.decode(message.payload) else {
            return .settled(
                Transition(messageID: message.id, to: .failed, at: started, error: "outbox:unreadable-payload"))
        }
        // An ambiguous message goes back only to the gateway that had it.
        let pinnedTo = message.claimedFrom == .ambiguous ? message.gateway : nil
        let gateway: DeliveryService.Gateway
        if let pinnedTo {
            guard let same = delivery.gateways[pinnedTo] else {
                // Its gateway left the configuration: only reconciliation can tell now.
                return .settled(
                    Transition(
                        messageID: message.id, to: .ambiguous, at: started, gateway: pinnedTo, error: "gateway-removed",
                        countsAsAttempt: false, checkAt: started))
            }
            gateway = same
        } else {
            switch delivery.routers[channel]?.pick(now: started) {
            case .gateway(let dispatcher)?:
                guard let picked = delivery.gateways[dispatcher.name] else { return .dropped }
                gateway = picked
            case .unavailable(let retryAt)?:
                let at = retryAt ?? started.addingTimeInterval(settings.unavailableDelay)
                return .settled(
                    Transition(
                        messageID: message.id, to: .retryWait, at: started, error: "route:unavailable",
                        nextAttemptAt: at, countsAsAttempt: false))
            case nil:
                return .settled(
                    Transition(
                        messageID: message.id, to: .failed, at: started,
                        error: "route:no-gateway-for-\(channel.rawValue)"))
            }
        }
        let kind = gateway.settings.kind
        guard let outbound = payload.outbound(id: message.idempotencyKey, recipient: message.recipient, kind: kind)
        else {
            return .settled(
                Transition(
                    messageID: message.id, to: .failed, at: started, gateway: gateway.settings.name,
                    error: "template:missing-\(kind.rawValue)"))
        }
        return .gateway(
            gateway,
            Routed(
                message: message, payload: payload, channel: channel, outbound: outbound,
                recipientKeys: DeliveryService.recipientKeys(outbound, kind: kind), pinnedTo: pinnedTo))
    }

    /// Sends `routed` through `gateway`, round by round: what the gateway takes now is committed
    /// as `sending` in one group commit, sent side by side, settled and recorded together.
    func send(_ routed: [Routed], through gateway: DeliveryService.Gateway) async {
        let dispatcher = gateway.dispatcher
        let name = gateway.settings.name
        var pending = routed
        while !pending.isEmpty {
            let clock = ContinuousClock.now
            let reservations = await dispatcher.reserve(pending.map(\.recipientKeys))
            var transitions: [Transition] = []
            var taken: [(ticket: GatewayDispatcher.Ticket, routed: Routed)] = []
            var later: [Routed] = []
            for (reservation, item) in zip(reservations, pending) {
                switch reservation {
                case .taken(let ticket): taken.append((ticket, item))
                case .refused(let result): transitions.append(conclude(item, result: result, gateway: gateway))
                case .later: later.append(item)
                }
            }
            if !taken.isEmpty {
                let admissions = await admit(taken.map(\.routed), gateway: dispatcher)
                var settlements = [GatewayDispatcher.Settlement?](repeating: nil, count: taken.count)
                var going: [Int] = []
                for (index, admission) in admissions.enumerated() {
                    switch admission {
                    case .proceed: going.append(index)
                    case .withdraw(let outcome): settlements[index] = .withdrawn(outcome)
                    }
                }
                for (index, outcome) in await transmit(going.map { taken[$0].routed.outbound }, through: dispatcher)
                    .enumerated()
                {
                    settlements[going[index]] = .sent(outcome)
                }
                let results = await dispatcher.settle(
                    zip(taken, settlements).map { entry, settlement in
                        (entry.ticket, settlement ?? .withdrawn(.deferred(until: now(), reason: Self.notSendable)))
                    })
                let elapsed = ContinuousClock.now - clock
                for (entry, result) in zip(taken, results) {
                    if result.attempted { metrics?.sendSeconds.observe(elapsed - result.waited, labels: [name]) }
                    transitions.append(conclude(entry.routed, result: result, gateway: gateway))
                }
            }
            if !transitions.isEmpty { await record(transitions) }
            pending = later
        }
    }

    /// Sends `messages` side by side (one child task each, the curl loop takes them as they
    /// come); the answers in order.
    func transmit(_ messages: [OutboundMessage], through dispatcher: GatewayDispatcher) async -> [DeliveryOutcome] {
        if messages.count <= 1 { return messages.isEmpty ? [] : [await dispatcher.transmit(messages[0])] }
        return await withTaskGroup(of: (Int, DeliveryOutcome).self) { group in
            for (index, message) in messages.enumerated() {
                group.addTask { (index, await dispatcher.transmit(message)) }
            }
            // Every child answers: the placeholder is always overwritten.
            var outcomes = [DeliveryOutcome](
                repeating: .ambiguous(reason: GatewayDispatcher.cancelled), count: messages.count)
            for await (index, outcome) in group { outcomes[index] = outcome }
            return outcomes
        }
    }

    /// Runs when the gateway has taken `routed`, right before their requests leave: commits them
    /// as `sending` through `gateway` in one group commit (each counted in the gateway's budget
    /// in the store, see ``Settings/storeBudget``), or withdraws them; one answer each.
    ///
    /// A budget the store finds spent withdraws the message as the dispatcher's own count would:
    /// a daily cap pauses the gateway until the next local midnight, a full recipient window
    /// defers the message until the window frees.
    func admit(_ routed: [Routed], gateway: GatewayDispatcher) async -> [GatewayDispatcher.Admission] {
        let at = now()
        if let window = quietHours(), !window.allows(at) {
            let outcome = DeliveryOutcome.deferred(until: window.nextAllowed(from: at), reason: Self.quietHoursReason)
            return routed.map { _ in .withdraw(outcome) }
        }
        let counted = settings.storeBudget ?? writer.isShared
        let sending = routed.map { item in
            var sending = Transition(
                messageID: item.message.id, to: .sending, at: at, gateway: gateway.name, countsAsAttempt: false)
            if counted {
                sending.budget = DeliveryService.budget(
                    gateway.configuration, recipientKeys: item.recipientKeys, at: at)
            }
            return sending
        }
        do {
            return try await writer.admit(batch: sending).map { commit in
                switch commit {
                case .applied:
                    return .proceed
                case .notApplied:
                    // Its campaign was paused or cancelled, or a receipt settled it meanwhile.
                    return .withdraw(.deferred(until: at, reason: Self.notSendable))
                case .refused(.dailyCap(let until)):
                    return .withdraw(
                        .pauseGateway(reason: GatewayDispatcher.dailyCapReached, kind: .quota, until: until))
                case .refused(.recipientLimit(let until)):
                    return .withdraw(.deferred(until: until, reason: GatewayDispatcher.recipientLimit))
                }
            }
        } catch {
            storeFailed(error)
            let outcome = DeliveryOutcome.deferred(
                until: at.addingTimeInterval(settings.storeRetry), reason: Self.storeUnavailable)
            return routed.map { _ in .withdraw(outcome) }
        }
    }

    /// The transition that records `result` for `routed` (``DeliveryDecision``'s rule), with the
    /// SMS fallback of a WeChat message that failed for good.
    func conclude(_ routed: Routed, result: DispatchResult, gateway: DeliveryService.Gateway) -> Transition {
        let at = now()
        let message = routed.message
        if result.waited > .zero {
            metrics?.throttleWaitSeconds.increment(by: result.waited.seconds, labels: [gateway.settings.name])
        }
        let step = DeliveryDecision.next(
            after: result, from: gateway.traits,
            situation: .init(
                pinnedTo: routed.pinnedTo, attempts: message.attempts, firstAttemptAt: message.firstAttemptAt),
            now: at, unavailableDelay: settings.unavailableDelay, inFlightRecheck: settings.inFlightRecheck)
        if case .pauseGateway(let reason, let kind, _) = result.outcome, result.attempted {
            log.warning(
                "gateway paused",
                ["gateway": gateway.settings.name, "kind": kind.rawValue, "reason": reason.description])
        }
        var transition = transition(for: step, message: message, at: at)
        if case .failed(_, _, true, _) = step {
            transition.followUp = fallback(for: message, payload: routed.payload, channel: routed.channel, at: at)
        }
        return transition
    }
}
