import Foundation
import Registry

/// Writes one import into SQLite on a thread of its own, with a connection of its own, while the
/// caller's thread parses and validates the next batches (``ImportBatchQueue`` between them).
///
/// Parsing and writing each take about as long as the other; on one thread they take turns, on
/// two they overlap. The connection is opened, used and closed on the writer's thread; only
/// batches of `Enterprise` values, the rejected rows and the outcome cross between the threads.
enum SQLiteImportWriter {
    /// Batches queued between the parser and the writer: enough to absorb a slow batch on either
    /// side, few enough that an import of any size holds a few batches (8,192 rows each) in memory.
    static let queueCapacity = 4

    /// Starts the writer's thread on the database at `path`; it opens its transaction at once and
    /// reports its outcome through `queue`.
    static func start(path: String, file: String, replace: Bool, queue: ImportBatchQueue) {
        let thread = Thread {
            queue.finish(Result { try write(path: path, file: file, replace: replace, queue: queue) })
        }
        thread.name = "policypush-import"
        thread.start()
    }

    /// The whole import on a new connection, returning once it is committed or rolled back (the
    /// connection closes when this returns).
    private static func write(
        path: String, file: String, replace: Bool, queue: ImportBatchQueue
    ) throws
        -> ImportCounts
    {
        let connection = try SQLiteConnection(path: path, readOnly: false)
        try connection.execute("PRAGMA cache_size = -\(SQLiteStore.importCacheKiB)")
        // The only foreign key an import writes is `enterprises.import_run`, and the run's row is
        // inserted first in the same transaction: checking it cost a fifth of each sorted upsert.
        // No table references `enterprises`, so the removal a replacing import makes needs none.
        try connection.execute("PRAGMA foreign_keys = OFF")
        return try connection.immediateTransaction {
            var transaction = try SQLiteImportTransaction(connection: connection, file: file, replace: replace)
            queue.didBegin()
            while true {
                switch queue.take() {
                case .batch(let batch): try transaction.write(batch)
                case .end(.abandoned): throw ImportBatchQueue.Abandoned()
                case .end(.complete(let rejected)): return try transaction.finish(rejected: rejected)
                }
            }
        }
    }
}

/// One import inside a write transaction on a SQLite connection: the run's row, the upserts, the
/// removal a replacing import makes, and the counts recorded at the end.
///
/// Rows are upserted in runs of up to `runRows`, each in credit-code order
/// (``CreditCodeOrder``): in file order, keys land on random B-tree pages and SQLite's descents
/// and page splits were 80 % of the writer; in order, a run's keys share their pages. Runs keep
/// the file's order between them and within equal codes, so the counts and the stored attributes
/// are those of an upsert in file order.
struct SQLiteImportTransaction {
    /// Rows sorted and upserted together: the larger, the closer their keys (a whole run of
    /// 1,000,000 shuffled rows upserts 2.5× as fast as in file order, one of 8,192 rows 1.3×), at
    /// about 350 bytes of memory per row held (about 90 MB for this many).
    static let defaultRunRows = 262_144

    let connection: SQLiteConnection
    let run: Int64
    let replace: Bool
    let runRows: Int
    private var writer: EnterpriseWriter
    /// Rows received and not yet upserted, in file order.
    private var pending: [Enterprise] = []

    /// Records the start of the run; call inside the import's transaction.
    init(
        connection: SQLiteConnection, file: String, replace: Bool, runRows: Int = Self.defaultRunRows
    ) throws {
        self.connection = connection
        self.replace = replace
        self.runRows = max(1, runRows)
        let now = try Self.timestamp(connection)
        let startRun = try connection.prepare("INSERT INTO import_runs (file, started_at) VALUES (?1, ?2)")
        try startRun.run(file, now)
        run = connection.lastInsertRowID
        writer = try EnterpriseWriter(connection: connection, run: run, timestamp: now)
    }

    /// Takes `batch` into the current run, upserting the run once it holds `runRows` rows.
    mutating func write(_ batch: [Enterprise]) throws {
        pending.append(contentsOf: batch)
        if pending.count >= runRows { try upsertPending() }
    }

    /// Upserts the rows still pending, removes what a replacing import leaves out (but the
    /// rejected rows' enterprises) and records the run's counts.
    mutating func finish(rejected: RejectedRows) throws -> ImportCounts {
        try upsertPending()
        return try OutboxSQL(connection: connection).finishImport(
            run: run, replace: replace, rejected: rejected, counts: writer.counts,
            finishedAt: try Self.timestamp(connection))
    }

    private mutating func upsertPending() throws {
        for enterprise in CreditCodeOrder.sorted(pending) { try writer.upsert(enterprise) }
        pending.removeAll(keepingCapacity: true)
    }

    /// The current UTC time as ISO 8601 with milliseconds, from SQLite's clock.
    static func timestamp(_ connection: SQLiteConnection) throws -> String {
        try connection.scalarText("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')") ?? ""
    }
}
