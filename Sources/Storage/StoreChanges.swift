import Dispatch
import Foundation
import Synchronization

/// Operators' writes to a shared store, as the daemons hear of them: a `LISTEN` on
/// ``channel``, to which every campaign created, approved, rejected, paused, resumed, cancelled or
/// re-sent and every suppression added or removed sends a `NOTIFY` inside its transaction (so the
/// daemons hear of it when it commits, never before).
///
/// A daemon waits on it (``wait(after:timeout:)``) instead of polling, so a CLI command acts on
/// every node within milliseconds. Notifications are not stored: a listener that reconnects has
/// missed some, so it counts a change then too, and waiters keep a fallback timeout.
///
/// The connection lives on a thread of its own, blocked in poll(2) a quarter second at a time:
/// it never blocks the cooperative pool.
public final class StoreChanges: Sendable {
    /// The channel operators' writes notify, before the schema's name is added.
    public static let channel = "policypush_control"

    /// The channel of the store `connection` works in: channels are the database's, so each schema
    /// (a store of its own: a district's beside another's) has one, and one store's writes never
    /// wake another's daemons. At most 63 bytes, PostgreSQL's identifier length.
    static func channel(on connection: PGConnection) throws -> String {
        let schema = try connection.query("SELECT current_schema()").text(0, 0) ?? "public"
        var name = channel + ":" + schema
        while name.utf8.count > 63 { name.removeLast() }
        return name
    }

    /// How long the listener waits in one poll(2) before looking whether it should stop.
    static let pollSlice: Duration = .milliseconds(250)

    private struct State {
        var generation: UInt64 = 0
        /// Waiters suspended until the generation moves.
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        /// Waiters issued an id and not yet suspended; a cancellation meanwhile moves one to `cancelled`.
        var pending: Set<Int> = []
        var cancelled: Set<Int> = []
        var nextWaiter = 0
        var stopping = false
        /// The first connection's failure, reported by `init`.
        var startFailure: (any Error)?
    }

    private let state = Mutex(State())
    /// Signalled by the listener thread once when it has connected (or failed to), and once when it ends.
    private let started = DispatchSemaphore(value: 0)
    private let ended = DispatchSemaphore(value: 0)

    /// Connects to the PostgreSQL store `connectionString` names and listens on ``channel``.
    ///
    /// - Throws: the connection's error, when the first connection fails.
    init(postgres connectionString: String) throws {
        let thread = Thread { [self] in
            listen(connectionString)
            ended.signal()
        }
        thread.name = "policypush.changes"
        thread.start()
        started.wait()
        if let failure = state.withLock({ $0.startFailure }) {
            ended.wait()
            throw failure
        }
    }

    /// How many changes were heard so far (a reconnection counts as one).
    public var generation: UInt64 {
        state.withLock { $0.generation }
    }

    /// Returns the generation once it differs from `seen`, or when `timeout` has passed, or at
    /// once after ``close()``.
    public func wait(after seen: UInt64, timeout: Duration) async -> UInt64 {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask { await self.change(after: seen) }
            await group.next()
            group.cancelAll()
        }
        return generation
    }

    /// Stops listening and wakes every waiter; calling it again does nothing.
    ///
    /// - Important: Blocks the caller until the listener thread has closed its connection (at most
    ///   a quarter second).
    public func close() {
        let (waiters, first) = state.withLock { state in
            defer {
                state.stopping = true
                state.waiters = [:]
            }
            return (Array(state.waiters.values), !state.stopping)
        }
        for waiter in waiters { waiter.resume() }
        if first { ended.wait() }
    }

    private func change(after seen: UInt64) async {
        let id = state.withLock { state in
            state.nextWaiter += 1
            state.pending.insert(state.nextWaiter)
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state in
                    state.pending.remove(id)
                    if state.cancelled.remove(id) != nil || state.generation != seen || state.stopping { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
                if state.pending.remove(id) != nil { state.cancelled.insert(id) }
                return nil
            }
            waiter?.resume()
        }
    }

    /// Counts a change and wakes the waiters (resumed outside the lock).
    private func changed() {
        let waiters = state.withLock { state in
            state.generation &+= 1
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    private var stopping: Bool { state.withLock { $0.stopping } }

    /// The listener thread: connects, then waits for notifications until ``close()``; a lost
    /// connection is retried each second, and counts as a change once back (notifications sent
    /// meanwhile are lost).
    private func listen(_ connectionString: String) {
        var connection: PGConnection?
        do {
            connection = try Self.connect(connectionString)
        } catch {
            state.withLock { $0.startFailure = error }
        }
        started.signal()
        guard connection != nil else { return }
        while !stopping {
            do {
                guard let live = connection else {
                    Thread.sleep(forTimeInterval: 1)
                    guard !stopping else { return }
                    connection = try Self.connect(connectionString)
                    changed()
                    continue
                }
                guard try live.nextNotification(timeout: Self.pollSlice) != nil else { continue }
                // One wake for a burst: whatever else has arrived is the same news.
                while try live.nextNotification(timeout: .zero) != nil {}
                changed()
            } catch {
                connection = nil
            }
        }
    }

    private static func connect(_ connectionString: String) throws -> PGConnection {
        let connection = try PGConnection(connectionString)
        try connection.listen(try channel(on: connection))
        return connection
    }
}

extension Store {
    /// Listens for operators' writes to the store `location` names: a ``StoreChanges`` on a
    /// PostgreSQL store; `nil` on SQLite, where a daemon polls `PRAGMA data_version` (one file,
    /// one machine: a poll is cheap and sees every connection's commits).
    public static func changes(url location: String) throws -> StoreChanges? {
        switch StoreLocation(location) {
        case .postgres(let connectionString): try StoreChanges(postgres: connectionString)
        case .sqlite: nil
        }
    }
}
