/// What a reader sent with the package page's feedback form, decoded and checked.
///
/// The form is plain HTML (no script), posted as `application/x-www-form-urlencoded`: `kind`
/// (`not_useful` or `question`, the button pressed) and `text` (the textarea). Decoding is strict:
/// `+` is a space, `%XX` a byte, the bytes must be UTF-8, and every name must be one of the two;
/// anything else is refused rather than repaired, since the text is kept and read by people.
public struct FeedbackForm: Sendable, Hashable {
    /// The button the reader pressed.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// "这条推送对我没有帮助": the push did not help (never an opt-out).
        case notUseful = "not_useful"
        /// "我有问题要咨询": a question someone should answer.
        case question
    }

    /// Why a posted form was refused.
    public enum Problem: Error, Sendable, Hashable, CustomStringConvertible {
        /// A `%` not followed by two hex digits, or bytes that are not UTF-8.
        case badEncoding
        /// No `kind`, an unknown one, a field other than `kind` and `text`, or one given twice.
        case badField
        /// A question without text.
        case empty
        /// More than ``FeedbackForm/maxCharacters`` characters.
        case tooLong

        public var description: String {
            switch self {
            case .badEncoding: "bad encoding"
            case .badField: "bad field"
            case .empty: "empty"
            case .tooLong: "too long"
            }
        }
    }

    /// The most characters the text may have (the textarea's `maxlength`).
    public static let maxCharacters = 500

    public var kind: Kind
    /// The text, trimmed, with line breaks as `\n`; may be empty for ``Kind/notUseful``.
    public var text: String

    /// Decodes and checks a posted body.
    public init(body: [UInt8]) throws(Problem) {
        var kind: Kind?
        var text: String?
        for field in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = field.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let name = try Self.decode(parts[0])
            let value = parts.count > 1 ? try Self.decode(parts[1]) : ""
            switch name {
            case "kind" where kind == nil:
                guard let known = Kind(rawValue: value) else { throw .badField }
                kind = known
            case "text" where text == nil:
                text = value
            default:
                throw .badField
            }
        }
        guard let kind else { throw .badField }
        let cleaned = (text ?? "").replacingCRLF().trimmedWhitespace()
        if cleaned.isEmpty, kind == .question { throw .empty }
        guard cleaned.count <= Self.maxCharacters else { throw .tooLong }
        self.kind = kind
        self.text = cleaned
    }

    /// One name or value: `+` is a space, `%XX` a byte; the bytes must be UTF-8 without NUL.
    static func decode(_ encoded: ArraySlice<UInt8>) throws(Problem) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(encoded.count)
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let byte = encoded[index]
            switch byte {
            case UInt8(ascii: "+"):
                bytes.append(UInt8(ascii: " "))
                index += 1
            case UInt8(ascii: "%"):
                guard index + 2 < encoded.endIndex, let high = hexValue(encoded[index + 1]),
                    let low = hexValue(encoded[index + 2])
                else { throw .badEncoding }
                bytes.append(high << 4 | low)
                index += 3
            default:
                bytes.append(byte)
                index += 1
            }
        }
        guard !bytes.contains(0), let text = String(validating: bytes, as: UTF8.self) else { throw .badEncoding }
        return text
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension String {
    fileprivate func replacingCRLF() -> String {
        var out = ""
        out.reserveCapacity(utf8.count)
        for scalar in unicodeScalars where scalar != "\r" { out.unicodeScalars.append(scalar) }
        return out
    }

    fileprivate func trimmedWhitespace() -> String {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace })
        else { return "" }
        return String(self[first...last])
    }
}
