import Foundation

extension JSONDecoder {
    /// Decodes a JSON5 file's bytes with Foundation's decoder, the buffer always ending in a newline
    /// (which JSON5 allows after any document).
    ///
    /// Under the fuzzer, a policy file of nothing but an 81-digit number once trapped inside
    /// Foundation's `JSON5Scanner.validateNumber`; the same bytes alone did not, so what lies past the
    /// buffer's end decided it. With the newline, no number ends the buffer.
    public static func json5<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        let decoder = JSONDecoder()
        decoder.allowsJSON5 = true
        var padded = data
        padded.append(0x0A)
        return try decoder.decode(type, from: padded)
    }
}
