import Config
import Foundation
import Kit
import Messaging
import Ops
import Planning
import Rules
import Storage
import Synchronization

/// What the daemon's services share: the store, the live inputs (which SIGHUP swaps), wall time
/// and the ops surface.
public struct DaemonContext: Sendable {
    /// What SIGHUP can swap: the configuration, policies and templates.
    public struct Inputs: Sendable {
        public var configuration: Configuration
        public var catalog: PolicyCatalog
        public var renderer: PackageRenderer
        /// The keys of package links (`landing.secret_file`).
        public var linkTokens: LinkTokens
    }

    public let store: StoreWorker
    public let log: Log
    public let notifier: SystemdNotifier
    public let metrics: DaemonMetrics
    public let health: StoreHealth
    /// Wall-clock time: every recorded time, quiet hours, expiry, reconciliation.
    public let now: @Sendable () -> Date
    /// How many nodes share the store (``LiveNodes/liveNodes``), kept by ``NodeMembership``.
    public var nodes = LiveNodes()
    let current: InputsBox
    /// Operators' writes on a shared (PostgreSQL) store, heard through `LISTEN`; `nil` on SQLite,
    /// where the services poll `PRAGMA data_version`.
    var changes: StoreChanges? = nil

    /// The inputs now (after the last successful reload).
    public var inputs: Inputs { current.value.withLock { $0 } }
}

/// The daemon's inputs behind a lock, swapped whole on reload.
final class InputsBox: Sendable {
    let value: Mutex<DaemonContext.Inputs>
    init(_ inputs: DaemonContext.Inputs) { value = Mutex(inputs) }
}
