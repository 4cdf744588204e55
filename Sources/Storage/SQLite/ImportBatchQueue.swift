import Foundation
import Registry

/// The batches of one import on their way from the thread that parses and validates them (the
/// caller's) to the thread that writes them (``SQLiteImportWriter``'s), so that the two work at
/// the same time.
///
/// Bounded: the parser waits while `capacity` batches are queued, so an import holds a few
/// batches in memory whatever the size of its file. Each side can stop the other: when the
/// writer fails, the parser's next ``put(_:)`` throws the writer's error; when the parser fails,
/// it closes the queue as abandoned and the writer rolls back.
final class ImportBatchQueue: @unchecked Sendable {
    // @unchecked Sendable: every stored property but `capacity` is touched only with `condition`
    // locked.

    /// How the parser ended: with the rows it rejected, or by failing.
    enum End {
        case complete(RejectedRows)
        case abandoned
    }

    /// What the writer takes next.
    enum Next {
        case batch([Enterprise])
        case end(End)
    }

    /// The writer's error when the parser abandoned the import.
    struct Abandoned: Error {}

    private let capacity: Int
    private let condition = NSCondition()
    private var batches: [[Enterprise]] = []
    private var end: End?
    /// Set once the writer's transaction is open (or failed to open).
    private var began = false
    private var outcome: Result<ImportCounts, any Error>?

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    // MARK: The parser's side

    /// Waits until the writer has opened its transaction, so that the import holds the write lock
    /// before any row is read; throws the writer's error if it could not.
    func awaitBegin() throws {
        condition.lock()
        defer { condition.unlock() }
        while !began && outcome == nil { condition.wait() }
        if case .failure(let error) = outcome { throw error }
    }

    /// Queues `batch` for the writer, waiting while the queue is full.
    ///
    /// - Throws: the writer's error once it has failed; nothing more is written then.
    func put(_ batch: [Enterprise]) throws {
        condition.lock()
        defer { condition.unlock() }
        while batches.count >= capacity && outcome == nil { condition.wait() }
        if case .failure(let error) = outcome { throw error }
        batches.append(batch)
        condition.broadcast()
    }

    /// Tells the writer that no batch follows.
    func close(_ end: End) {
        condition.lock()
        self.end = end
        condition.broadcast()
        condition.unlock()
    }

    /// Waits for the writer's outcome: the committed counts, or its error after rolling back.
    func awaitOutcome() -> Result<ImportCounts, any Error> {
        condition.lock()
        defer { condition.unlock() }
        while outcome == nil { condition.wait() }
        return outcome!
    }

    // MARK: The writer's side

    /// Tells the parser the transaction is open.
    func didBegin() {
        condition.lock()
        began = true
        condition.broadcast()
        condition.unlock()
    }

    /// The next batch, or how the parser ended once every batch is taken; waits for either.
    func take() -> Next {
        condition.lock()
        defer { condition.unlock() }
        while batches.isEmpty && end == nil { condition.wait() }
        if case .abandoned = end { return .end(.abandoned) }
        guard batches.isEmpty else {
            condition.broadcast()
            return .batch(batches.removeFirst())
        }
        return .end(end!)
    }

    /// Records the writer's outcome (after its commit or rollback) and wakes the parser.
    func finish(_ result: Result<ImportCounts, any Error>) {
        condition.lock()
        outcome = result
        batches.removeAll()
        condition.broadcast()
        condition.unlock()
    }
}
