import Foundation

/// Reads back the figures a report page tags (see ``Figure``), so a check can compare each with
/// the JSON report: the page's own test, the CLI's end-to-end test, a browser harness.
public enum FigureMarkers {
    /// One tagged number: `path` as written in `data-figure`, `text` as shown, and the factor
    /// the value is shown at (`data-scale`: 100 for a share shown as a percentage, 0.01 for fen
    /// shown as yuan; 1 when the tag has none).
    public struct Marker: Sendable, Hashable {
        public var path: String
        public var text: String
        public var scale: Double = 1
    }

    /// One tagged percentage: the paths of its numerator and denominator, and the text shown.
    public struct Ratio: Sendable, Hashable {
        public var part: String
        public var whole: String
        public var text: String
    }

    /// Every `data-figure="PATH">TEXT<` in `html`, attribute and text unescaped, in order.
    public static func figures(in html: String) -> [Marker] {
        pairs(attribute: "data-figure", in: html).map { pair in
            Marker(path: pair.value, text: pair.text, scale: Self.scale(inTag: pair.tag))
        }
    }

    /// The paths of every `data-absent="PATH"` in `html`: zeros the model leaves out.
    public static func absences(in html: String) -> [String] {
        pairs(attribute: "data-absent", in: html).map(\.value)
    }

    /// Every `data-ratio="A/B">TEXT<` in `html`.
    public static func ratios(in html: String) -> [Ratio] {
        pairs(attribute: "data-ratio", in: html).compactMap { pair in
            // Paths may hold `/` inside `[…]` (a name); the operator is the `/` outside brackets.
            var depth = 0
            for (i, c) in pair.value.enumerated() {
                if c == "[" {
                    depth += 1
                } else if c == "]" {
                    depth -= 1
                } else if c == "/", depth == 0 {
                    let index = pair.value.index(pair.value.startIndex, offsetBy: i)
                    return Ratio(
                        part: String(pair.value[..<index]),
                        whole: String(pair.value[pair.value.index(after: index)...]),
                        text: pair.text)
                }
            }
            return nil
        }
    }

    /// The `data-scale` among a tag's other attributes, 1 when absent.
    static func scale(inTag tag: String) -> Double {
        guard let start = tag.range(of: "data-scale=\""),
            let end = tag[start.upperBound...].firstIndex(of: "\"")
        else { return 1 }
        return Double(tag[start.upperBound..<end]) ?? 1
    }

    /// The shown number as a value: `1,234` → 1234, `85.3%` → 85.3, `+2.5` → 2.5, `—` → `nil`.
    public static func number(_ text: String) -> Double? {
        Double(text.replacingOccurrences(of: ",", with: "").replacingOccurrences(of: "%", with: ""))
    }

    /// The value at `path` in a JSON object (from `JSONSerialization`), or `nil` when absent.
    ///
    /// `[name]` picks the element of an array whose `name` is `name`, `[key=value]` the one whose
    /// `key` is `value` (an array of a type without `name`), `[#3]` the fourth. With
    /// `snakeCase`, each key is looked up as `JSONEncoder`'s `.convertToSnakeCase` writes it,
    /// for the `--json` output.
    public static func value(at path: String, in json: Any, snakeCase: Bool = false) -> Any? {
        var current: Any? = json
        var key = ""
        var index = path.startIndex
        func descend() {
            guard !key.isEmpty else { return }
            let name = snakeCase ? snake(key) : key
            current = (current as? [String: Any])?[name]
            key = ""
        }
        while index < path.endIndex {
            let c = path[index]
            if c == "." {
                descend()
            } else if c == "[" {
                descend()
                guard let close = path[index...].firstIndex(of: "]") else { return nil }
                let selector = String(path[path.index(after: index)..<close])
                let array = current as? [Any] ?? []
                if selector.hasPrefix("#"), let n = Int(selector.dropFirst()) {
                    current = n >= 0 && n < array.count ? array[n] : nil
                } else if let equals = selector.firstIndex(of: "=") {
                    let field = String(selector[..<equals])
                    let wanted = String(selector[selector.index(after: equals)...])
                    let name = snakeCase ? snake(field) : field
                    current = array.first { ($0 as? [String: Any])?[name] as? String == wanted }
                } else {
                    current = array.first { ($0 as? [String: Any])?["name"] as? String == selector }
                }
                index = close
            } else {
                key.append(c)
            }
            index = path.index(after: index)
        }
        descend()
        return current
    }

    /// `notReachedTotal` → `not_reached_total`, `p50Seconds` → `p50_seconds`, `policyID` →
    /// `policy_id`: a run of capitals is one word, as `JSONEncoder` converts it.
    static func snake(_ key: String) -> String {
        let characters = Array(key)
        var out = ""
        for (i, c) in characters.enumerated() {
            if c.isUppercase, i > 0 {
                let previous = characters[i - 1]
                let next = i + 1 < characters.count ? characters[i + 1] : nil
                if !previous.isUppercase || next?.isLowercase == true { out += "_" }
            }
            out += c.lowercased()
        }
        return out
    }

    private static func pairs(attribute: String, in html: String) -> [(value: String, text: String, tag: String)] {
        var result: [(String, String, String)] = []
        var rest = html[...]
        let opener = attribute + "=\""
        while let start = rest.range(of: opener) {
            rest = rest[start.upperBound...]
            guard let quote = rest.firstIndex(of: "\"") else { break }
            let value = String(rest[..<quote])
            rest = rest[rest.index(after: quote)...]
            guard let tagEnd = rest.firstIndex(of: ">") else { break }
            let tag = String(rest[..<tagEnd])
            let content = rest[rest.index(after: tagEnd)...]
            let text = content.prefix { $0 != "<" }
            result.append((unescape(value), unescape(String(text)), tag))
        }
        return result
    }

    private static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}
