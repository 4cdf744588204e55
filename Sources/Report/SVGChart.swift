import Kit

/// SVG drawing shared by the charts: numbers for coordinates, and the document wrapper.
///
/// Charts are sized for a slide or an A4 page (720 units wide, scaled to the column by CSS)
/// and readable in grey print: a single series is dark grey, a second one is hatched, a
/// line series has its own dash pattern and point shape, and every bar carries its number.
enum SVG {
    /// The width every chart is drawn at.
    static let width = 720.0

    /// A coordinate with at most one decimal, so output is stable and short.
    static func n(_ value: Double) -> String {
        let tenths = (value * 10).rounded()
        return tenths.truncatingRemainder(dividingBy: 10) == 0
            ? String(Int(tenths / 10)) : Figure.decimal(tenths / 10, places: 1).replacingOccurrences(of: ",", with: "")
    }

    /// The `<svg>` element around `body`, with a title for screen readers.
    static func document(height: Double, title: String, body: String, defs: String = "") -> String {
        """
        <svg viewBox="0 0 \(n(width)) \(n(height))" \
        width="\(n(width))" height="\(n(height))" role="img" aria-label="\(HTMLText.escaped(title))">\
        <title>\(HTMLText.escaped(title))</title>\(defs.isEmpty ? "" : "<defs>\(defs)</defs>")\(body)</svg>
        """
    }

    /// `text` escaped for SVG text content, cut to `limit` characters with an ellipsis.
    static func label(_ text: String, limit: Int = 14) -> String {
        HTMLText.escaped(text.count > limit ? String(text.prefix(limit - 1)) + "…" : text)
    }

    /// A diagonal hatch for a second series, distinct from solid grey when printed.
    static func hatch(id: String) -> String {
        """
        <pattern id="\(id)" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">\
        <rect width="6" height="6" fill="#fff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#333" stroke-width="2.5"/>\
        </pattern>
        """
    }
}

/// Horizontal bars, one per row, longest first when sorted, each with its number at the end.
struct BarChart {
    struct Bar {
        /// Shown left of the bar (escaped here).
        var label: String
        /// A second, grey line under the label: an id when the label is a translation.
        var note: String?
        var value: Double
        /// The number at the end of the bar: SVG text content, built with ``Figure`` (escaped there).
        var caption: String
        /// Drawn hatched (a second series, e.g. the control group).
        var hatched = false
    }

    var title: String
    var bars: [Bar]
    /// The value a full-length bar stands for; `nil` scales to the largest bar.
    var scaleMax: Double?
    /// Longest first, ties by label.
    var sorted = true
    /// Unique in the page: names the hatch pattern.
    var id: String
    /// Rows drawn as groups of this many (a policy's pushed and control bars): the label only on
    /// a group's first row, a gap between groups. Only unsorted charts are grouped.
    var groupSize = 1

    /// The space between two groups of rows.
    static let groupGap = 12.0

    static let rowHeight = 30.0
    /// Rows with a note under the label need room for two lines.
    static let notedRowHeight = 40.0
    static let labelWidth = 190.0
    static let captionWidth = 190.0
    static var plotWidth: Double { SVG.width - labelWidth - captionWidth - 10 }

    /// The length of a bar for `value`: proportional, zero for zero, never past the plot.
    func length(_ value: Double) -> Double {
        let top = scaleMax ?? bars.map(\.value).max() ?? 0
        guard top > 0, value > 0 else { return 0 }
        return min(value / top, 1) * Self.plotWidth
    }

    func svg() -> String {
        let rows =
            sorted
            ? bars.enumerated().sorted { ($0.element.value, $1.offset) > ($1.element.value, $0.offset) }.map(\.element)
            : bars
        guard !rows.isEmpty else { return "" }
        let rowHeight = rows.contains { !($0.note ?? "").isEmpty } ? Self.notedRowHeight : Self.rowHeight
        let grouped = groupSize > 1 && !sorted
        let groups = grouped ? (rows.count + groupSize - 1) / groupSize : 1
        let height = Double(rows.count) * rowHeight + Double(groups - 1) * Self.groupGap + 8
        var body = ""
        let x0 = Self.labelWidth
        body += "<line x1=\"\(SVG.n(x0))\" y1=\"2\" x2=\"\(SVG.n(x0))\" y2=\"\(SVG.n(height - 4))\" stroke=\"#888\"/>"
        for (i, bar) in rows.enumerated() {
            let y = 4 + Double(i) * rowHeight + (grouped ? Double(i / groupSize) * Self.groupGap : 0)
            let length = length(bar.value)
            let middle = y + rowHeight / 2
            if grouped, i % groupSize != 0 {
                // A later row of a group: its note alone, the group's label is above.
                body += "<text x=\"\(SVG.n(x0 - 8))\" y=\"\(SVG.n(middle + 4))\" text-anchor=\"end\" class=\"id\">"
                body += SVG.label(bar.note ?? "", limit: 25) + "</text>"
            } else if let note = bar.note, !note.isEmpty {
                body += "<text x=\"\(SVG.n(x0 - 8))\" y=\"\(SVG.n(middle - 3))\" text-anchor=\"end\" class=\"lb\">"
                body += SVG.label(bar.label) + "</text>"
                body += "<text x=\"\(SVG.n(x0 - 8))\" y=\"\(SVG.n(middle + 12))\" text-anchor=\"end\" class=\"id\">"
                body += SVG.label(note, limit: 25) + "</text>"
            } else {
                body += "<text x=\"\(SVG.n(x0 - 8))\" y=\"\(SVG.n(middle + 4))\" text-anchor=\"end\" class=\"lb\">"
                body += SVG.label(bar.label) + "</text>"
            }
            let fill = bar.hatched ? "url(#\(id)-hatch)" : "#444"
            let thickness = Self.rowHeight - 10
            body += "<rect class=\"bar\" data-value=\"\(bar.value)\" x=\"\(SVG.n(x0))\" "
            body += "y=\"\(SVG.n(middle - thickness / 2))\" "
            body += "width=\"\(SVG.n(length))\" height=\"\(SVG.n(thickness))\" fill=\"\(fill)\" stroke=\"#222\" "
            body += "stroke-width=\"\(length > 0 ? "0.8" : "0")\"/>"
            body +=
                "<text x=\"\(SVG.n(x0 + length + 6))\" y=\"\(SVG.n(middle + 4))\" class=\"num\">\(bar.caption)</text>"
        }
        let defs = rows.contains(where: \.hatched) ? SVG.hatch(id: "\(id)-hatch") : ""
        return SVG.document(height: height, title: title, body: body, defs: defs)
    }
}

/// Vertical bars over ordered bins (a distribution), each with its count on top.
struct Histogram {
    struct Bin {
        var label: String
        var value: Int
        /// SVG text content with the count, built with ``Figure``.
        var caption: String
    }

    var title: String
    var bins: [Bin]
    /// Names the x axis under the labels.
    var axisLabel: String

    static let height = 250.0
    static let left = 20.0
    static let top = 24.0
    static let bottom = 56.0

    /// The height of the bar for `value`: proportional to the largest bin, zero for zero.
    func barHeight(_ value: Int) -> Double {
        let top = bins.map(\.value).max() ?? 0
        guard top > 0, value > 0 else { return 0 }
        return Double(value) / Double(top) * (Self.height - Self.top - Self.bottom)
    }

    func svg() -> String {
        guard !bins.isEmpty else { return "" }
        let plotWidth = SVG.width - 2 * Self.left
        let slot = plotWidth / Double(bins.count)
        let base = Self.height - Self.bottom
        var body = "<line x1=\"\(SVG.n(Self.left))\" y1=\"\(SVG.n(base))\" x2=\"\(SVG.n(SVG.width - Self.left))\" "
        body += "y2=\"\(SVG.n(base))\" stroke=\"#888\"/>"
        for (i, bin) in bins.enumerated() {
            let x = Self.left + Double(i) * slot
            let h = barHeight(bin.value)
            body += "<rect class=\"bar\" data-value=\"\(bin.value)\" x=\"\(SVG.n(x + slot * 0.12))\" "
            body += "y=\"\(SVG.n(base - h))\" width=\"\(SVG.n(slot * 0.76))\" height=\"\(SVG.n(h))\" fill=\"#555\"/>"
            body += "<text x=\"\(SVG.n(x + slot / 2))\" y=\"\(SVG.n(base - h - 6))\" text-anchor=\"middle\" "
            body += "class=\"num\">\(bin.caption)</text>"
            body += "<text x=\"\(SVG.n(x + slot / 2))\" y=\"\(SVG.n(base + 16))\" text-anchor=\"middle\" class=\"ax\">"
            body += SVG.label(bin.label, limit: 10) + "</text>"
        }
        body += "<text x=\"\(SVG.n(SVG.width / 2))\" y=\"\(SVG.n(Self.height - 10))\" text-anchor=\"middle\" "
        body += "class=\"ax\">\(HTMLText.escaped(axisLabel))</text>"
        return SVG.document(height: Self.height, title: title, body: body)
    }
}

/// Lines over time buckets, one per series, told apart by dash pattern and point shape.
struct TimeSeries {
    struct Series {
        var name: String
        var values: [Int]
        /// The model path of each value (``Figure``), carried by the point's tooltip.
        var paths: [String]
    }

    var title: String
    /// One label per bucket; about six are drawn.
    var labels: [String]
    var series: [Series]

    static let height = 300.0
    static let left = 60.0
    static let right = 20.0
    static let top = 36.0
    static let bottom = 48.0
    /// Dash patterns by series: solid, dashed, dotted (grey print tells them apart).
    static let dashes = ["", "8 4", "2 3"]
    static let greys = ["#111", "#555", "#333"]

    /// The y-axis top: the largest value rounded up to 1, 2 or 5 times a power of ten.
    var scaleTop: Int {
        let top = series.flatMap(\.values).max() ?? 0
        guard top > 0 else { return 1 }
        var step = 1
        while true {
            for m in [1, 2, 5] where m * step >= top { return m * step }
            step *= 10
        }
    }

    /// Where point `i` of `count` with `value` is drawn.
    func point(_ i: Int, _ value: Int) -> (x: Double, y: Double) {
        let plotWidth = SVG.width - Self.left - Self.right
        let plotHeight = Self.height - Self.top - Self.bottom
        let x = Self.left + (labels.count > 1 ? Double(i) / Double(labels.count - 1) * plotWidth : plotWidth / 2)
        return (x, Self.top + plotHeight - Double(value) / Double(scaleTop) * plotHeight)
    }

    func svg() -> String {
        guard !labels.isEmpty else { return "" }
        let base = Self.height - Self.bottom
        var body = ""
        for fraction in [0.0, 0.5, 1.0] {
            let y = base - fraction * (base - Self.top)
            body += "<line x1=\"\(SVG.n(Self.left))\" y1=\"\(SVG.n(y))\" x2=\"\(SVG.n(SVG.width - Self.right))\" "
            body += "y2=\"\(SVG.n(y))\" stroke=\"#ccc\"/>"
            body += "<text x=\"\(SVG.n(Self.left - 6))\" y=\"\(SVG.n(y + 4))\" text-anchor=\"end\" class=\"ax\">"
            body += Figure.integer(Int(fraction * Double(scaleTop))) + "</text>"
        }
        let every = max(1, Int((Double(labels.count) / 6).rounded(.up)))
        for (i, label) in labels.enumerated() where i % every == 0 {
            let (x, _) = point(i, 0)
            body += "<text x=\"\(SVG.n(x))\" y=\"\(SVG.n(base + 18))\" text-anchor=\"middle\" class=\"ax\">"
            body += HTMLText.escaped(label) + "</text>"
        }
        for (s, series) in series.enumerated() {
            let dash = Self.dashes[s % Self.dashes.count]
            let grey = Self.greys[s % Self.greys.count]
            let points = series.values.enumerated().map { point($0.offset, $0.element) }
            body += "<polyline fill=\"none\" stroke=\"\(grey)\" stroke-width=\"2\""
            body += dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\""
            body += " points=\"" + points.map { "\(SVG.n($0.x)),\(SVG.n($0.y))" }.joined(separator: " ") + "\"/>"
            for (i, p) in points.enumerated() {
                body += Self.marker(s, p, grey)
                body += "<title>\(HTMLText.escaped(series.name)) \(HTMLText.escaped(labels[i])): "
                body += "<tspan \(Figure.attribute(series.paths[i]))>\(Figure.integer(series.values[i]))</tspan>"
                body += "</title></g>"
            }
            // The legend: the series' line and point as drawn, then its name.
            let lx = Self.left + Double(s) * 170
            body += "<line x1=\"\(SVG.n(lx))\" y1=\"14\" x2=\"\(SVG.n(lx + 34))\" y2=\"14\" stroke=\"\(grey)\" "
            body += "stroke-width=\"2\"" + (dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"") + "/>"
            body += Self.marker(s, (lx + 17, 14), grey) + "</g>"
            body += "<text x=\"\(SVG.n(lx + 42))\" y=\"18\" class=\"lb\">\(HTMLText.escaped(series.name))</text>"
        }
        return SVG.document(height: Self.height, title: title, body: body)
    }

    /// An open `<g>` with the point shape of series `s` (circle, square, triangle); the caller closes it.
    private static func marker(_ s: Int, _ p: (x: Double, y: Double), _ grey: String) -> String {
        switch s % 3 {
        case 0:
            return "<g><circle cx=\"\(SVG.n(p.x))\" cy=\"\(SVG.n(p.y))\" r=\"3\" fill=\"\(grey)\"/>"
        case 1:
            return "<g><rect x=\"\(SVG.n(p.x - 3))\" y=\"\(SVG.n(p.y - 3))\" width=\"6\" height=\"6\" fill=\"#fff\" "
                + "stroke=\"\(grey)\" stroke-width=\"1.5\"/>"
        default:
            return "<g><path d=\"M\(SVG.n(p.x)) \(SVG.n(p.y - 4))L\(SVG.n(p.x + 4)) \(SVG.n(p.y + 3))"
                + "L\(SVG.n(p.x - 4)) \(SVG.n(p.y + 3))Z\" fill=\"\(grey)\"/>"
        }
    }
}

/// Stages from the widest to the narrowest, centred, each with its number and share of the first.
struct FunnelChart {
    struct Stage {
        var label: String
        var note: String
        var value: Int
        /// SVG text content: the number and its share, built with ``Figure``.
        var caption: String
    }

    var title: String
    var stages: [Stage]

    static let rowHeight = 46.0
    static let labelWidth = 150.0
    static let captionWidth = 200.0
    static var plotWidth: Double { SVG.width - labelWidth - captionWidth }

    /// The width of a stage: proportional to the first (widest) stage, zero for zero.
    func width(_ value: Int) -> Double {
        let top = stages.map(\.value).max() ?? 0
        guard top > 0, value > 0 else { return 0 }
        return Double(value) / Double(top) * Self.plotWidth
    }

    func svg() -> String {
        guard !stages.isEmpty else { return "" }
        let height = Double(stages.count) * Self.rowHeight + 6
        let centre = Self.labelWidth + Self.plotWidth / 2
        var body = ""
        let greys = ["#2b2b2b", "#4d4d4d", "#6e6e6e", "#8f8f8f", "#ababab"]
        for (i, stage) in stages.enumerated() {
            let y = 3 + Double(i) * Self.rowHeight
            let w = width(stage.value)
            let fill = greys[min(i, greys.count - 1)]
            body += "<text x=\"8\" y=\"\(SVG.n(y + 20))\" class=\"lb\">\(SVG.label(stage.label))</text>"
            body += "<text x=\"8\" y=\"\(SVG.n(y + 35))\" class=\"id\">\(SVG.label(stage.note, limit: 20))</text>"
            body +=
                "<rect class=\"bar\" data-value=\"\(stage.value)\" x=\"\(SVG.n(centre - w / 2))\" y=\"\(SVG.n(y + 4))\" "
            body += "width=\"\(SVG.n(w))\" height=\"\(SVG.n(Self.rowHeight - 10))\" fill=\"\(fill)\"/>"
            body += "<text x=\"\(SVG.n(Self.labelWidth + Self.plotWidth + 10))\" y=\"\(SVG.n(y + 28))\" class=\"num\">"
            body += stage.caption + "</text>"
        }
        return SVG.document(height: height, title: title, body: body)
    }
}
