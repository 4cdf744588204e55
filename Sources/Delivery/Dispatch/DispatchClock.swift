/// An injected `Clock<Duration>` reduced to what the dispatcher needs: elapsed time since it was
/// created, and sleeping until a point on that scale.
struct DispatchClock: Sendable {
    let elapsed: @Sendable () -> Duration
    let sleep: @Sendable (_ until: Duration) async throws -> Void

    init<C: Clock>(_ clock: C) where C.Duration == Duration {
        let origin = clock.now
        elapsed = { origin.duration(to: clock.now) }
        sleep = { deadline in try await clock.sleep(until: origin.advanced(by: deadline), tolerance: .zero) }
    }
}
