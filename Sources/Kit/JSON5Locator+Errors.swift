import Foundation

extension JSON5Locator {
    /// The position of the character that starts at UTF-8 byte `offset` of `bytes`, columns
    /// counted in unicode scalars like the scanner's.
    public static func position(ofByteOffset offset: Int, in bytes: some Collection<UInt8>) -> Position {
        var line = 1
        var column = 1
        for byte in bytes.prefix(offset) {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return Position(line: line, column: column)
    }

    /// Why `JSONDecoder` or `JSONSerialization` refused `bytes`: "line L, column C: reason".
    ///
    /// The scanner's own syntax error comes first, since it locates every problem it finds;
    /// otherwise Foundation's error is read for a byte index ("character N"), or for the line
    /// and column it names, or else given as it is.
    public static func describe(_ error: any Error, in bytes: some Collection<UInt8>) -> String {
        if let text = String(validating: Array(bytes), as: UTF8.self),
            let syntax = JSON5Locator(text: text).syntaxError
        {
            return "line \(syntax.position.line), column \(syntax.position.column): \(syntax.message)"
        }
        let reason: String
        if case .dataCorrupted(let context) = error as? DecodingError {
            reason = context.underlyingError.flatMap(debugDescription(of:)) ?? context.debugDescription
        } else {
            reason = debugDescription(of: error) ?? (error as NSError).localizedDescription
        }
        if let range = reason.range(of: #"character \d+"#, options: .regularExpression),
            let offset = Int(reason[range].dropFirst("character ".count))
        {
            let position = position(ofByteOffset: offset, in: bytes)
            return "line \(position.line), column \(position.column): \(reason)"
        }
        if let range = reason.range(of: #"line \d+, column \d+"#, options: .regularExpression) {
            return "\(reason[range]): \(reason)"
        }
        return reason
    }

    private static func debugDescription(of error: any Error) -> String? {
        (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
    }
}
