extension SQLiteConnection: SQLDatabase {
    var dialect: SQLDialect { .sqlite }

    /// A statement prepared as persistent: the store's statements are cached and reused.
    func cursor(_ sql: String) throws -> Statement {
        try prepare(sql, persistent: true)
    }

    /// A statement of its own, not persistent: it is used once.
    func scan(_ sql: String) throws -> Statement {
        try prepare(sql)
    }

    func writeTransaction<T>(_ body: () throws -> T) throws -> T {
        try immediateTransaction(body)
    }

    /// The same `BEGIN IMMEDIATE`: SQLite has one writer at a time.
    func rowLockingTransaction<T>(_ body: () throws -> T) throws -> T {
        try immediateTransaction(body)
    }

    /// A deferred transaction: its snapshot starts at the first read.
    func readTransaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            _ = try? execute("ROLLBACK")
            throw error
        }
    }

    /// `PRAGMA data_version`: it changes when another connection commits.
    func dataVersion() throws -> Int64 {
        try scalarInt("PRAGMA data_version") ?? 0
    }
}

extension Statement: SQLCursor {}
