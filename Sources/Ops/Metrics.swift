import Kit
import Synchronization

/// A small metrics registry rendered in the Prometheus text exposition format 0.0.4.
///
/// Families are registered once (counters, gauges, histograms, each with fixed label names) and updated
/// from anywhere; `render()` produces the `/metrics` body with `# HELP` and `# TYPE` lines, families in
/// name order and series in label-value order, so the output is deterministic.
///
/// ```swift
/// let metrics = Metrics()
/// let receipts = metrics.counter("policypush_receipts_total", help: "Receipts.", labels: ["gateway", "outcome"])
/// receipts.increment(labels: ["aliyun", "delivered"])
/// ```
///
/// - Important: Thread-safe: every family guards its series with its own `Mutex`, the registry its
///   family list with another; `render()` takes each family's lock in turn, never two at once.
public final class Metrics: Sendable {
    /// The content type of `render()`'s output, for the HTTP response.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private let families = Mutex<[String: any MetricFamily]>([:])

    /// An empty registry.
    public init() {}

    /// Registers (or returns the already registered) counter `name`.
    ///
    /// - Precondition: `name` and `labels` are valid Prometheus names; a family registered twice has
    ///   the same type and label names.
    public func counter(_ name: String, help: String, labels: [String] = []) -> Counter {
        register(Counter(name: name, help: help, labelNames: labels))
    }

    /// Registers (or returns the already registered) gauge `name`.
    ///
    /// - Precondition: as for `counter(_:help:labels:)`.
    public func gauge(_ name: String, help: String, labels: [String] = []) -> Gauge {
        register(Gauge(name: name, help: help, labelNames: labels))
    }

    /// Registers (or returns the already registered) histogram `name` with fixed upper bounds.
    ///
    /// - Parameter buckets: Upper bounds (`le`), any order; `+Inf` is implicit.
    /// - Precondition: as for `counter(_:help:labels:)`; no label is called `le`; at least one finite bucket.
    public func histogram(
        _ name: String, help: String, labels: [String] = [], buckets: [Double] = Histogram.defaultBuckets
    ) -> Histogram {
        register(Histogram(name: name, help: help, labelNames: labels, buckets: buckets))
    }

    /// The whole registry in the text exposition format, ending in a newline (empty when nothing is registered).
    public func render() -> String {
        let sorted = families.withLock { $0.sorted { $0.key < $1.key }.map(\.value) }
        var output = ""
        for family in sorted {
            output += "# HELP \(family.name) \(Self.escapeHelp(family.help))\n"
            output += "# TYPE \(family.name) \(family.type)\n"
            family.renderSamples(into: &output)
        }
        return output
    }

    private func register<Family: MetricFamily>(_ family: Family) -> Family {
        precondition(Self.isValidMetricName(family.name), "invalid metric name \(family.name)")
        for label in family.labelNames {
            precondition(Self.isValidLabelName(label), "invalid label name \(label) on \(family.name)")
        }
        return families.withLock { families in
            if let existing = families[family.name] {
                guard let same = existing as? Family, same.labelNames == family.labelNames else {
                    preconditionFailure("metric \(family.name) registered twice with different shapes")
                }
                return same
            }
            families[family.name] = family
            return family
        }
    }

    // MARK: - Format helpers

    static func isValidMetricName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !isDigit(first) else { return false }
        return name.utf8.allSatisfy {
            isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ":")
        }
    }

    static func isValidLabelName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !isDigit(first), !name.hasPrefix("__") else { return false }
        return name.utf8.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    /// Label values escape backslash, double quote and newline.
    static func escapeLabelValue(_ value: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(value.utf8.count)
        for character in value.unicodeScalars {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    /// HELP text escapes backslash and newline only.
    static func escapeHelp(_ help: String) -> String {
        help.replacing("\\", with: "\\\\").replacing("\n", with: "\\n")
    }

    /// Integral values print without a fraction (`3`, not `3.0`); infinities as `+Inf`/`-Inf`.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    /// `{a="x",b="y"}`, or nothing when there are no labels.
    static func labelSet(_ names: [String], _ values: [String]) -> String {
        guard !names.isEmpty else { return "" }
        let pairs = zip(names, values).map { "\($0)=\"\(escapeLabelValue($1))\"" }
        return "{" + pairs.joined(separator: ",") + "}"
    }
}

/// What the registry needs from a family to list and render it.
protocol MetricFamily: AnyObject, Sendable {
    var name: String { get }
    var help: String { get }
    var type: String { get }
    var labelNames: [String] { get }
    func renderSamples(into output: inout String)
}

/// Label values compare element by element, so series render in a stable order.
private func labelValuesPrecede(_ lhs: [String], _ rhs: [String]) -> Bool {
    lhs.lexicographicallyPrecedes(rhs)
}

extension Metrics {
    /// A monotonically increasing value per label set (`# TYPE … counter`).
    public final class Counter: MetricFamily {
        public let name: String
        public let help: String
        public let labelNames: [String]
        var type: String { "counter" }
        private let series = Mutex<[[String]: Double]>([:])

        init(name: String, help: String, labelNames: [String]) {
            self.name = name
            self.help = help
            self.labelNames = labelNames
            if labelNames.isEmpty { series.withLock { $0[[]] = 0 } }
        }

        /// Adds `amount` (ignored unless positive and finite: counters never go down).
        ///
        /// - Precondition: one value per label name, in the registered order.
        public func increment(by amount: Double = 1, labels: [String] = []) {
            precondition(labels.count == labelNames.count, "\(name) takes labels \(labelNames)")
            guard amount > 0, amount.isFinite else { return }
            series.withLock { $0[labels, default: 0] += amount }
        }

        /// The current value for a label set (0 when never incremented).
        public func value(labels: [String] = []) -> Double {
            series.withLock { $0[labels] ?? 0 }
        }

        func renderSamples(into output: inout String) {
            let samples = series.withLock { $0.sorted { labelValuesPrecede($0.key, $1.key) } }
            for (labels, value) in samples {
                output += name + Metrics.labelSet(labelNames, labels) + " " + Metrics.format(value) + "\n"
            }
        }
    }

    /// A value that goes up and down per label set (`# TYPE … gauge`).
    public final class Gauge: MetricFamily {
        public let name: String
        public let help: String
        public let labelNames: [String]
        var type: String { "gauge" }
        private let series = Mutex<[[String]: Double]>([:])

        init(name: String, help: String, labelNames: [String]) {
            self.name = name
            self.help = help
            self.labelNames = labelNames
            if labelNames.isEmpty { series.withLock { $0[[]] = 0 } }
        }

        /// Sets the value for a label set.
        ///
        /// - Precondition: one value per label name, in the registered order.
        public func set(_ value: Double, labels: [String] = []) {
            precondition(labels.count == labelNames.count, "\(name) takes labels \(labelNames)")
            series.withLock { $0[labels] = value }
        }

        /// Adds `amount` (negative to decrease) to a label set's value.
        ///
        /// - Precondition: one value per label name, in the registered order.
        public func add(_ amount: Double, labels: [String] = []) {
            precondition(labels.count == labelNames.count, "\(name) takes labels \(labelNames)")
            series.withLock { $0[labels, default: 0] += amount }
        }

        /// Replaces every series at once, e.g. with counts just read from the store, so label sets that
        /// disappeared stop being exported.
        ///
        /// - Precondition: each key holds one value per label name.
        public func replaceAll(_ values: [[String]: Double]) {
            for labels in values.keys {
                precondition(labels.count == labelNames.count, "\(name) takes labels \(labelNames)")
            }
            series.withLock { series in
                series = values
                if labelNames.isEmpty, series[[]] == nil { series[[]] = 0 }
            }
        }

        /// The current value for a label set (0 when never set).
        public func value(labels: [String] = []) -> Double {
            series.withLock { $0[labels] ?? 0 }
        }

        func renderSamples(into output: inout String) {
            let samples = series.withLock { $0.sorted { labelValuesPrecede($0.key, $1.key) } }
            for (labels, value) in samples {
                output += name + Metrics.labelSet(labelNames, labels) + " " + Metrics.format(value) + "\n"
            }
        }
    }

    /// Observations counted into fixed buckets per label set (`# TYPE … histogram`): renders cumulative
    /// `_bucket{le=…}` lines ending in `le="+Inf"`, then `_sum` and `_count`.
    public final class Histogram: MetricFamily {
        /// Prometheus client libraries' default bounds, in seconds.
        public static let defaultBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

        public let name: String
        public let help: String
        public let labelNames: [String]
        /// The finite upper bounds, ascending.
        public let buckets: [Double]
        var type: String { "histogram" }

        /// Per label set: the count of observations that fell into each bucket (not cumulative; the last
        /// slot is `+Inf`), the sum and the count.
        struct Series {
            var counts: [UInt64]
            var sum: Double = 0
            var count: UInt64 = 0
        }
        private let series = Mutex<[[String]: Series]>([:])

        init(name: String, help: String, labelNames: [String], buckets: [Double]) {
            let bounds = Array(Set(buckets.filter(\.isFinite))).sorted()
            precondition(!bounds.isEmpty, "\(name) needs at least one finite bucket")
            precondition(!labelNames.contains("le"), "\(name): `le` is reserved for histogram buckets")
            self.name = name
            self.help = help
            self.labelNames = labelNames
            self.buckets = bounds
            if labelNames.isEmpty {
                series.withLock { $0[[]] = Series(counts: Array(repeating: 0, count: bounds.count + 1)) }
            }
        }

        /// Records one observation (a value equal to a bound falls into that bound's bucket).
        ///
        /// - Precondition: one value per label name, in the registered order.
        public func observe(_ value: Double, labels: [String] = []) {
            precondition(labels.count == labelNames.count, "\(name) takes labels \(labelNames)")
            let index = buckets.firstIndex { value <= $0 } ?? buckets.count
            let empty = Series(counts: Array(repeating: 0, count: buckets.count + 1))
            series.withLock { series in
                series[labels, default: empty].counts[index] += 1
                series[labels, default: empty].sum += value
                series[labels, default: empty].count += 1
            }
        }

        /// Records a duration in seconds.
        public func observe(_ duration: Duration, labels: [String] = []) {
            observe(duration.seconds, labels: labels)
        }

        /// Cumulative bucket counts (the last is `+Inf`, equal to the count), the sum and the count.
        public func snapshot(labels: [String] = []) -> (cumulative: [UInt64], sum: Double, count: UInt64) {
            let value = series.withLock { $0[labels] } ?? Series(counts: Array(repeating: 0, count: buckets.count + 1))
            var running: UInt64 = 0
            let cumulative = value.counts.map {
                running += $0
                return running
            }
            return (cumulative, value.sum, value.count)
        }

        func renderSamples(into output: inout String) {
            let samples = series.withLock { $0.sorted { labelValuesPrecede($0.key, $1.key) } }
            let bounds = buckets.map(Metrics.format) + ["+Inf"]
            for (labels, value) in samples {
                var running: UInt64 = 0
                for (bound, count) in zip(bounds, value.counts) {
                    running += count
                    let labelSet = Metrics.labelSet(labelNames + ["le"], labels + [bound])
                    output += name + "_bucket" + labelSet + " " + String(running) + "\n"
                }
                let labelSet = Metrics.labelSet(labelNames, labels)
                output += name + "_sum" + labelSet + " " + Metrics.format(value.sum) + "\n"
                output += name + "_count" + labelSet + " " + String(value.count) + "\n"
            }
        }
    }
}
