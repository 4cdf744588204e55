import Foundation
import Kit

/// Records transitions from many concurrent submitters in few transactions (group commit).
///
/// It owns a thread and its own connection to the store (a SQLite file or a PostgreSQL server).
/// Everything submitted while the previous batch commits, or within `maxDelay` of the first
/// submission, goes into one write transaction (`BEGIN IMMEDIATE … COMMIT` on SQLite); every submitter resumes only after that COMMIT, so an
/// acknowledged transition is durable. The store is then never the bottleneck of dispatch: a
/// thousand in-flight sends cost a transaction, not a thousand.
///
/// - Important: Call `close()` before dropping it; it finishes the work already submitted.
public final class GroupCommitWriter: OutboxWriter, @unchecked Sendable {
    // @unchecked Sendable: `pending`, `pendingCount`, `claims`, `closing`, `finished` and
    // `thread` are only touched with `condition` locked; `sql` (a connection and its statements) only on
    // `thread`, once `init` handed it over.

    /// How the writer groups submissions.
    public struct Configuration: Sendable, Hashable {
        /// How long the first submission of a batch waits for others to join it. Default 2 ms.
        public var maxDelay: Duration
        /// A batch commits at once when it holds this many transitions. Default 4096.
        public var maxBatch: Int

        public init(maxDelay: Duration = .milliseconds(2), maxBatch: Int = 4096) {
            self.maxDelay = maxDelay
            self.maxBatch = maxBatch
        }
    }

    private struct Entry {
        var transitions: [Transition]
        var continuation: CheckedContinuation<Committed, any Error>
        /// Also write a probe row: does the store take writes?
        var probe = false
        /// Claims to undo first.
        var releases: [ClaimRelease] = []
    }

    /// The writer's page cache ceiling, in KiB.
    static let cacheKiB = 32 * 1024
    /// WAL pages between automatic checkpoints (SQLite's default is 1000).
    static let checkpointPages = 20_000

    private struct Claim {
        var now: Date
        var limit: Int
        var lease: TimeInterval
        var continuation: CheckedContinuation<[OutboxMessage], any Error>
    }

    private let configuration: Configuration
    private let condition = NSCondition()
    private var pending: [Entry] = []
    private var claims: [Claim] = []
    private var pendingCount = 0
    private var closing = false
    private var finished = false
    private var thread: Thread?
    /// The outbox's SQL on the writer's connection, whichever backend holds it.
    private let sql: any GroupCommitSQL
    public let node: String?
    /// PostgreSQL: other nodes' daemons write the same store.
    public let isShared: Bool

    /// Opens its own connection to the database at `path`, migrating it if needed.
    ///
    /// The thread starts with the first submission.
    public init(path: String, configuration: Configuration = .init()) throws {
        self.configuration = configuration
        let connection = try SQLiteConnection(path: path, readOnly: false)
        _ = try Migration.migrate(connection, readOnly: false)
        // A batch touches pages all over the outbox's B-trees: a larger cache keeps them out of
        // the kernel, and fewer, larger checkpoints keep copying the WAL back off the commit
        // path (together they take accepted transitions from 20k to 45k a second here). Since
        // claims run here too, no other writer empties this cache at every commit: 32 MiB
        // dispatches from a full outbox as fast as 128 MiB did, at a third of the memory.
        try connection.execute("PRAGMA cache_size = -\(Self.cacheKiB)")
        try connection.execute("PRAGMA wal_autocheckpoint = \(Self.checkpointPages)")
        sql = SQLiteGroupCommit(sql: OutboxSQL(connection: connection))
        node = nil
        isShared = false
    }

    /// Opens its own connection to the PostgreSQL server `connectionString` names, migrating the
    /// database if needed.
    ///
    /// With `node`, claims are stamped with it and `sending` is fenced by its lease (see
    /// ``Store/openWriter(url:node:)``). The thread starts with the first submission.
    public init(postgres connectionString: String, node: String? = nil, configuration: Configuration = .init()) throws {
        self.configuration = configuration
        let connection = try PGConnection(connectionString)
        try PostgresMigration.migrate(connection)
        let outbox = OutboxSQL(connection: connection)
        outbox.node = node
        sql = PostgresGroupCommit(sql: outbox)
        self.node = node
        isShared = true
    }

    /// Records `transitions` as `OutboxStore.record` does, in a transaction shared with other
    /// submitters, and returns the ones applied once they are committed.
    ///
    /// Throws the commit's `StorageError` (the whole batch failed), or `.closed` after `close()`.
    @discardableResult
    public func submit(_ transitions: [Transition]) async throws -> [Transition] {
        try await enqueue(transitions, probe: false).applied
    }

    /// Commits `transition` to `sending` as ``submit(_:)`` does, in a transaction shared with other
    /// submitters, counting it in its ``Transition/budget`` if it has room; says which.
    public func admit(_ transition: Transition) async throws -> SendingCommit {
        let committed = try await enqueue([transition], probe: false)
        if let refusal = committed.refused[transition.messageID] { return .refused(refusal) }
        return committed.applied.isEmpty ? .notApplied : .applied
    }

    /// Commits each of `transitions` to `sending` as ``admit(_:)`` does, as one submission: a
    /// batch of messages its gateway has taken costs one round trip to the writer's thread.
    public func admit(batch transitions: [Transition]) async throws -> [SendingCommit] {
        let committed = try await enqueue(transitions, probe: false)
        let applied = Set(committed.applied.lazy.map(\.messageID))
        return transitions.map { transition in
            if let refusal = committed.refused[transition.messageID] { return .refused(refusal) }
            return applied.contains(transition.messageID) ? .applied : .notApplied
        }
    }

    /// Commits a write of its own (a row in `meta`), with whatever else is pending: it throws
    /// while the store cannot be written (a full disk), and returns once it can again.
    public func probe() async throws {
        _ = try await enqueue([], probe: true)
    }

    /// Undoes `claims` in the next commit (see ``ClaimRelease``).
    public func release(_ claims: [ClaimRelease]) async throws {
        _ = try await enqueue([], probe: false, releases: claims)
    }

    private func enqueue(
        _ transitions: [Transition], probe: Bool, releases: [ClaimRelease] = []
    ) async throws -> Committed {
        try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            guard !closing else {
                condition.unlock()
                continuation.resume(throwing: StorageError(code: .closed, message: "the group commit writer is closed"))
                return
            }
            let wasEmpty = pending.isEmpty
            pending.append(
                Entry(transitions: transitions, continuation: continuation, probe: probe, releases: releases))
            pendingCount += transitions.count
            let full = pendingCount >= configuration.maxBatch
            startIfNeeded()
            if wasEmpty || full { condition.broadcast() }
            condition.unlock()
        }
    }

    /// Claims due messages as `OutboxStore.claimDue` does, on the writer's own connection and
    /// thread, in a transaction of its own committed before this returns.
    ///
    /// The writer commits the transitions submitted so far first (without waiting `maxDelay`
    /// for more). Claiming here rather than on a second connection keeps the two from taking
    /// turns at the write lock (SQLite's busy handler sleeps) and from emptying each other's
    /// page cache at every commit.
    ///
    /// Throws the claim's `StorageError`, or `.closed` after `close()`.
    public func claimDue(
        now: Date, limit: Int, lease: TimeInterval = OutboxLease.default
    ) async throws
        -> [OutboxMessage]
    {
        try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            guard !closing else {
                condition.unlock()
                continuation.resume(throwing: StorageError(code: .closed, message: "the group commit writer is closed"))
                return
            }
            claims.append(Claim(now: now, limit: limit, lease: lease, continuation: continuation))
            startIfNeeded()
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Starts the thread on first use; call with `condition` locked.
    private func startIfNeeded() {
        guard thread == nil else { return }
        let started = Thread { [self] in run() }
        started.name = "policypush-group-commit"
        thread = started
        started.start()
    }

    /// Returns once everything submitted before the call is committed (or failed).
    public func flush() async {
        _ = try? await submit([])
    }

    /// Commits what was submitted, stops the thread and refuses further submissions.
    ///
    /// Blocks the caller until the last batch is committed. Calling it again does nothing.
    public func close() {
        condition.lock()
        closing = true
        condition.broadcast()
        if thread != nil {
            while !finished { condition.wait() }
        }
        condition.unlock()
    }

    private func run() {
        let delaySeconds = configuration.maxDelay.seconds
        while true {
            condition.lock()
            while pending.isEmpty && claims.isEmpty && !closing { condition.wait() }
            if pending.isEmpty && claims.isEmpty {
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            if delaySeconds > 0 && claims.isEmpty {
                let deadline = Date(timeIntervalSinceNow: delaySeconds)
                while !closing && claims.isEmpty && pendingCount < configuration.maxBatch {
                    if !condition.wait(until: deadline) { break }
                }
            }
            let batch = pending
            pending = []
            pendingCount = 0
            let claimsNow = claims
            claims = []
            condition.unlock()

            if !batch.isEmpty { commit(batch) }
            for claim in claimsNow {
                claim.continuation.resume(
                    with: Result { try sql.claimDue(now: claim.now, limit: claim.limit, lease: claim.lease) })
            }
        }
    }

    /// Commits `batch` (outside the lock), then resumes every submitter of it.
    private func commit(_ batch: [Entry]) {
        let result = Result {
            try sql.commit(
                probe: batch.contains(where: \.probe), releases: batch.flatMap(\.releases),
                transitions: batch.map(\.transitions))
        }
        switch result {
        case .success(let applied):
            for (entry, done) in zip(batch, applied) { entry.continuation.resume(returning: done) }
        case .failure(let error):
            for entry in batch { entry.continuation.resume(throwing: error) }
        }
    }
}

/// What the group-commit writer runs on its connection: one batch in one write transaction, and
/// claims. The writer holds it as an existential, one call per batch, so the writer need not be generic.
protocol GroupCommitSQL {
    /// Writes the probe row if asked, undoes `releases`, applies each submitter's transitions, all
    /// in one write transaction, and returns what was applied, submitter by submitter.
    func commit(probe: Bool, releases: [ClaimRelease], transitions: [[Transition]]) throws -> [Committed]

    func claimDue(now: Date, limit: Int, lease: TimeInterval) throws -> [OutboxMessage]
}

/// The writer's SQL on SQLite. A concrete type, not a conformance of the generic `OutboxSQL`: a
/// generic conformance's witnesses run the unspecialized code, and these are the hot paths.
struct SQLiteGroupCommit: GroupCommitSQL {
    let sql: OutboxSQL<SQLiteConnection>

    func commit(probe: Bool, releases: [ClaimRelease], transitions: [[Transition]]) throws -> [Committed] {
        try sql.commitBatch(probe: probe, releases: releases, transitions: transitions)
    }

    func claimDue(now: Date, limit: Int, lease: TimeInterval) throws -> [OutboxMessage] {
        try sql.claimDue(now: now, limit: limit, lease: lease)
    }
}

/// The writer's SQL on PostgreSQL; see ``SQLiteGroupCommit``.
struct PostgresGroupCommit: GroupCommitSQL {
    let sql: OutboxSQL<PGConnection>

    func commit(probe: Bool, releases: [ClaimRelease], transitions: [[Transition]]) throws -> [Committed] {
        try sql.commitBatch(probe: probe, releases: releases, transitions: transitions)
    }

    func claimDue(now: Date, limit: Int, lease: TimeInterval) throws -> [OutboxMessage] {
        try sql.claimDue(now: now, limit: limit, lease: lease)
    }
}

extension OutboxSQL {
    /// One group commit: see ``GroupCommitSQL/commit(probe:releases:transitions:)``.
    func commitBatch(probe: Bool, releases: [ClaimRelease], transitions: [[Transition]]) throws -> [Committed] {
        // At `READ COMMITTED` on PostgreSQL, each message row locked as it is read (see
        // `current(messageID:)`): nodes commit their batches side by side, where `SERIALIZABLE`
        // aborted them over each other's index reads again and again. Built inside the
        // transaction, which a deadlock re-runs.
        try connection.rowLockingTransaction {
            // The fence first, before any message row is held (see `nodeHoldsLease(at:)`).
            let admission = transitions.lazy.joined().first { $0.to == .sending }
            let leaseHeld = try admission.map { try nodeHoldsLease(at: $0.at) }
            if probe { try probeWrite(at: Date()) }
            if !releases.isEmpty { try releaseClaims(releases) }
            return try transitions.map { batch in
                var refused: [Int64: BudgetRefusal] = [:]
                let applied = try applyTransitions(batch, leaseHeld: leaseHeld, refused: &refused)
                return Committed(applied: applied, refused: refused)
            }
        }
    }
}
