/// The schema history, keyed by `PRAGMA user_version`.
///
/// Version N is reached by applying `Migration.all[N - 1]`, each in its own IMMEDIATE
/// transaction. To change the schema, append a step; never edit one that has shipped.
struct Migration {
    let sql: String

    static let all: [Migration] = [
        Migration(sql: version1)
    ]

    static var latestVersion: Int { all.count }

    /// Brings the database to `latestVersion`, or fails if it is newer than this code.
    ///
    /// Returns the resulting schema version.
    static func migrate(_ connection: SQLiteConnection, readOnly: Bool) throws -> Int {
        var version = try currentVersion(connection)
        try checkNotTooNew(version, path: connection.path)
        if readOnly {
            guard version == latestVersion else {
                throw StorageError(
                    code: .schemaOutdated,
                    message:
                        "\(connection.path) has schema version \(version), this PolicyPush needs \(latestVersion); open it read-write once to migrate"
                )
            }
            return version
        }
        while version < latestVersion {
            version = try connection.immediateTransaction {
                // Another process may have migrated between our read and taking the write lock.
                let locked = try currentVersion(connection)
                try checkNotTooNew(locked, path: connection.path)
                guard locked < latestVersion else { return locked }
                try connection.execute(all[locked].sql)
                try connection.execute("PRAGMA user_version = \(locked + 1)")
                return locked + 1
            }
        }
        return version
    }

    private static func currentVersion(_ connection: SQLiteConnection) throws -> Int {
        Int(try connection.scalarInt("PRAGMA user_version") ?? 0)
    }

    private static func checkNotTooNew(_ version: Int, path: String) throws {
        guard version <= latestVersion else {
            throw StorageError(
                code: .schemaTooNew,
                message:
                    "\(path) has schema version \(version), newer than \(latestVersion) known to this PolicyPush; upgrade it",
                sql: "PRAGMA user_version")
        }
    }
}

extension Migration {
    /// Enterprises and the import runs that wrote them.
    ///
    /// `enterprises` is WITHOUT ROWID: the credit code is the only key, so rows live in one
    /// B-tree in credit-code order and listing needs no sort.
    static let version1 = """
        CREATE TABLE import_runs (
            id INTEGER PRIMARY KEY,
            file TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            inserted INTEGER NOT NULL DEFAULT 0,
            updated INTEGER NOT NULL DEFAULT 0,
            unchanged INTEGER NOT NULL DEFAULT 0,
            rejected INTEGER NOT NULL DEFAULT 0,
            removed INTEGER NOT NULL DEFAULT 0
        ) STRICT;

        CREATE TABLE enterprises (
            credit_code TEXT NOT NULL PRIMARY KEY,
            name TEXT NOT NULL,
            taxpayer_type TEXT,
            industry_code TEXT,
            region TEXT,
            registered_on INTEGER,
            employees INTEGER,
            annual_sales REAL,
            taxable_income REAL,
            total_assets REAL,
            credit_rating TEXT,
            high_tech INTEGER CHECK (high_tech IN (0, 1)),
            mobile TEXT,
            wechat_openid TEXT,
            sms_opt_out INTEGER NOT NULL CHECK (sms_opt_out IN (0, 1)),
            wechat_opt_out INTEGER NOT NULL CHECK (wechat_opt_out IN (0, 1)),
            custom TEXT,
            content_hash INTEGER NOT NULL,
            import_run INTEGER NOT NULL REFERENCES import_runs (id),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        ) STRICT, WITHOUT ROWID;
        """
}
