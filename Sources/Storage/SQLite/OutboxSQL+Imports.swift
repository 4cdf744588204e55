import Foundation

// Imports: the end of an import run, the same on either backend.
extension OutboxSQL {
    /// Ends import run `run` inside its transaction: a replacing import removes the enterprises it
    /// left out (but those of its rejected rows), then the run's counts are recorded. Returns the
    /// counts with the removed ones.
    func finishImport(
        run: Int64, replace: Bool, rejected: RejectedRows, counts: ImportCounts, finishedAt: String
    ) throws -> ImportCounts {
        var counts = counts
        if replace {
            let keep = try statement("UPDATE enterprises SET import_run = ?1 WHERE credit_code = ?2")
            for code in rejected.creditCodes {
                try keep.run(run, code)
            }
            let remove = try statement("DELETE FROM enterprises WHERE import_run <> ?1")
            try remove.run(run)
            counts.removed = connection.changes
        }
        let finishRun = try statement(
            """
            UPDATE import_runs
            SET finished_at = ?2, inserted = ?3, updated = ?4, unchanged = ?5, rejected = ?6, removed = ?7
            WHERE id = ?1
            """)
        try finishRun.run(
            run, finishedAt, counts.inserted, counts.updated, counts.unchanged, rejected.count, counts.removed)
        return counts
    }
}
