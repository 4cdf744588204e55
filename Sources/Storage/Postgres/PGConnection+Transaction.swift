internal import CPostgreSQL

#if canImport(Glibc)
    internal import Glibc
#endif

/// How strictly a transaction is isolated from concurrent ones (PostgreSQL's levels).
enum PGIsolation: String, Sendable {
    case readCommitted = "READ COMMITTED"
    case repeatableRead = "REPEATABLE READ"
    case serializable = "SERIALIZABLE"
}

extension PGConnection {
    /// Runs `body` in a transaction, committing if it returns and rolling back if it throws.
    ///
    /// A serialization failure or a deadlock (`.conflict`: the server aborted us so that a
    /// concurrent transaction could go on) runs the whole transaction again, up to `attempts` times
    /// in all; that is the retry PostgreSQL's documentation asks of a client at `REPEATABLE READ`
    /// and `SERIALIZABLE`. So `body` must be safe to run again: it should only touch the database
    /// and values it returns.
    ///
    /// A statement that failed inside `body` aborts the transaction even if `body` caught the
    /// error; the commit then fails rather than reporting a rollback as success.
    ///
    /// Between attempts it waits a random 0–2^attempt ms (at most 64 ms): transactions that
    /// aborted each other do not collide again at once. Several nodes' writers conflict often
    /// under load at `SERIALIZABLE`, so the default gives 30 attempts, about a second in all.
    func transaction<T>(
        _ isolation: PGIsolation = .readCommitted, attempts: Int = 30, _ body: () throws -> T
    ) throws -> T {
        var attempt = 1
        while true {
            try execute("BEGIN ISOLATION LEVEL \(isolation.rawValue)")
            do {
                let result = try body()
                guard PQtransactionStatus(handle) != PQTRANS_INERROR else {
                    throw StorageError(
                        code: .postgres, message: "a statement failed inside the transaction, so it was rolled back",
                        sql: "COMMIT", sqlState: "25P02")
                }
                if let channel = commitNotification { try notify(channel) }
                try execute("COMMIT")
                return result
            } catch let error as StorageError where error.code == .conflict && attempt < attempts {
                rollBackIfOpen()
                usleep(UInt32.random(in: 0...UInt32(1000 << min(attempt, 6))))
                attempt += 1
            } catch {
                rollBackIfOpen()
                throw error
            }
        }
    }

    /// Ends an open or aborted transaction; if that fails too, the connection is broken and the
    /// original error is the one to report.
    private func rollBackIfOpen() {
        if inTransaction { _ = try? execute("ROLLBACK") }
    }
}
