/// Registry text as a message may carry it: data, never message structure.
///
/// Names and text attributes come from spreadsheets the bureau does not control. Placed into an
/// SMS verbatim, `【公安局】…http://evil.example/x` would read as a second sender signature and a
/// link. Every registry string a template places (`{name}`, `{region}`, custom text attributes) goes
/// through `sanitized(_:)` when a message is rendered; the registry itself keeps what was imported,
/// and import warns (`inspect(_:)`) about the values that rendering will change.
///
/// The rules, applied to Unicode scalars in this order:
/// 1. Tab, LF, VT, FF, CR, NEL, U+2028 and U+2029 become a space; every other C0 or C1 control
///    (NUL, ESC, DEL, …) is dropped.
/// 2. Format characters (general category Cf) are dropped: the bidirectional marks, embeddings,
///    overrides and isolates (U+200E, U+200F, U+061C, U+202A–U+202E, U+2066–U+2069), zero-width
///    space, word joiner, BOM, soft hyphen, invisible operators and tag characters. The joiners
///    U+200C and U+200D stay (emoji sequences and some scripts need them). The blank Hangul fillers
///    (U+115F, U+1160, U+3164, U+FFA0) are dropped too.
/// 3. Signature brackets become parentheses: `[` `]` become `(` `)`; `【】〖〗〘〙〚〛［］` and the
///    vertical forms `︗︘︻︼﹇﹈` become `（` `）`. Other brackets (`（）〔〕《》「」`) stay.
/// 4. Web addresses are dropped. A run of ASCII graphic characters (full-width forms folded to
///    ASCII) is an address when it holds `://`, `www.`, a host name (two or more dot-separated
///    labels of letters, digits and `-`, the last one 2–63 letters or `xn--…`: `evil.cn/x`,
///    `bit.ly`) or an IPv4 address; the whole run goes. Chinese text breaks a run, so
///    `访问evil.cn领取` loses only `evil.cn`. Latin abbreviations written without a space, such as
///    `Co.Ltd`, look like host names and are dropped as well; `Co., Ltd.` is kept.
/// 5. Runs of white space left behind become one space, and both ends are trimmed.
///
/// Text that needs none of this (nearly every Chinese company name) is returned as is, after one
/// scan of its scalars.
public enum RegistryText {
    /// Characters a registry string takes in a message at most (`…` included): longer names and
    /// text attributes are shortened to it with `…`, and import warns about them.
    public static let maximumLength = 30

    /// What `sanitized(_:)` changes in a text, for import warnings.
    public struct Inspection: Sendable, Hashable {
        /// Control characters found (line breaks, tabs, NUL, …), distinct, in order of appearance.
        public var controls: [Unicode.Scalar] = []
        /// Bidirectional controls and invisible format characters found, distinct.
        public var formats: [Unicode.Scalar] = []
        /// Signature brackets found, distinct.
        public var brackets: [Unicode.Scalar] = []
        /// Web addresses found, as written.
        public var addresses: [String] = []
        /// Characters of the sanitized text.
        public var length: Int = 0

        /// True when rendering prints the text exactly as imported (length aside).
        public var isClean: Bool { controls.isEmpty && formats.isEmpty && brackets.isEmpty && addresses.isEmpty }
    }

    /// The text as messages print it; see the type's rules.
    public static func sanitized(_ text: String) -> String {
        if isPlain(text) { return text }
        var unused = Inspection()
        return clean(text, inspection: &unused)
    }

    /// What `sanitized(_:)` would change in `text`, and the length of its result.
    public static func inspect(_ text: String) -> Inspection {
        var inspection = Inspection()
        if isPlain(text) {
            inspection.length = text.unicodeScalars.count
        } else {
            inspection.length = clean(text, inspection: &inspection).count
        }
        return inspection
    }

    /// The text for a terminal or a log: control and format characters written as `<U+202E>`, so
    /// they can neither move the cursor nor reorder what an operator reads.
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { kind(of: $0) != .keep && !isBracket($0) }) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            switch kind(of: scalar) {
            case .space, .control, .format: out += "<\(codePoint(scalar))>"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// `U+202E`.
    public static func codePoint(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    // MARK: - Scalars

    enum Kind: Equatable {
        case keep
        /// A line break or tab: becomes a space.
        case space
        /// Another C0/C1 control: dropped.
        case control
        /// A bidi control or invisible format character: dropped.
        case format
        case open(ascii: Bool)
        case close(ascii: Bool)
    }

    static func kind(of scalar: Unicode.Scalar) -> Kind {
        switch scalar.value {
        case 0x09...0x0D, 0x85, 0x2028, 0x2029: .space
        case 0x00...0x1F, 0x7F...0x9F: .control
        case 0x200C, 0x200D: .keep
        case 0x115F, 0x1160, 0x3164, 0xFFA0: .format
        case 0x5B: .open(ascii: true)
        case 0x5D: .close(ascii: true)
        case 0x3010, 0x3016, 0x3018, 0x301A, 0xFF3B, 0xFE17, 0xFE3B, 0xFE47: .open(ascii: false)
        case 0x3011, 0x3017, 0x3019, 0x301B, 0xFF3D, 0xFE18, 0xFE3C, 0xFE48: .close(ascii: false)
        case 0x20...0x7E, 0x3000...0x9FFF, 0xFF01...0xFF5E: .keep
        default: scalar.properties.generalCategory == .format ? .format : .keep
        }
    }

    private static func isBracket(_ scalar: Unicode.Scalar) -> Bool {
        switch kind(of: scalar) {
        case .open, .close: true
        default: false
        }
    }

    /// True when no rule can change the text: every scalar is printable ASCII, CJK or a
    /// full-width form other than the brackets and the `.` and `:` an address needs, and no space
    /// (ASCII or ideographic) starts, ends or doubles. The common case, checked without Unicode property lookups.
    private static func isPlain(_ text: String) -> Bool {
        var previousIsSpace = true
        for scalar in text.unicodeScalars {
            let v = scalar.value
            switch v {
            case 0x20, 0x3000:
                if previousIsSpace { return false }
                previousIsSpace = true
                continue
            case 0x2E, 0x3A, 0x5B, 0x5D: return false
            case 0x21...0x7E: break
            case 0x3010, 0x3011, 0x3016...0x301B, 0x3164: return false
            case 0x3000...0x9FFF: break
            case 0xFF0E, 0xFF1A, 0xFF3B, 0xFF3D: return false
            case 0xFF01...0xFF5E: break
            default: return false
            }
            previousIsSpace = false
        }
        return !previousIsSpace || text.isEmpty
    }

    private static func clean(_ text: String, inspection: inout Inspection) -> String {
        // 1–3: one scalar at a time.
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            switch kind(of: scalar) {
            case .keep:
                scalars.append(scalar)
            case .space:
                note(scalar, in: &inspection.controls)
                scalars.append(" ")
            case .control:
                note(scalar, in: &inspection.controls)
            case .format:
                note(scalar, in: &inspection.formats)
            case .open(let ascii):
                note(scalar, in: &inspection.brackets)
                scalars.append(ascii ? "(" : "（")
            case .close(let ascii):
                note(scalar, in: &inspection.brackets)
                scalars.append(ascii ? ")" : "）")
            }
        }
        // 4: web addresses, by runs of ASCII graphic characters.
        var kept: [Unicode.Scalar] = []
        kept.reserveCapacity(scalars.count)
        var i = 0
        while i < scalars.count {
            guard folded(scalars[i]) != nil else {
                kept.append(scalars[i])
                i += 1
                continue
            }
            var end = i
            var run: [UInt8] = []
            while end < scalars.count, let byte = folded(scalars[end]) {
                run.append(byte)
                end += 1
            }
            if isAddress(run) {
                var written = ""
                written.unicodeScalars.append(contentsOf: scalars[i..<end])
                inspection.addresses.append(written)
            } else {
                kept.append(contentsOf: scalars[i..<end])
            }
            i = end
        }
        // 5: white space; a single space of another kind (U+3000) is kept as written.
        var out = String.UnicodeScalarView()
        var space: (first: Unicode.Scalar, count: Int)?
        for scalar in kept {
            if scalar.properties.isWhitespace {
                space = (space?.first ?? scalar, (space?.count ?? 0) + 1)
                continue
            }
            if let run = space, !out.isEmpty { out.append(run.count == 1 ? run.first : " ") }
            space = nil
            out.append(scalar)
        }
        return String(out)
    }

    private static func note(_ scalar: Unicode.Scalar, in list: inout [Unicode.Scalar]) {
        if !list.contains(scalar) { list.append(scalar) }
    }

    /// The lowercase ASCII byte of an ASCII graphic or full-width form scalar, else `nil`.
    private static func folded(_ scalar: Unicode.Scalar) -> UInt8? {
        var v = scalar.value
        if (0xFF01...0xFF5E).contains(v) { v -= 0xFEE0 }
        guard (0x21...0x7E).contains(v) else { return nil }
        if (0x41...0x5A).contains(v) { v += 0x20 }
        return UInt8(v)
    }

    // MARK: - Addresses

    /// True when a run of lowercase ASCII graphic bytes holds a scheme, `www.`, a host name or an
    /// IPv4 address.
    static func isAddress(_ run: [UInt8]) -> Bool {
        if contains(run, Array("://".utf8)) || contains(run, Array("www.".utf8)) { return true }
        // Host names: dot-separated labels of letters, digits and '-'.
        var labels: [ArraySlice<UInt8>] = []
        var start = 0
        func endLabels(at index: Int) -> Bool {
            if !labels.isEmpty, index > start { labels.append(run[start..<index]) }
            defer { labels.removeAll() }
            return isHost(labels)
        }
        for (index, byte) in run.enumerated() {
            if isLabelByte(byte) { continue }
            if byte == UInt8(ascii: "."), index > start {
                labels.append(run[start..<index])
            } else if endLabels(at: index) {
                return true
            }
            start = index + 1
        }
        return endLabels(at: run.count)
    }

    private static func isHost(_ labels: [ArraySlice<UInt8>]) -> Bool {
        guard labels.count >= 2, let last = labels.last else { return false }
        if labels.count == 4, labels.allSatisfy(isOctet) { return true }
        if last.starts(with: Array("xn--".utf8)), last.count > 4 { return true }
        return (2...63).contains(last.count) && last.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) }
    }

    /// `0`–`255` in at most three digits.
    private static func isOctet(_ label: ArraySlice<UInt8>) -> Bool {
        guard (1...3).contains(label.count), label.allSatisfy(isDigit) else { return false }
        return label.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) } <= 255
    }

    private static func isLabelByte(_ byte: UInt8) -> Bool {
        isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || byte == UInt8(ascii: "-")
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    private static func contains(_ run: [UInt8], _ needle: [UInt8]) -> Bool {
        guard run.count >= needle.count else { return false }
        for i in 0...(run.count - needle.count) where run[i..<(i + needle.count)].elementsEqual(needle) {
            return true
        }
        return false
    }
}
