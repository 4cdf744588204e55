import Foundation

@testable import Storage

/// What a schema is made of, by name, in terms both SQLite and PostgreSQL can report: tables with
/// their columns in order (and nullability), the indexes created by `CREATE INDEX`, primary keys,
/// unique constraints, foreign keys and triggers. Types and CHECK expressions differ by dialect
/// and are not compared.
struct SchemaShape: Equatable {
    var columns: [String: [String]] = [:]
    var indexes: Set<String> = []
    var primaryKeys: Set<String> = []
    var uniques: Set<String> = []
    var foreignKeys: Set<String> = []
    var triggers: Set<String> = []

    static func column(_ name: String, notNull: Bool) -> String {
        notNull ? "\(name) NOT NULL" : name
    }

    static func index(_ name: String, table: String, columns: [String], unique: Bool, partial: Bool) -> String {
        "\(unique ? "UNIQUE " : "")\(name) ON \(table) (\(columns.joined(separator: ", ")))\(partial ? " WHERE …" : "")"
    }

    /// The shape of a SQLite database, from `sqlite_master` and the table-valued pragmas.
    static func of(_ connection: SQLiteConnection) throws -> SchemaShape {
        var shape = SchemaShape()
        let tables = try connection.prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        var tableNames: [String] = []
        while try tables.step() { tableNames.append(tables.text(0) ?? "") }
        let columns = try connection.prepare("SELECT name, \"notnull\", pk FROM pragma_table_info(?1) ORDER BY cid")
        let indexes = try connection.prepare(
            "SELECT name, \"unique\", partial, origin FROM pragma_index_list(?1)")
        let indexColumns = try connection.prepare("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")
        let foreignKeys = try connection.prepare("SELECT \"from\", \"table\" FROM pragma_foreign_key_list(?1)")
        for table in tableNames {
            try columns.bind(table)
            var primaryKey: [(Int64, String)] = []
            while try columns.step() {
                let name = columns.text(0) ?? ""
                // A primary key column is never NULL in PostgreSQL; SQLite's pragma reports `notnull = 0`
                // for an INTEGER PRIMARY KEY, which cannot hold NULL either.
                shape.columns[table, default: []].append(
                    column(name, notNull: columns.int64(1) == 1 || columns.int64(2) > 0))
                if columns.int64(2) > 0 { primaryKey.append((columns.int64(2), name)) }
            }
            if !primaryKey.isEmpty {
                shape.primaryKeys.insert(
                    "\(table) (\(primaryKey.sorted { $0.0 < $1.0 }.map(\.1).joined(separator: ", ")))")
            }
            try indexes.bind(table)
            var tableIndexes: [(name: String, unique: Bool, partial: Bool, origin: String)] = []
            while try indexes.step() {
                tableIndexes.append(
                    (indexes.text(0) ?? "", indexes.int64(1) == 1, indexes.int64(2) == 1, indexes.text(3) ?? ""))
            }
            for index in tableIndexes {
                try indexColumns.bind(index.name)
                var names: [String] = []
                while try indexColumns.step() { names.append(indexColumns.text(0) ?? "") }
                switch index.origin {
                case "c":
                    shape.indexes.insert(
                        Self.index(
                            index.name, table: table, columns: names, unique: index.unique, partial: index.partial))
                case "u": shape.uniques.insert("\(table) (\(names.joined(separator: ", ")))")
                default: break  // "pk": the primary key, compared above
                }
            }
            try foreignKeys.bind(table)
            while try foreignKeys.step() {
                shape.foreignKeys.insert("\(table).\(foreignKeys.text(0) ?? "") → \(foreignKeys.text(1) ?? "")")
            }
        }
        let triggers = try connection.prepare("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'")
        while try triggers.step() { shape.triggers.insert("\(triggers.text(0) ?? "") ON \(triggers.text(1) ?? "")") }
        return shape
    }

    /// The shape of the current schema of a PostgreSQL database, from `pg_catalog`; `schema_version`
    /// (PostgreSQL's `PRAGMA user_version`) left out.
    static func of(_ connection: PGConnection) throws -> SchemaShape {
        var shape = SchemaShape()
        let columns = try connection.query(
            """
            SELECT c.relname, a.attname, a.attnotnull
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname <> 'schema_version'
            ORDER BY c.relname, a.attnum
            """)
        for row in 0..<columns.rowCount {
            shape.columns[columns.text(row, 0) ?? "", default: []].append(
                column(columns.text(row, 1) ?? "", notNull: columns.text(row, 2) == "t"))
        }
        // Each index with its columns in order; one backing a constraint is that constraint's.
        let indexes = try connection.query(
            """
            SELECT i.relname, t.relname, x.indisunique, x.indpred IS NOT NULL,
                (SELECT string_agg(a.attname, ', ' ORDER BY k.position)
                 FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k (attnum, position)
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum),
                (SELECT con.contype FROM pg_constraint con WHERE con.conindid = x.indexrelid AND con.contype IN ('p', 'u'))
            FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_class t ON t.oid = x.indrelid
            JOIN pg_namespace n ON n.oid = t.relnamespace
            WHERE n.nspname = current_schema() AND t.relname <> 'schema_version'
            """)
        for row in 0..<indexes.rowCount {
            let name = indexes.text(row, 0) ?? ""
            let table = indexes.text(row, 1) ?? ""
            let names = indexes.text(row, 4) ?? ""
            switch indexes.text(row, 5) {
            case "p": shape.primaryKeys.insert("\(table) (\(names))")
            case "u": shape.uniques.insert("\(table) (\(names))")
            default:
                shape.indexes.insert(
                    Self.index(
                        name, table: table, columns: names.components(separatedBy: ", "),
                        unique: indexes.text(row, 2) == "t", partial: indexes.text(row, 3) == "t"))
            }
        }
        let foreignKeys = try connection.query(
            """
            SELECT t.relname, a.attname, r.relname
            FROM pg_constraint c
            JOIN pg_class t ON t.oid = c.conrelid
            JOIN pg_class r ON r.oid = c.confrelid
            JOIN pg_namespace n ON n.oid = t.relnamespace
            JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = c.conkey[1]
            WHERE c.contype = 'f' AND n.nspname = current_schema()
            """)
        for row in 0..<foreignKeys.rowCount {
            shape.foreignKeys.insert(
                "\(foreignKeys.text(row, 0) ?? "").\(foreignKeys.text(row, 1) ?? "") → \(foreignKeys.text(row, 2) ?? "")"
            )
        }
        let triggers = try connection.query(
            """
            SELECT g.tgname, t.relname
            FROM pg_trigger g
            JOIN pg_class t ON t.oid = g.tgrelid
            JOIN pg_namespace n ON n.oid = t.relnamespace
            WHERE NOT g.tgisinternal AND n.nspname = current_schema()
            """)
        for row in 0..<triggers.rowCount {
            shape.triggers.insert("\(triggers.text(row, 0) ?? "") ON \(triggers.text(row, 1) ?? "")")
        }
        return shape
    }
}
