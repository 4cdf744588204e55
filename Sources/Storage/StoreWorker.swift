import Dispatch
import Foundation

/// The store's connection on a thread of its own, reachable from async code.
///
/// Store calls block (SQLite's and PostgreSQL's); running them on a serial dispatch queue (not the cooperative pool)
/// keeps every actor responsive, and confines the non-`Sendable` store to one thread at a time.
public final class StoreWorker: Sendable {
    private let queue: DispatchQueue
    /// Only touched from `queue`.
    nonisolated(unsafe) private var store: (any PolicyPushStore)?

    /// Opens (and migrates) the store at `path` on the worker's queue.
    public init(path: String, label: String = "policypush.store") throws {
        queue = DispatchQueue(label: label)
        var opened: Result<any PolicyPushStore, Error>!
        queue.sync { opened = Result { try Store.open(at: path) } }
        store = try opened.get()
    }

    /// Opens (and migrates) the store `location` names, as `Store.open(url:)` reads it: a SQLite
    /// path or a PostgreSQL connection string.
    public init(url location: String, label: String = "policypush.store") throws {
        queue = DispatchQueue(label: label)
        var opened: Result<any PolicyPushStore, Error>!
        queue.sync { opened = Result { try Store.open(url: location) } }
        store = try opened.get()
    }

    /// Runs `body` with the store on the worker's queue.
    public func run<T: Sendable>(_ body: @escaping @Sendable (any PolicyPushStore) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { [self] in
                guard let store else {
                    continuation.resume(throwing: StoreClosed())
                    return
                }
                continuation.resume(with: Result { try body(store) })
            }
        }
    }

    /// Closes the connection after the queued work.
    public func close() {
        queue.sync { store = nil }
    }

    public struct StoreClosed: Error, CustomStringConvertible {
        public var description: String { "the store is closed" }
    }
}
