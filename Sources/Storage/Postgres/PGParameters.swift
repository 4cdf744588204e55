internal import CPostgreSQL

/// Statement parameters laid out for `PQexecParams` and `PQexecPrepared`: one buffer holding every
/// value, and the pointer, length and format arrays libpq reads.
///
/// Integers, reals and text go in text format (NUL-terminated), byte arrays in binary format with
/// their length, so any byte survives; NULL is a null pointer.
struct PGParameters {
    /// The `bytea` type's OID, given for binary parameters so an untyped `$n` takes them as bytes.
    static let byteaOID: Oid = 17

    private var buffer: [CChar] = []
    /// Where each value starts in `buffer`; `nil` for NULL.
    private var offsets: [Int?] = []
    private var lengths: [Int32] = []
    private var formats: [Int32] = []
    private(set) var types: [Oid] = []

    var count: Int { offsets.count }

    /// Lays out `values`, failing with `.invalidValue` on text PostgreSQL cannot hold (a 0x00).
    init(_ values: [any SQLBindable], sql: String) throws {
        for (index, value) in values.enumerated() {
            let start = buffer.count
            switch value.sqliteValue {
            case .null:
                offsets.append(nil)
                lengths.append(0)
                formats.append(0)
                types.append(cpostgresql_invalid_oid())
                continue
            case .integer(let integer):
                buffer.append(contentsOf: String(integer).utf8.map { CChar(bitPattern: $0) })
            case .real(let real):
                buffer.append(contentsOf: PGText.real(real).utf8.map { CChar(bitPattern: $0) })
            case .text(let text):
                guard !text.utf8.contains(0) else {
                    throw StorageError(
                        code: .invalidValue, message: "parameter $\(index + 1): PostgreSQL text cannot hold a 0x00",
                        sql: sql)
                }
                buffer.append(contentsOf: text.utf8.map { CChar(bitPattern: $0) })
            case .blob(let bytes):
                buffer.append(contentsOf: bytes.map { CChar(bitPattern: $0) })
                offsets.append(start)
                lengths.append(Int32(bytes.count))
                formats.append(1)
                types.append(Self.byteaOID)
                continue
            }
            buffer.append(0)
            offsets.append(start)
            lengths.append(0)
            formats.append(0)
            types.append(cpostgresql_invalid_oid())
        }
    }

    /// Calls `body` with the value pointers, lengths and formats, valid only during the call.
    func withPointers<R>(
        _ body: (
            UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?
        ) -> R
    ) -> R {
        // An empty blob still needs a non-null pointer (null is SQL NULL): the buffer always has a byte.
        let storage = buffer + [0]
        return storage.withUnsafeBufferPointer { bytes in
            let pointers = offsets.map { offset in offset.map { UnsafePointer(bytes.baseAddress! + $0) } }
            return pointers.withUnsafeBufferPointer { pointers in
                lengths.withUnsafeBufferPointer { lengths in
                    formats.withUnsafeBufferPointer { formats in
                        body(pointers.baseAddress, lengths.baseAddress, formats.baseAddress)
                    }
                }
            }
        }
    }
}

/// Values as PostgreSQL's text format spells them.
enum PGText {
    /// A `float8` literal that reads back as the same value: Swift's shortest round-tripping
    /// digits, and PostgreSQL's names for the infinities and NaN.
    static func real(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        return "\(value)"
    }
}
