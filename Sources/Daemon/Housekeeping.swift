import Config
import Foundation
import Kit
import Ops
import Storage

/// Expiry of accepted messages without a receipt, pruning of unmatched receipts and of the shared
/// budget's recipient sends, metrics from the store, systemd's STATUS and WATCHDOG; on a shared
/// store, matching of receipts that came before their message's acceptance was committed.
struct Housekeeping: Service {
    let context: DaemonContext
    let delivery: DeliveryService

    func run() async throws {
        // Expiry runs once a minute of wall time (which a test's clock may move on).
        var lastExpiry = Date.distantPast
        var lastStatus = ContinuousClock.now - .seconds(3600)
        let watchdog = context.notifier.watchdogInterval.map { $0 / 2 } ?? .seconds(2)
        let tick = min(watchdog, .seconds(2))
        let shared = try await context.store.run { $0.isShared }
        while !Task.isCancelled {
            let now = context.now()
            if shared { await matchEarlyReceipts() }
            if now.timeIntervalSince(lastExpiry) >= 60 || now < lastExpiry {
                lastExpiry = now
                await expire(now: now)
            }
            let depth = try await publishMetrics()
            // Campaign counts scan the outbox: every 10 s is enough for `systemctl status`.
            let statusDue = ContinuousClock.now - lastStatus >= .seconds(10)
            if statusDue || context.health.problem != nil {
                context.notifier.status(try await campaignStatus(depth: depth))
            }
            if statusDue { lastStatus = ContinuousClock.now }
            context.notifier.watchdog()
            try await Task.sleep(for: tick)
        }
    }

    /// Nodes commit side by side on a shared store: a receipt reaching one node's listener while
    /// another node's commit of the message's acceptance is under way is stored unmatched, and that
    /// commit (which looked for early receipts before this one was visible) leaves it so. Matching
    /// what is left at every tick settles such a receipt within seconds.
    private func matchEarlyReceipts() async {
        // The race lasts a commit; a minute covers a slow one without rereading old strays.
        let since = context.now().addingTimeInterval(-60)
        do {
            let matched = try await context.store.run { try $0.matchPendingReceipts(receivedAfter: since) }
            if matched > 0 { context.log.info("early receipts matched", ["count": matched]) }
        } catch {
            context.log.warning("early receipts could not be matched; trying again", ["error": "\(error)"])
        }
    }

    private func expire(now: Date) async {
        let configuration = context.inputs.configuration
        let expireCutoff = now.addingTimeInterval(-configuration.daemon.expireAfter)
        let receiptCutoff = now.addingTimeInterval(-configuration.unmatchedReceiptTTL)
        do {
            let expired = try await context.store.run { try $0.expireAccepted(olderThan: expireCutoff, now: now) }
            if expired > 0 { context.log.info("messages expired without a receipt", ["count": expired]) }
            let pruned = try await context.store.run {
                try $0.pruneReceipts(unmatchedBefore: receiptCutoff, keep: configuration.unmatchedReceiptMax)
            }
            if pruned > 0 { context.log.info("unmatched receipts pruned", ["count": pruned]) }
            // The shared budget's recipient sends, once older than the longest window of any gateway.
            let longest =
                delivery.gateways.values.flatMap(\.dispatcher.configuration.recipientWindows)
                .map(\.period.seconds).max() ?? 0
            let sendsCutoff = now.addingTimeInterval(-longest)
            _ = try await context.store.run { try $0.pruneRecipientSends(before: sendsCutoff) }
        } catch {
            // Tried again in a minute; meanwhile /healthz says why.
            if context.health.failed(error) { context.log.error("the store cannot be written", ["error": "\(error)"]) }
        }
    }

    /// Messages by state, channel and gateway, and each gateway's breaker; returns the depth by state.
    private func publishMetrics() async throws -> [MessageState: Int] {
        // One scan of the outbox for both: the depth by state is the sum of the finer counts.
        let counts = try await context.store.run { try $0.messageCounts() }
        var depth: [MessageState: Int] = [:]
        var gauges: [[String]: Double] = [:]
        for c in counts {
            // The labels the metric always had: `none` for no channel, empty for no gateway yet.
            gauges[[c.state.rawValue, c.channel?.rawValue ?? "none", c.gateway ?? ""]] = Double(c.count)
            depth[c.state, default: 0] += c.count
        }
        context.metrics.messages.replaceAll(gauges)
        context.metrics.queueDepth.set(Double((depth[.queued] ?? 0) + (depth[.retryWait] ?? 0)), labels: [])
        for gateway in delivery.gateways.values {
            let snapshot = await gateway.dispatcher.state
            let phase: DaemonMetrics.BreakerState =
                switch snapshot.breaker {
                case .closed: .closed
                case .halfOpen: .halfOpen
                case .open: .open
                }
            context.metrics.setBreaker(phase, gateway: gateway.settings.name)
        }
        return depth
    }

    private func campaignStatus(depth: [MessageState: Int]) async throws -> String {
        let all = try await context.store.run { try $0.campaigns() }
        for state in CampaignState.allCases {
            context.metrics.campaigns.set(Double(all.filter { $0.state == state }.count), labels: [state.rawValue])
        }
        let running = all.filter { $0.state == .running }
        let progress = running.map { c -> String in
            let total = c.counts.values.reduce(0, +)
            let final = c.counts.filter { $0.key.isFinal || $0.key == .accepted }.values.reduce(0, +)
            return "campaign \(c.id) \(total == 0 ? 0 : final * 100 / total)% (\(final)/\(total))"
        }
        var status = progress.isEmpty ? "idle" : progress.joined(separator: ", ")
        if let problem = context.health.problem { status = "store unavailable (\(problem)); " + status }
        status += "; queued \((depth[.queued] ?? 0) + (depth[.retryWait] ?? 0)), sending \(depth[.sending] ?? 0)"
        return status
    }
}
