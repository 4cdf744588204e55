import Registry

/// Upserts enterprises one by one into SQLite through statements prepared once for the whole
/// import, each value bound in place (no array of boxed values per row).
///
/// A credit code repeated within one import is counted once, by its first occurrence; the
/// last occurrence's attributes are the ones stored.
///
/// While rows keep turning out new (a first import, new enterprises in a file), each is tried with
/// `INSERT … ON CONFLICT DO NOTHING` first: that finds the key's place in the B-tree once, where a
/// lookup and then an insert descend it twice, and the descent is most of SQLite's work per row.
/// Once a row turns out to be stored, the next ones are looked up first again, as a re-import
/// needs (an insert tried and refused would be a third descent).
///
/// - Important: Lives on its connection's thread, like the connection.
struct EnterpriseWriter {
    let connection: SQLiteConnection
    let run: Int64
    let timestamp: String
    let lookup: Statement
    let insert: Statement
    let insertIfNew: Statement
    let update: Statement
    let touch: Statement
    var counts = ImportCounts()
    /// Whether the last row was new: the next one is tried with `insertIfNew` first.
    private var lastWasNew = true

    init(connection: SQLiteConnection, run: Int64, timestamp: String) throws {
        self.connection = connection
        self.run = run
        self.timestamp = timestamp
        lookup = try connection.prepare(
            "SELECT content_hash, import_run FROM enterprises WHERE credit_code = ?1", persistent: true)
        insert = try connection.prepare(EnterpriseRow.insertSQL, persistent: true)
        insertIfNew = try connection.prepare(
            EnterpriseRow.insertSQL + " ON CONFLICT (credit_code) DO NOTHING", persistent: true)
        update = try connection.prepare(EnterpriseRow.updateSQL, persistent: true)
        touch = try connection.prepare(
            "UPDATE enterprises SET import_run = ?2 WHERE credit_code = ?1", persistent: true)
    }

    mutating func upsert(_ enterprise: Enterprise) throws {
        let custom = CustomAttributes.encode(enterprise.custom)
        let hash = ContentHash.of(enterprise, customJSON: custom)

        if lastWasNew {
            try EnterpriseRow.bind(
                enterprise, custom: custom, hash: hash, run: run, updatedAt: timestamp, createdAt: timestamp,
                to: insertIfNew)
            try insertIfNew.run()
            if connection.changes == 1 {
                counts.inserted += 1
                return
            }
        }
        lookup.reset()
        try lookup.bind(.text(enterprise.creditCode), at: 1)
        let found = try lookup.step()
        let stored: Int64? = found ? lookup.int64(0) : nil
        let seenInThisImport = found && lookup.int64(1) == run
        lookup.reset()
        lastWasNew = stored == nil

        switch stored {
        case hash? where seenInThisImport:
            break
        case _? where seenInThisImport:
            try EnterpriseRow.bind(enterprise, custom: custom, hash: hash, run: run, updatedAt: timestamp, to: update)
            try update.run()
        case nil:
            try EnterpriseRow.bind(
                enterprise, custom: custom, hash: hash, run: run, updatedAt: timestamp, createdAt: timestamp,
                to: insert)
            try insert.run()
            counts.inserted += 1
        case hash:
            touch.reset()
            try touch.bind(.text(enterprise.creditCode), at: 1)
            try touch.bind(.integer(run), at: 2)
            try touch.run()
            counts.unchanged += 1
        default:
            try EnterpriseRow.bind(enterprise, custom: custom, hash: hash, run: run, updatedAt: timestamp, to: update)
            try update.run()
            counts.updated += 1
        }
    }
}
