/// Anything that can attempt one message: the integrator bridges each gateway adapter to this.
///
/// The dispatcher calls ``send(_:)`` only after the gateway's throttles, pause state and circuit
/// breaker admitted the message, and acts on the outcome it returns.
///
/// - Important: `send` is `nonisolated(nonsending)`: it starts on the dispatcher's executor, so
///   the moment the provider is contacted follows the throttle's decision without a thread hop.
///   Heavy work (signing, encoding) belongs after the first suspension or in a nonisolated helper.
public protocol MessageSender: Sendable {
    /// Attempts `message` once and reports what became of it.
    nonisolated(nonsending) func send(_ message: OutboundMessage) async -> DeliveryOutcome
}
