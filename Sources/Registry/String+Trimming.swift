extension StringProtocol {
    /// The text without leading and trailing white space, including the ideographic space
    /// U+3000 that Chinese spreadsheets often carry.
    ///
    /// Returns `self` unchanged (no copy beyond the conversion) in the common case where
    /// neither end is white space, which keeps validation of large files fast.
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.first, let last = scalars.last else { return "" }
        if !first.properties.isWhitespace && !last.properties.isWhitespace { return String(self) }
        var start = scalars.startIndex
        var end = scalars.endIndex
        while start < end, scalars[start].properties.isWhitespace { start = scalars.index(after: start) }
        while end > start, scalars[scalars.index(before: end)].properties.isWhitespace {
            end = scalars.index(before: end)
        }
        return String(String.UnicodeScalarView(scalars[start..<end]))
    }
}
