internal import CPostgreSQL
import Foundation

/// The rows a statement returned, in text format, with typed getters like ``Statement``'s.
///
/// Rows and columns count from 0. A getter throws `.corrupt` naming the row and column when the
/// text is not of the type asked for (an `int64` read of a text column), rather than guessing.
final class PGResult {
    let handle: OpaquePointer

    init(_ handle: OpaquePointer) {
        self.handle = handle
    }

    deinit {
        PQclear(handle)
    }

    var rowCount: Int { Int(PQntuples(handle)) }

    var columnCount: Int { Int(PQnfields(handle)) }

    /// Rows inserted, updated, deleted or copied by the statement (0 for others).
    var changes: Int { Int(String(cString: PQcmdTuples(handle))) ?? 0 }

    /// The name of `column`, as the query's select list gave it.
    func columnName(_ column: Int) -> String {
        String(cString: PQfname(handle, Int32(column)))
    }

    func isNull(_ row: Int, _ column: Int) -> Bool {
        PQgetisnull(handle, Int32(row), Int32(column)) == 1
    }

    /// The value as UTF-8 text; `nil` when it is NULL.
    func text(_ row: Int, _ column: Int) -> String? {
        withBytes(row, column) { String(decoding: $0, as: UTF8.self) }
    }

    /// The value as an integer; `nil` when it is NULL.
    func optionalInt64(_ row: Int, _ column: Int) throws -> Int64? {
        guard let parsed = withBytes(row, column, PGResult.parseInt64) else { return nil }
        guard let parsed else { throw mismatch(row, column, expected: "an integer") }
        return parsed
    }

    func int64(_ row: Int, _ column: Int) throws -> Int64 {
        guard let value = try optionalInt64(row, column) else { throw mismatch(row, column, expected: "an integer") }
        return value
    }

    /// The value as a double (`float8` or any number); `nil` when it is NULL.
    func optionalDouble(_ row: Int, _ column: Int) throws -> Double? {
        guard let text = text(row, column) else { return nil }
        guard let value = Double(text) else { throw mismatch(row, column, expected: "a number") }
        return value
    }

    func double(_ row: Int, _ column: Int) throws -> Double {
        guard let value = try optionalDouble(row, column) else { throw mismatch(row, column, expected: "a number") }
        return value
    }

    /// The value of a `bytea` column; `nil` when it is NULL.
    func bytes(_ row: Int, _ column: Int) throws -> [UInt8]? {
        guard !isNull(row, column) else { return nil }
        var count = 0
        guard let unescaped = PQunescapeBytea(PQgetvalue(handle, Int32(row), Int32(column)), &count) else {
            throw mismatch(row, column, expected: "bytea")
        }
        defer { PQfreemem(unescaped) }
        return Array(UnsafeBufferPointer(start: unescaped, count: count))
    }

    /// The value as a time stored in milliseconds since 1970, as the store keeps times.
    func date(_ row: Int, _ column: Int) throws -> Date? {
        try optionalInt64(row, column).map(Date.init(millis:))
    }

    /// Calls `body` with the value's bytes, valid only during the call; `nil` when NULL.
    private func withBytes<R>(
        _ row: Int, _ column: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R
    ) rethrows
        -> R?
    {
        guard !isNull(row, column), let value = PQgetvalue(handle, Int32(row), Int32(column)) else { return nil }
        let count = Int(PQgetlength(handle, Int32(row), Int32(column)))
        return try value.withMemoryRebound(to: UInt8.self, capacity: count) {
            try body(UnsafeBufferPointer(start: $0, count: count))
        }
    }

    private func mismatch(_ row: Int, _ column: Int, expected: String) -> StorageError {
        let shown = isNull(row, column) ? "NULL" : "\(PQgetlength(handle, Int32(row), Int32(column)))-byte text"
        return StorageError(
            code: .corrupt, message: "row \(row), column \(columnName(column)): \(shown) is not \(expected)")
    }

    /// A decimal integer without a sign other than a leading `-`; `nil` if it is not one or overflows.
    static func parseInt64(_ digits: UnsafeBufferPointer<UInt8>) -> Int64? {
        var index = 0
        let negative = digits.first == UInt8(ascii: "-")
        if negative { index = 1 }
        guard index < digits.count else { return nil }
        var value: Int64 = 0
        while index < digits.count {
            let digit = Int64(digits[index]) - 48
            guard digit >= 0, digit <= 9 else { return nil }
            // Accumulate downwards so that Int64.min, whose magnitude Int64 cannot hold, parses.
            let (shifted, overflowShift) = value.multipliedReportingOverflow(by: 10)
            let (next, overflowAdd) = shifted.subtractingReportingOverflow(digit)
            guard !overflowShift, !overflowAdd else { return nil }
            value = next
            index += 1
        }
        if negative { return value }
        return value == .min ? nil : -value
    }
}

@available(*, unavailable, message: "a result belongs to its connection's thread")
extension PGResult: Sendable {}
