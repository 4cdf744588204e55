import Foundation
import Report

/// Compares every tagged figure and percentage of a page with the JSON it was rendered from.
enum FigureCheck {
    /// Problems found, one line each; empty when every figure matches.
    static func mismatches(html: String, json: Any, snakeCase: Bool = false) -> [String] {
        var problems: [String] = []
        for marker in FigureMarkers.figures(in: html) {
            guard let shown = FigureMarkers.number(marker.text) else {
                problems.append("\(marker.path): shown '\(marker.text)' is not a number")
                continue
            }
            guard let value = FigureMarkers.value(at: marker.path, in: json, snakeCase: snakeCase) as? NSNumber else {
                problems.append("\(marker.path): no number there in the JSON")
                continue
            }
            // Seconds and percentages are shown with one decimal, yuan with two; counts exactly.
            if abs(value.doubleValue * marker.scale - shown) > 0.05 + 1e-9 {
                problems.append("\(marker.path): page \(marker.text), JSON \(value)")
            }
        }
        for path in FigureMarkers.absences(in: html)
        where FigureMarkers.value(at: path, in: json, snakeCase: snakeCase) != nil {
            problems.append("\(path): shown as absent, but the JSON has it")
        }
        for ratio in FigureMarkers.ratios(in: html) {
            let part = FigureMarkers.value(at: ratio.part, in: json, snakeCase: snakeCase) as? NSNumber
            let whole = FigureMarkers.value(at: ratio.whole, in: json, snakeCase: snakeCase) as? NSNumber
            guard let part, let whole else {
                problems.append("\(ratio.part)/\(ratio.whole): not both in the JSON")
                continue
            }
            if whole.doubleValue == 0 {
                if ratio.text != "—" { problems.append("\(ratio.part)/\(ratio.whole): \(ratio.text) over zero") }
            } else if let shown = FigureMarkers.number(ratio.text),
                abs(shown - part.doubleValue * 100 / whole.doubleValue) <= 0.05 + 1e-9
            {
                continue
            } else {
                problems.append("\(ratio.part)/\(ratio.whole): page \(ratio.text), JSON \(part)/\(whole)")
            }
        }
        return problems
    }
}
