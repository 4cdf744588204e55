import Registry

/// Upserts enterprises one by one through statements prepared once for the whole import.
///
/// A credit code repeated within one import is counted once, by its first occurrence; the
/// last occurrence's attributes are the ones stored.
struct EnterpriseWriter<Database: SQLDatabase> {
    let run: Int64
    let timestamp: String
    let lookup: Database.Cursor
    let insert: Database.Cursor
    let update: Database.Cursor
    let touch: Database.Cursor
    var counts = ImportCounts()

    init(connection: Database, run: Int64, timestamp: String) throws {
        self.run = run
        self.timestamp = timestamp
        lookup = try connection.cursor(
            "SELECT content_hash, import_run FROM enterprises WHERE credit_code = ?1")
        insert = try connection.cursor(EnterpriseRow.insertSQL)
        update = try connection.cursor(EnterpriseRow.updateSQL)
        touch = try connection.cursor(
            "UPDATE enterprises SET import_run = ?2 WHERE credit_code = ?1")
    }

    mutating func upsert(_ enterprise: Enterprise) throws {
        let custom = CustomAttributes.encode(enterprise.custom)
        let hash = ContentHash.of(enterprise, customJSON: custom)

        try lookup.bind(enterprise.creditCode)
        let found = try lookup.step()
        let stored: Int64? = found ? try lookup.int64(0) : nil
        let seenInThisImport = try found && lookup.int64(1) == run
        lookup.reset()

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
            try touch.run(enterprise.creditCode, run)
            counts.unchanged += 1
        default:
            try EnterpriseRow.bind(enterprise, custom: custom, hash: hash, run: run, updatedAt: timestamp, to: update)
            try update.run()
            counts.updated += 1
        }
    }
}
