extension String {
    /// The text without leading and trailing white space, including the ideographic space
    /// U+3000 and no-break space that Chinese spreadsheets often carry.
    ///
    /// Returns the text unchanged when neither end is white space, checked on the UTF-8
    /// bytes without Unicode property lookups: this runs for every cell of large imports.
    func trimmingWhitespace() -> String {
        var copy = self
        let ends: (UInt8, UInt8)? = copy.withUTF8 { bytes in bytes.isEmpty ? nil : (bytes[0], bytes[bytes.count - 1]) }
        guard let (firstByte, lastByte) = ends else { return "" }
        // A UTF-8 sequence's last byte is a continuation byte, so look at whole scalars only
        // when an end is not plain ASCII.
        let firstIsPlain = firstByte < 0x80 && !isASCIIWhitespace(firstByte)
        let lastIsPlain = lastByte < 0x80 && !isASCIIWhitespace(lastByte)
        if firstIsPlain && lastIsPlain { return self }
        let scalars = unicodeScalars
        var start = scalars.startIndex
        var end = scalars.endIndex
        while start < end, isWhitespace(scalars[start]) { start = scalars.index(after: start) }
        while end > start, isWhitespace(scalars[scalars.index(before: end)]) { end = scalars.index(before: end) }
        if start == scalars.startIndex && end == scalars.endIndex { return self }
        return String(String.UnicodeScalarView(scalars[start..<end]))
    }
}

@inline(__always)
private func isASCIIWhitespace(_ byte: UInt8) -> Bool {
    byte == 0x20 || (0x09...0x0D).contains(byte)
}

/// Unicode White_Space, plus the BOM that some exports leave in the first cell.
private func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF:
        true
    default:
        false
    }
}
