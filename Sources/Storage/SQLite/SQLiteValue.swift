import Foundation
import Registry

/// A value as SQLite stores it: one of its five storage classes.
enum SQLiteValue {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// A Swift value that can be bound to a statement parameter.
///
/// `nil` of any conforming type binds SQL NULL; `Bool` binds 1 or 0, as the schema's flag
/// columns hold it.
protocol SQLBindable {
    var sqliteValue: SQLiteValue { get }
}

extension SQLiteValue: SQLBindable {
    var sqliteValue: SQLiteValue { self }
}

extension Int64: SQLBindable {
    var sqliteValue: SQLiteValue { .integer(self) }
}

extension Int: SQLBindable {
    var sqliteValue: SQLiteValue { .integer(Int64(self)) }
}

extension Int32: SQLBindable {
    var sqliteValue: SQLiteValue { .integer(Int64(self)) }
}

extension Double: SQLBindable {
    var sqliteValue: SQLiteValue { .real(self) }
}

extension Bool: SQLBindable {
    var sqliteValue: SQLiteValue { .integer(self ? 1 : 0) }
}

extension String: SQLBindable {
    var sqliteValue: SQLiteValue { .text(self) }
}

extension Array: SQLBindable where Element == UInt8 {
    var sqliteValue: SQLiteValue { .blob(self) }
}

extension Data: SQLBindable {
    var sqliteValue: SQLiteValue { .blob([UInt8](self)) }
}

extension Optional: SQLBindable where Wrapped: SQLBindable {
    var sqliteValue: SQLiteValue { self?.sqliteValue ?? .null }
}

extension Channel: SQLBindable {
    var sqliteValue: SQLiteValue { .text(rawValue) }
}

extension Date: SQLBindable {
    /// Milliseconds since 1970, as the store keeps times (see `Date.millis`).
    var sqliteValue: SQLiteValue { .integer(millis) }
}
