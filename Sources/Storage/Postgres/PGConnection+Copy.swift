internal import CPostgreSQL

extension PGConnection {
    /// Bytes gathered before each `PQputCopyData`: large enough that a call carries many rows.
    static let copyChunkSize = 256 * 1024

    /// Inserts `rows` into `table` with `COPY … FROM STDIN` (text format), the bulk path: one
    /// statement and a stream of rows instead of one round trip per row.
    ///
    /// Each row holds one value per column, bound as ``query(_:_:)`` binds; returns the number of
    /// rows copied. A value that cannot be copied (text with a 0x00, a row of the wrong width)
    /// aborts the COPY, so no row of it is kept.
    @discardableResult
    func copy<Rows: Sequence>(into table: String, columns: [String], rows: Rows) throws -> Int
    where Rows.Element == [any SQLBindable] {
        let stream = try beginCopy(into: table, columns: columns)
        do {
            for row in rows {
                for value in row { try stream.append(value.sqliteValue) }
                try stream.endRow()
            }
            return try stream.finish()
        } catch {
            stream.abort(error)
            throw error
        }
    }

    /// Starts `COPY table (columns) FROM STDIN` (text format) and returns the stream to write its
    /// rows into; until the stream finishes or aborts, the connection carries nothing else.
    func beginCopy(into table: String, columns: [String]) throws -> PGCopyIn {
        let sql =
            "COPY \(PGText.identifier(table)) (\(columns.map(PGText.identifier).joined(separator: ", "))) FROM STDIN"
        let start = try check(PQexec(handle, sql), sql: sql)
        guard PQresultStatus(start.handle) == PGRES_COPY_IN else {
            throw StorageError(code: .postgres, message: "COPY did not start", sql: sql)
        }
        return PGCopyIn(connection: self, sql: sql, columns: columns)
    }

    fileprivate func putCopyData(_ bytes: [UInt8], sql: String) throws {
        let sent = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { PQputCopyData(handle, $0.baseAddress, Int32($0.count)) }
        }
        guard sent == 1 else { throw connectionError(sql: sql) }
    }
}

/// A `COPY … FROM STDIN` under way: values are appended one at a time, a row is ended, and the
/// rows go to the server in chunks of ``PGConnection/copyChunkSize`` while the caller produces
/// the next ones (the server parses and inserts them meanwhile).
///
/// No row is kept unless ``finish()`` succeeds; a caller that fails half-way calls
/// ``abort(_:)``, and the server discards the whole COPY.
///
/// - Important: Belongs to its connection's thread, like the connection.
final class PGCopyIn {
    let sql: String
    let columns: [String]
    private let connection: PGConnection
    private var buffer: [UInt8] = []
    /// The column the next value goes to.
    private var column = 0
    /// Rows ended so far.
    private(set) var rows = 0
    private var open = true

    fileprivate init(connection: PGConnection, sql: String, columns: [String]) {
        self.connection = connection
        self.sql = sql
        self.columns = columns
        buffer.reserveCapacity(PGConnection.copyChunkSize + 4096)
    }

    /// Appends the next column's value to the current row.
    ///
    /// - Throws: `.invalidValue` for a value COPY cannot carry (text with a 0x00) or one value too
    ///   many for the row.
    func append(_ value: SQLiteValue) throws {
        guard column < columns.count else {
            throw StorageError(
                code: .invalidValue, message: "COPY row \(rows + 1): more than \(columns.count) values", sql: sql)
        }
        if column > 0 { buffer.append(UInt8(ascii: "\t")) }
        try PGCopyText.append(value, to: &buffer, row: rows + 1, column: columns[column])
        column += 1
    }

    /// Ends the current row, sending the rows gathered so far once they fill a chunk.
    func endRow() throws {
        guard column == columns.count else {
            throw StorageError(
                code: .invalidValue, message: "COPY row \(rows + 1): \(column) values for \(columns.count) columns",
                sql: sql)
        }
        buffer.append(UInt8(ascii: "\n"))
        column = 0
        rows += 1
        if buffer.count >= PGConnection.copyChunkSize {
            try connection.putCopyData(buffer, sql: sql)
            buffer.removeAll(keepingCapacity: true)
        }
    }

    /// Sends the last rows and ends the COPY; returns the number of rows the server copied.
    ///
    /// - Throws: the server's error (a constraint, a value of the wrong type), after which no
    ///   row of this COPY is kept.
    func finish() throws -> Int {
        if !buffer.isEmpty { try connection.putCopyData(buffer, sql: sql) }
        open = false
        guard PQputCopyEnd(connection.handle, nil) == 1 else { throw connection.connectionError(sql: sql) }
        var copied = 0
        var failure: StorageError?
        // The COPY's outcome, then the null result that ends the command.
        while let result = PQgetResult(connection.handle) {
            if failure == nil {
                do { copied = try connection.check(result, sql: sql).changes } catch let error as StorageError {
                    failure = error
                }
            } else {
                PQclear(result)
            }
        }
        if let failure { throw failure }
        return copied
    }

    /// Ends a COPY that will not finish: the server discards it, and its answer (an error naming
    /// `reason`) is drained. Does nothing once the COPY has finished or aborted.
    func abort(_ reason: any Error) {
        guard open else { return }
        open = false
        PQputCopyEnd(connection.handle, "\(reason)")
        while let result = PQgetResult(connection.handle) { PQclear(result) }
    }
}

/// Values as COPY's text format spells them: tab between columns, `\N` for NULL, and
/// backslash escapes for backslash, tab, newline and carriage return inside a value.
enum PGCopyText {
    static func append(_ value: SQLiteValue, to buffer: inout [UInt8], row: Int, column: String) throws {
        switch value {
        case .null:
            buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "N")])
        case .integer(let integer):
            buffer.append(contentsOf: String(integer).utf8)
        case .real(let real):
            buffer.append(contentsOf: PGText.real(real).utf8)
        case .text(let text):
            for byte in text.utf8 {
                switch byte {
                case 0:
                    throw StorageError(
                        code: .invalidValue, message: "COPY row \(row), column \(column): text cannot hold a 0x00")
                case UInt8(ascii: "\\"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
                case UInt8(ascii: "\t"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
                case UInt8(ascii: "\n"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
                case UInt8(ascii: "\r"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
                default: buffer.append(byte)
                }
            }
        case .blob(let bytes):
            // bytea's hex input `\x…`, its backslash escaped for COPY.
            buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\"), UInt8(ascii: "x")])
            let digits = Array("0123456789abcdef".utf8)
            for byte in bytes {
                buffer.append(digits[Int(byte >> 4)])
                buffer.append(digits[Int(byte & 0x0f)])
            }
        }
    }
}
