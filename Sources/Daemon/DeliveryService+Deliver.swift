import Config
import Delivery
import Foundation
import Kit
import Ops
import Planning
import Registry

extension DeliveryService {
    /// What became of one message after routing, retries and failover.
    public struct DeliveryReport: Sendable {
        /// The final outcome: accepted, failed, ambiguous (held for reconciliation), or a
        /// retry/deferral/pause that did not resolve before the deadline.
        public var outcome: DeliveryOutcome
        /// The gateway that produced the final outcome.
        public var gateway: String?
        /// Requests that reached a gateway (deferrals and refusals not counted).
        public var attempts: Int
        /// Every step, for logs and tests: gateway name and outcome.
        public var steps: [(gateway: String, outcome: DeliveryOutcome)]
    }

    /// Delivers one message on a channel: picks a gateway (weights, failover past open breakers
    /// and paused gateways), applies the gateway's retry policy with backoff, waits out short
    /// deferrals, and never sends twice blind (``DeliveryDecision``, the daemon's rule).
    ///
    /// An ambiguous send (sent, no answer) pins the message to its gateway: it is repeated only
    /// there, with the same id, when that gateway deduplicates by our id; otherwise it is returned
    /// for reconciliation, and no other gateway is tried. Waiting stops at `deadline`.
    ///
    /// - Parameter build: the message for a gateway kind (templates differ per provider); the id
    ///   must be the same whatever the kind.
    public func deliver(
        on channel: Channel, deadline: Duration = .seconds(60),
        build: (GatewayKind) throws -> OutboundMessage
    ) async throws -> DeliveryReport {
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: deadline)
        var report = DeliveryReport(
            outcome: .failed(reason: ReasonCode("route", "no-gateway"), fallback: true), gateway: nil, attempts: 0,
            steps: [])
        guard let router = routers[channel] else { return report }
        func fits(_ date: Date) -> Bool { clock.now.advanced(by: .seconds(date.timeIntervalSinceNow)) < end }
        func sleep(until date: Date) async throws {
            try await clock.sleep(for: .seconds(max(0, date.timeIntervalSinceNow)))
        }

        var excluded: Set<String> = []
        var situation = DeliveryDecision.Situation(firstAttemptAt: Date())
        while true {
            try Task.checkCancellation()
            let gateway: Gateway
            if let pinned = situation.pinnedTo {
                guard let same = gateways[pinned] else { return report }
                gateway = same
            } else {
                switch router.pick(excluding: excluded, now: Date()) {
                case .unavailable(let retryAt):
                    guard let retryAt, fits(retryAt) else { return report }
                    try await sleep(until: retryAt)
                    excluded.removeAll()
                    continue
                case .gateway(let dispatcher):
                    guard let picked = gateways[dispatcher.name] else { return report }
                    gateway = picked
                }
            }
            let name = gateway.settings.name
            let message = try build(gateway.settings.kind)
            let result = await gateway.dispatcher.send(
                message, recipientKeys: Self.recipientKeys(message, kind: gateway.settings.kind))
            report.outcome = result.outcome
            report.gateway = name
            report.steps.append((name, result.outcome))
            if result.attempted { report.attempts += 1 }

            let wait: Date
            switch DeliveryDecision.next(after: result, from: gateway.traits, situation: situation, now: Date()) {
            case .accepted:
                return report
            case .failed(_, let reason, let fallback, _):
                if case .failed = result.outcome {
                } else {
                    report.outcome = .failed(reason: reason, fallback: fallback)
                }
                return report
            case .retry(let at, _, let countsAsAttempt, _):
                if countsAsAttempt { situation.attempts += 1 }
                // Refused before sending, or the gateway paused itself: another gateway first.
                if case .pauseGateway = result.outcome {
                    excluded.insert(name)
                    continue
                }
                guard result.attempted else {
                    excluded.insert(name)
                    continue
                }
                wait = at
            case .pinned(let pin, let resendAt, _, let countsAsAttempt):
                if countsAsAttempt { situation.attempts += 1 }
                situation.pinnedTo = pin
                guard let resendAt else { return report }  // held for reconciliation
                wait = resendAt
            }
            guard fits(wait) else { return report }
            try await sleep(until: wait)
        }
    }
}

extension DeliveryService.Gateway {
    /// What ``DeliveryDecision`` needs to know of this gateway.
    public var traits: DeliveryDecision.Gateway {
        DeliveryDecision.Gateway(
            name: settings.name, deduplicates: adapter.deduplicates,
            deduplicationWindow: adapter.deduplicationWindow.map { Double($0.components.seconds) },
            retry: dispatcher.configuration.retry)
    }
}
