import Config
import Foundation
import Kit
import Ops
import Planning
import Synchronization

/// Whether the store takes writes, as the daemon last found out.
///
/// A write that fails (a full disk, an I/O error) marks it unhealthy: `/healthz` answers 503 with
/// the reason, systemd's STATUS shows it, and the dispatcher stops claiming. The dispatcher
/// probes the store once its sends in flight are done; when a write succeeds again it recovers
/// the messages the failure left `sending`, by the rules of crash recovery, and marks it healthy.
public final class StoreHealth: Sendable {
    private struct State {
        var problem: String?
        var since: Date?
    }

    private let state = Mutex(State())

    public init() {}

    /// Records a failed write; returns `true` the first time (for a single log line).
    @discardableResult
    public func failed(_ error: any Error, at now: Date = Date()) -> Bool {
        state.withLock { state in
            guard state.problem == nil else { return false }
            state.problem = "\(error)"
            state.since = now
            return true
        }
    }

    /// Writes succeed again.
    public func recovered() { state.withLock { $0 = State() } }

    /// Why the store cannot be written, or `nil` when it can.
    public var problem: String? { state.withLock { $0.problem } }

    /// Since when, while it cannot.
    public var since: Date? { state.withLock { $0.since } }
}
