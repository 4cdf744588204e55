import Kit
import Ops
import Storage

/// The metric families `policypush serve` exports on `/metrics`, registered in one `Metrics` registry.
///
/// Label values are low-cardinality by construction: gateway and channel names from the configuration,
/// message and campaign states, receipt outcomes. Never a recipient, message id or error text.
public struct DaemonMetrics: Sendable {
    /// The registry holding the families; render it for the `/metrics` body.
    public let registry: Metrics

    /// `policypush_messages{state,channel,gateway}`: messages per state, set from the store's counts.
    public let messages: Metrics.Gauge
    /// `policypush_send_seconds{gateway}`: the duration of one gateway send call.
    public let sendSeconds: Metrics.Histogram
    /// `policypush_throttle_wait_seconds_total{gateway}`: time spent waiting for the rate limiter.
    public let throttleWaitSeconds: Metrics.Counter
    /// `policypush_breaker_state{gateway}`: 0 closed, 1 half-open, 2 open.
    public let breakerState: Metrics.Gauge
    /// `policypush_receipts_total{gateway,outcome}`: receipts by `ReceiptOutcome`.
    public let receipts: Metrics.Counter
    /// `policypush_replies_total{outcome}`: replies and unsubscribes stored, re-pushed, opting out.
    public let replies: Metrics.Counter
    /// `policypush_queue_depth`: messages due for sending and not yet in flight.
    public let queueDepth: Metrics.Gauge
    /// `policypush_campaigns{state}`: campaigns per state, set from the store.
    public let campaigns: Metrics.Gauge
    /// `policypush_live_nodes`: nodes sharing the store at the last heartbeat (PostgreSQL).
    public let liveNodes: Metrics.Gauge
    /// `policypush_nodes_recovered_total`: nodes whose lease lapsed and whose messages this node recovered.
    public let nodesRecovered: Metrics.Counter

    /// A circuit breaker's state as exported by `breakerState`.
    public enum BreakerState: Double, Sendable {
        case closed = 0
        case halfOpen = 1
        case open = 2
    }

    /// What became of a delivery receipt, the `outcome` label of `receipts`.
    public enum ReceiptOutcome: String, Sendable, CaseIterable {
        /// The provider reports the message delivered.
        case delivered
        /// The provider reports the message failed.
        case failed
        /// A receipt for a message whose final state was already recorded.
        case duplicate
        /// A well-formed receipt that names no message we sent.
        case unmatched
        /// A receipt refused (bad token, malformed body).
        case rejected
    }

    /// Registers the daemon's families in `registry` (a fresh one by default).
    public init(registry: Metrics = Metrics()) {
        self.registry = registry
        messages = registry.gauge(
            "policypush_messages", help: "Messages per state, channel and gateway, as counted in the store.",
            labels: ["state", "channel", "gateway"])
        sendSeconds = registry.histogram(
            "policypush_send_seconds", help: "Duration of gateway send calls in seconds.", labels: ["gateway"],
            buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30])
        throttleWaitSeconds = registry.counter(
            "policypush_throttle_wait_seconds_total", help: "Seconds spent waiting for a gateway's rate limiter.",
            labels: ["gateway"])
        breakerState = registry.gauge(
            "policypush_breaker_state", help: "Circuit breaker state per gateway: 0 closed, 1 half-open, 2 open.",
            labels: ["gateway"])
        receipts = registry.counter(
            "policypush_receipts_total", help: "Delivery receipts received, by outcome.",
            labels: ["gateway", "outcome"])
        replies = registry.counter(
            "policypush_replies_total", help: "Replies and unsubscribes received, by outcome.", labels: ["outcome"])
        queueDepth = registry.gauge(
            "policypush_queue_depth", help: "Messages due for sending and not yet in flight.")
        campaigns = registry.gauge(
            "policypush_campaigns", help: "Campaigns per state, as counted in the store.", labels: ["state"])
        liveNodes = registry.gauge(
            "policypush_live_nodes", help: "Nodes sharing the store at the last heartbeat (1 on SQLite).")
        liveNodes.set(1)
        nodesRecovered = registry.counter(
            "policypush_nodes_recovered_total", help: "Nodes whose lease lapsed and whose messages this node recovered."
        )
    }

    /// Records a breaker transition.
    public func setBreaker(_ state: BreakerState, gateway: String) {
        breakerState.set(state.rawValue, labels: [gateway])
    }

    /// Counts one receipt.
    public func countReceipt(_ outcome: ReceiptOutcome, gateway: String) {
        receipts.increment(labels: [gateway, outcome.rawValue])
    }

    /// Counts what one push of replies did.
    public func countReplies(_ outcome: ReplyOutcome) {
        for (label, count) in [
            ("stored", outcome.stored), ("duplicate", outcome.duplicates), ("opt_out", outcome.optOuts),
            ("message_suppressed", outcome.messagesSuppressed),
        ] where count > 0 {
            replies.increment(by: Double(count), labels: [label])
        }
    }

    /// The `/metrics` body.
    public func render() -> String { registry.render() }
}
