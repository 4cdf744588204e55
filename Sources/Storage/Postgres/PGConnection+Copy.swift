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
        let sql =
            "COPY \(PGText.identifier(table)) (\(columns.map(PGText.identifier).joined(separator: ", "))) FROM STDIN"
        let start = try check(PQexec(handle, sql), sql: sql)
        guard PQresultStatus(start.handle) == PGRES_COPY_IN else {
            throw StorageError(code: .postgres, message: "COPY did not start", sql: sql)
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(Self.copyChunkSize + 4096)
        do {
            for (number, row) in rows.enumerated() {
                guard row.count == columns.count else {
                    throw StorageError(
                        code: .invalidValue,
                        message: "COPY row \(number + 1): \(row.count) values for \(columns.count) columns", sql: sql)
                }
                for (index, value) in row.enumerated() {
                    if index > 0 { buffer.append(UInt8(ascii: "\t")) }
                    try PGCopyText.append(value.sqliteValue, to: &buffer, row: number + 1, column: columns[index])
                }
                buffer.append(UInt8(ascii: "\n"))
                if buffer.count >= Self.copyChunkSize {
                    try putCopyData(buffer, sql: sql)
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            if !buffer.isEmpty { try putCopyData(buffer, sql: sql) }
        } catch {
            // The server discards the COPY; its answer (an error naming our reason) is drained.
            PQputCopyEnd(handle, "\(error)")
            while let result = PQgetResult(handle) { PQclear(result) }
            throw error
        }
        guard PQputCopyEnd(handle, nil) == 1 else { throw connectionError(sql: sql) }
        var copied = 0
        var failure: StorageError?
        // The COPY's outcome, then the null result that ends the command.
        while let result = PQgetResult(handle) {
            if failure == nil {
                do { copied = try check(result, sql: sql).changes } catch let error as StorageError { failure = error }
            } else {
                PQclear(result)
            }
        }
        if let failure { throw failure }
        return copied
    }

    private func putCopyData(_ bytes: [UInt8], sql: String) throws {
        let sent = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { PQputCopyData(handle, $0.baseAddress, Int32($0.count)) }
        }
        guard sent == 1 else { throw connectionError(sql: sql) }
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
