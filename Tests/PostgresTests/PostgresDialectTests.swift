import Testing

@testable import Storage

/// Each rule of the SQLite-to-PostgreSQL translation, and what it must leave alone.
@Suite struct PostgresDialectTests {
    @Test(arguments: [
        ("SELECT a FROM t WHERE b = ?1 AND c = ?12", "SELECT a FROM t WHERE b = $1 AND c = $12"),
        ("UPDATE t SET a = ?2 WHERE id = ?1 OR ?2 IS NULL", "UPDATE t SET a = $2 WHERE id = $1 OR $2 IS NULL"),
        ("SELECT max(at), min(at) FROM t", "SELECT max(at), min(at) FROM t"),
        ("SET last = max(last, ?3), first = MIN(first, ?3)", "SET last = GREATEST(last, $3), first = LEAST(first, $3)"),
        ("SELECT max(coalesce(a, 0)) FROM t", "SELECT max(coalesce(a, 0)) FROM t"),
        ("SELECT max(a, min(b, c)) FROM t", "SELECT GREATEST(a, LEAST(b, c)) FROM t"),
        ("SELECT taxmax(a, b), max_at FROM t", "SELECT taxmax(a, b), max_at FROM t"),
        (
            "SELECT id FROM t ORDER BY at DESC LIMIT -1 OFFSET ?1",
            "SELECT id FROM t ORDER BY at DESC LIMIT ALL OFFSET $1"
        ),
        ("SELECT 'why?1', \"max(a, b)\" FROM t WHERE a = ?1", "SELECT 'why?1', \"max(a, b)\" FROM t WHERE a = $1"),
        ("SELECT 'it''s ?1' WHERE a = ?2", "SELECT 'it''s ?1' WHERE a = $2"),
    ])
    func translates(_ sqlite: String, _ postgres: String) {
        #expect(PGDialect.translate(sqlite) == postgres)
    }

    @Test(arguments: [
        ("postgres://node1/policypush", StoreLocation.postgres(connectionString: "postgres://node1/policypush")),
        ("postgresql://u@h:5433/d", .postgres(connectionString: "postgresql://u@h:5433/d")),
        (
            "host=/run/postgresql dbname=policypush",
            .postgres(connectionString: "host=/run/postgresql dbname=policypush")
        ),
        ("/var/lib/policypush/policypush.sqlite", .sqlite(path: "/var/lib/policypush/policypush.sqlite")),
        ("state/a=b/store.sqlite", .sqlite(path: "state/a=b/store.sqlite")),
        ("/srv/x=1/store.sqlite", .sqlite(path: "/srv/x=1/store.sqlite")),
        ("store.sqlite", .sqlite(path: "store.sqlite")),
    ])
    func aLocationNamesItsBackend(_ location: String, _ expected: StoreLocation) {
        #expect(StoreLocation(location) == expected)
    }
}
