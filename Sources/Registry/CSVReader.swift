/// One CSV record and the physical line it starts on.
public struct CSVRecord: Sendable, Hashable {
    /// 1-based line of the record's first byte.
    public var line: Int
    public var fields: [String]

    public init(line: Int, fields: [String]) {
        self.line = line
        self.fields = fields
    }
}

/// A CSV record that cannot be read.
public struct CSVError: Error, Sendable, Hashable, CustomStringConvertible {
    /// 1-based line where the record starts.
    public var line: Int
    public var message: String

    public var description: String { "line \(line): \(message)" }
}

/// Reads RFC 4180 CSV from UTF-8 bytes, one record at a time.
///
/// Quoted fields may hold commas, doubled quotes and CR, LF or CRLF line breaks; records end
/// with CRLF or LF (or a lone CR); empty lines are skipped and a leading UTF-8 BOM is ignored.
/// A quote inside an unquoted field, or text after a closing quote, is kept literally, as
/// spreadsheets do.
public struct CSVReader {
    private let bytes: [UInt8]
    private var position: Int
    private var line = 1

    public init(bytes: [UInt8]) {
        self.bytes = bytes
        position = bytes.starts(with: TextEncoding.byteOrderMark) ? 3 : 0
    }

    /// The next record, or `nil` at the end of the input.
    ///
    /// - Throws: `CSVError` when a quoted field is still open at the end of the input; the
    ///   reader is then at its end.
    public mutating func next() throws(CSVError) -> CSVRecord? {
        var fields: [String] = []
        var startLine = 0
        var unterminated = false
        let end = bytes.count
        let (newPosition, newLine) = bytes.withUnsafeBufferPointer { buffer -> (Int, Int) in
            var i = position
            var line = self.line
            // Skip empty lines.
            while i < end {
                if buffer[i] == UInt8(ascii: "\n") {
                    line += 1
                    i += 1
                } else if buffer[i] == UInt8(ascii: "\r") {
                    line += 1
                    i += 1
                    if i < end, buffer[i] == UInt8(ascii: "\n") { i += 1 }
                } else {
                    break
                }
            }
            guard i < end else { return (i, line) }
            startLine = line
            fields.reserveCapacity(16)
            var scratch: [UInt8] = []
            while true {
                // One field starts at i.
                if i < end, buffer[i] == UInt8(ascii: "\"") {
                    scratch.removeAll(keepingCapacity: true)
                    i += 1
                    var closed = false
                    while i < end {
                        let byte = buffer[i]
                        if byte == UInt8(ascii: "\"") {
                            if i + 1 < end, buffer[i + 1] == UInt8(ascii: "\"") {
                                scratch.append(byte)
                                i += 2
                            } else {
                                i += 1
                                closed = true
                                break
                            }
                        } else {
                            if byte == UInt8(ascii: "\n") {
                                line += 1
                            } else if byte == UInt8(ascii: "\r"), i + 1 >= end || buffer[i + 1] != UInt8(ascii: "\n") {
                                line += 1
                            }
                            scratch.append(byte)
                            i += 1
                        }
                    }
                    if !closed {
                        unterminated = true
                        return (end, line)
                    }
                    // Tolerate text between the closing quote and the delimiter.
                    while i < end, !Self.isDelimiterOrEnd(buffer[i]) {
                        scratch.append(buffer[i])
                        i += 1
                    }
                    fields.append(String(decoding: scratch, as: UTF8.self))
                } else {
                    let start = i
                    while i < end, !Self.isDelimiterOrEnd(buffer[i]) { i += 1 }
                    fields.append(String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<i]), as: UTF8.self))
                }
                guard i < end else { return (i, line) }
                switch buffer[i] {
                case UInt8(ascii: ","):
                    i += 1
                case UInt8(ascii: "\r"):
                    i += 1
                    if i < end, buffer[i] == UInt8(ascii: "\n") { i += 1 }
                    return (i, line + 1)
                default:  // "\n"
                    return (i + 1, line + 1)
                }
            }
        }
        position = newPosition
        line = newLine
        if unterminated { throw CSVError(line: startLine, message: "unterminated quoted field") }
        return startLine == 0 ? nil : CSVRecord(line: startLine, fields: fields)
    }

    @inline(__always)
    private static func isDelimiterOrEnd(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: ",") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
    }
}
