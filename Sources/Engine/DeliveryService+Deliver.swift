import Delivery
import Foundation
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
    /// deferrals, and never sends twice blind.
    ///
    /// An ambiguous send (sent, no answer) is repeated only through a gateway that deduplicates by
    /// our id, with the same id; otherwise it is returned for reconciliation, and no other gateway
    /// is tried. Waiting stops at `deadline`.
    ///
    /// - Parameter build: the message for a gateway kind (templates differ per provider); the id
    ///   must be the same whatever the kind.
    public func deliver(
        on channel: Channel, deadline: Duration = .seconds(60),
        build: (GatewaySettings.Kind) throws -> OutboundMessage
    ) async throws -> DeliveryReport {
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: deadline)
        var report = DeliveryReport(
            outcome: .failed(reason: ReasonCode("route", "no-gateway"), fallback: true), gateway: nil, attempts: 0,
            steps: [])
        guard let router = routers[channel] else { return report }
        func fits(_ date: Date) -> Bool { clock.now.advanced(by: .seconds(date.timeIntervalSinceNow)) < end }
        func sleep(until date: Date) async throws { try await clock.sleep(for: .seconds(max(0, date.timeIntervalSinceNow))) }

        var excluded: Set<String> = []
        // Set after an ambiguous send to a deduplicating gateway: the same id goes back there only.
        var pinned: Gateway?
        var attemptsByGateway: [String: Int] = [:]
        let firstAttemptAt = Date()
        while true {
            try Task.checkCancellation()
            let gateway: Gateway
            if let pinned {
                gateway = pinned
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
            switch result.outcome {
            case .accepted, .failed:
                return report
            case .ambiguous:
                guard gateway.adapter.deduplicates else { return report }  // held for reconciliation
                pinned = gateway
                fallthrough
            case .retry:
                let attempt = attemptsByGateway[name, default: 0] + 1
                attemptsByGateway[name] = attempt
                var earliest: Date?
                if case .retry(let after, _) = result.outcome { earliest = after }
                let decision = gateway.dispatcher.configuration.retry.next(
                    attempt: attempt, firstAttemptAt: firstAttemptAt, now: Date(), providerEarliest: earliest)
                switch decision {
                case .retry(let at):
                    wait = at
                case .giveUp(let reason):
                    if case .ambiguous = result.outcome { return report }
                    report.outcome = .failed(reason: reason, fallback: false)
                    return report
                }
            case .deferred(let until, _):
                guard result.attempted || pinned != nil else {
                    // Refused before sending (open breaker, recipient window): another gateway first.
                    excluded.insert(name)
                    continue
                }
                wait = until
            case .pauseGateway:
                guard pinned == nil else { return report }
                excluded.insert(name)
                continue
            }
            guard fits(wait) else { return report }
            try await sleep(until: wait)
        }
    }
}
