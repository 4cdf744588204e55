import Kit

/// Numbers as the report prints them, each tagged with where it comes from in the report model.
///
/// A figure is written as `<tspan data-figure="PATH">1,234</tspan>` (or a table cell), where
/// `PATH` names the value in the JSON report (`coverage.delivered`,
/// `coverageByRegion[朝阳区].qualified`: `[x]` picks the array element whose `name` is `x`,
/// `[#3]` the fourth), so a test can read every figure back and compare it with the JSON.
/// A percentage names its two operands: `data-ratio="A/B"`. A zero the model leaves out is
/// tagged `data-absent="PATH"`.
enum Figure {
    /// `1234567` as `1,234,567`: grouping by thousands, as Chinese reports print it, with no
    /// dependence on the machine's locale.
    static func integer(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out += "," }
            out.append(c)
        }
        return n < 0 ? "-" + out : out
    }

    /// `0.853` as `85.3%`; `—` when the denominator is zero.
    static func percent(_ part: Int, of whole: Int) -> String {
        guard whole > 0 else { return "—" }
        return decimal(Double(part) * 100 / Double(whole), places: 1) + "%"
    }

    /// `value` with `places` decimals, rounded half away from zero.
    static func decimal(_ value: Double, places: Int) -> String {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = (value * scale).rounded(.toNearestOrAwayFromZero)
        let whole = Int(scaled / scale)
        guard places > 0 else { return integer(whole) }
        let fraction = Int((abs(scaled) - abs(Double(whole)) * scale).rounded())
        let sign = scaled < 0 && whole == 0 ? "-" : ""
        let padded = String(fraction).leftPadded(to: places)
        return sign + integer(whole) + "." + padded
    }

    /// An attribute pair tagging an element with the model path of its number.
    static func attribute(_ path: String) -> String {
        "data-figure=\"\(HTMLText.escaped(path))\""
    }

    /// `n` in a `<tspan>` (inside SVG text) tagged with `path`.
    static func tspan(_ path: String, _ n: Int) -> String {
        "<tspan \(attribute(path))>\(integer(n))</tspan>"
    }

    /// `n` in a `<span>` (inside HTML) tagged with `path`.
    static func span(_ path: String, _ n: Int) -> String {
        "<span \(attribute(path))>\(integer(n))</span>"
    }

    /// `value × scale` with `places` decimals in `element`, tagged with `path` and the scale, so a
    /// check scales the model's value the same way: a share as a percentage (`scale` 100), fen as
    /// yuan (0.01). With `signed`, a positive value gets a `+` (a difference).
    static func scaled(
        _ element: String, _ path: String, _ value: Double, scale: Double, places: Int, signed: Bool = false
    ) -> String {
        let text = decimal(value * scale, places: places)
        // `+0.0` would claim a direction the rounding lost.
        let sign = signed && value > 0 && text.contains { $0 != "0" && $0 != "." && $0 != "," }
        return "<\(element) \(attribute(path)) data-scale=\"\(scale)\">\(sign ? "+" : "")\(text)</\(element)>"
    }

    /// A zero for a count the model leaves out when there is none (`byState` lists only the
    /// states messages are in), tagged `data-absent` so a check can confirm the JSON lacks it.
    static func absent(_ path: String) -> String {
        "<span data-absent=\"\(HTMLText.escaped(path))\">0</span>"
    }

    /// A percentage in `element`, tagged with the paths of its numerator and denominator.
    static func ratio(_ element: String, _ part: (path: String, n: Int), _ whole: (path: String, n: Int)) -> String {
        let attribute = "data-ratio=\"\(HTMLText.escaped(part.path + "/" + whole.path))\""
        return "<\(element) \(attribute)>\(percent(part.n, of: whole.n))</\(element)>"
    }

    /// The path of the element named `name` in the array at `array`.
    static func element(_ array: String, _ name: String) -> String {
        "\(array)[\(name)]"
    }
}

extension String {
    /// The string padded on the left with zeros to `width` characters.
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
