/// The translation of the store's SQL, written in SQLite's dialect, into PostgreSQL's.
///
/// It is deliberately small and explicit: the store's statements are written in the part of SQL the
/// two share, and only these spellings differ —
/// - parameters: SQLite's `?N` is PostgreSQL's `$N` (a number may repeat in both);
/// - the scalar `max(a, b)` and `min(a, b)` (two or more arguments) are `GREATEST` and `LEAST`;
///   with one argument they are the aggregates on both;
/// - SQLite's `LIMIT -1` (no limit, written to give an `OFFSET`) is `LIMIT ALL`.
///
/// A parameter PostgreSQL cannot type from where it first appears is written so that it can: a
/// column comparison before `?1 IS NULL`, `CAST(?N AS BIGINT)` for a value in a `CASE`.
///
/// Quoted text ('…' and "…") is copied as it is. Anything else that differs is written per dialect
/// at its statement (``SQLDatabase/dialect``). `PGDialectTests` pins each rule.
enum PGDialect {
    static func translate(_ sql: String) -> String {
        let source = Array(sql.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(source.count + 8)
        var index = 0
        while index < source.count {
            let byte = source[index]
            switch byte {
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                // Copy the quoted text through its closing quote (a doubled quote stays inside).
                var end = index + 1
                while end < source.count, source[end] != byte { end += 1 }
                output.append(contentsOf: source[index..<min(end + 1, source.count)])
                index = end + 1
            case UInt8(ascii: "L") where source[index...].starts(with: Self.noLimit):
                output.append(contentsOf: "LIMIT ALL".utf8)
                index += Self.noLimit.count
            case UInt8(ascii: "?"):
                output.append(UInt8(ascii: "$"))
                index += 1
            case UInt8(ascii: "m"), UInt8(ascii: "M"):
                if let name = scalarFunction(in: source, at: index) {
                    output.append(contentsOf: name.utf8)
                    index += 3
                } else {
                    output.append(byte)
                    index += 1
                }
            default:
                output.append(byte)
                index += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static let noLimit = Array("LIMIT -1".utf8)

    /// `GREATEST` or `LEAST` when `source` has `max(` or `min(` at `index` (a word of its own) and
    /// the call has a comma at its top level; `nil` otherwise.
    private static func scalarFunction(in source: [UInt8], at index: Int) -> String? {
        guard index + 3 < source.count, source[index + 3] == UInt8(ascii: "(") else { return nil }
        let word = String(decoding: source[index..<index + 3], as: UTF8.self).lowercased()
        guard word == "max" || word == "min" else { return nil }
        if index > 0, isWordByte(source[index - 1]) { return nil }
        var depth = 0
        var position = index + 3
        while position < source.count {
            switch source[position] {
            case UInt8(ascii: "("): depth += 1
            case UInt8(ascii: ")"):
                depth -= 1
                if depth == 0 { return nil }
            case UInt8(ascii: ","):
                if depth == 1 { return word == "max" ? "GREATEST" : "LEAST" }
            default: break
            }
            position += 1
        }
        return nil
    }

    private static func isWordByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
    }
}
