/// A small, strict XML reader for WeChat's flat event documents (`<xml><Tag><![CDATA[v]]></Tag>…</xml>`).
///
/// Handles the XML declaration, comments, attributes, CDATA sections, the five predefined
/// entities and character references. Refuses DOCTYPE (no entity expansion, no external
/// resources) and nesting deeper than ``maxDepth``. Never traps on any input.
enum MiniXML {
    struct Element {
        var name: String
        var text: [UInt8] = []
        var children: [Element] = []
    }

    static let maxDepth = 16

    /// The text of each direct child of the root `<xml>` element; the first of a repeated name wins.
    static func flatFields(_ bytes: [UInt8]) throws(ReceiptError) -> [String: String] {
        let root = try parseDocument(bytes)
        guard root.name == "xml" else { throw malformed("root element is not <xml>") }
        var fields: [String: String] = [:]
        for child in root.children where fields[child.name] == nil {
            fields[child.name] = String(decoding: child.text, as: UTF8.self)
        }
        return fields
    }

    static func parseDocument(_ bytes: [UInt8]) throws(ReceiptError) -> Element {
        var reader = Reader(bytes: bytes)
        try reader.skipMisc()
        guard reader.peek() == UInt8(ascii: "<") else { throw malformed("no root element") }
        let root = try reader.element(depth: 0)
        try reader.skipMisc()
        guard reader.atEnd else { throw malformed("content after the root element") }
        return root
    }

    static func malformed(_ message: String) -> ReceiptError { ReceiptError(.malformed, "XML: " + message) }

    struct Reader {
        let bytes: [UInt8]
        var index = 0

        var atEnd: Bool { index >= bytes.count }

        func peek(_ offset: Int = 0) -> UInt8? {
            let position = index + offset
            return position < bytes.count ? bytes[position] : nil
        }

        func starts(with literal: String) -> Bool {
            var position = index
            for byte in literal.utf8 {
                guard position < bytes.count, bytes[position] == byte else { return false }
                position += 1
            }
            return true
        }

        static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }

        static func isDigit(_ byte: UInt8, radix: Int) -> Bool {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return true
            case UInt8(ascii: "a")...UInt8(ascii: "f"), UInt8(ascii: "A")...UInt8(ascii: "F"): return radix == 16
            default: return false
            }
        }

        mutating func skipSpace() {
            while let byte = peek(), Reader.isSpace(byte) { index += 1 }
        }

        /// Skips to just after `terminator`, or fails.
        mutating func skip(past terminator: String, what: String) throws(ReceiptError) {
            while !atEnd {
                if starts(with: terminator) {
                    index += terminator.utf8.count
                    return
                }
                index += 1
            }
            throw malformed("unterminated \(what)")
        }

        /// Whitespace, comments and processing instructions (the XML declaration) outside the root.
        mutating func skipMisc() throws(ReceiptError) {
            while true {
                skipSpace()
                if starts(with: "<?") {
                    try skip(past: "?>", what: "processing instruction")
                } else if starts(with: "<!--") {
                    try skip(past: "-->", what: "comment")
                } else if starts(with: "<!") {
                    throw malformed("DOCTYPE and declarations are refused")
                } else {
                    return
                }
            }
        }

        mutating func name() throws(ReceiptError) -> String {
            let start = index
            while let byte = peek(), !Reader.isSpace(byte), byte != UInt8(ascii: ">"), byte != UInt8(ascii: "/"),
                byte != UInt8(ascii: "="), byte != UInt8(ascii: "<")
            {
                index += 1
            }
            guard index > start else { throw malformed("empty name") }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        /// Parses `<name attr="v">content</name>` or `<name/>` starting at `<`.
        mutating func element(depth: Int) throws(ReceiptError) -> Element {
            guard depth < MiniXML.maxDepth else { throw malformed("nesting too deep") }
            index += 1  // "<"
            var element = Element(name: try name())
            // Attributes: read and ignored.
            while true {
                skipSpace()
                guard let byte = peek() else { throw malformed("unterminated tag") }
                if byte == UInt8(ascii: ">") {
                    index += 1
                    break
                }
                if byte == UInt8(ascii: "/") {
                    guard peek(1) == UInt8(ascii: ">") else { throw malformed("bad empty tag") }
                    index += 2
                    return element
                }
                _ = try name()
                skipSpace()
                guard peek() == UInt8(ascii: "=") else { throw malformed("attribute without value") }
                index += 1
                skipSpace()
                guard let quote = peek(), quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else {
                    throw malformed("unquoted attribute")
                }
                index += 1
                while let next = peek(), next != quote { index += 1 }
                guard !atEnd else { throw malformed("unterminated attribute") }
                index += 1
            }
            // Content.
            while true {
                guard let byte = peek() else { throw malformed("unterminated element") }
                if byte == UInt8(ascii: "<") {
                    if starts(with: "</") {
                        index += 2
                        let closing = try name()
                        skipSpace()
                        guard closing == element.name, peek() == UInt8(ascii: ">") else {
                            throw malformed("mismatched closing tag")
                        }
                        index += 1
                        return element
                    } else if starts(with: "<![CDATA[") {
                        index += 9
                        let start = index
                        try skip(past: "]]>", what: "CDATA section")
                        element.text.append(contentsOf: bytes[start..<(index - 3)])
                    } else if starts(with: "<!--") {
                        try skip(past: "-->", what: "comment")
                    } else if starts(with: "<?") {
                        try skip(past: "?>", what: "processing instruction")
                    } else if starts(with: "<!") {
                        throw malformed("declarations are refused")
                    } else {
                        element.children.append(try self.element(depth: depth + 1))
                    }
                } else if byte == UInt8(ascii: "&") {
                    element.text.append(contentsOf: try entity())
                } else {
                    element.text.append(byte)
                    index += 1
                }
            }
        }

        /// Decodes `&name;` or `&#N;` / `&#xH;` at `&`.
        mutating func entity() throws(ReceiptError) -> [UInt8] {
            let start = index + 1
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: ";"), end - start < 12 { end += 1 }
            guard end < bytes.count, bytes[end] == UInt8(ascii: ";") else { throw malformed("bad entity") }
            let name = String(decoding: bytes[start..<end], as: UTF8.self)
            index = end + 1
            switch name {
            case "lt": return [UInt8(ascii: "<")]
            case "gt": return [UInt8(ascii: ">")]
            case "amp": return [UInt8(ascii: "&")]
            case "quot": return [UInt8(ascii: "\"")]
            case "apos": return [UInt8(ascii: "'")]
            default:
                var digits = Substring(name)
                guard digits.first == "#" else { throw malformed("unknown entity") }
                digits = digits.dropFirst()
                var radix = 10
                if digits.first == "x" || digits.first == "X" {
                    radix = 16
                    digits = digits.dropFirst()
                }
                // Digits only: `UInt32(_:radix:)` alone would take a sign (`&#+65;`).
                guard !digits.isEmpty, digits.utf8.allSatisfy({ Reader.isDigit($0, radix: radix) }),
                    let value = UInt32(digits, radix: radix), let scalar = Unicode.Scalar(value), value != 0
                else { throw malformed("bad character reference") }
                return Array(String(Character(scalar)).utf8)
            }
        }
    }
}
