import Foundation
import Registry
import Storage

/// The "opened" stage of `campaign report`: packages opened against those delivered, overall and
/// by policy, region and channel, and the client classes of first opens.
struct OpensJSON: Encodable {
    struct Rate: Encodable {
        /// The policy, region or channel; `null` for enterprises without a region.
        var name: String?
        var delivered: Int
        var opened: Int
        /// `opened / delivered`, `null` when nothing was delivered.
        var rate: Double?
    }

    var delivered: Int
    var opened: Int
    var rate: Double?
    /// Page views in all (first opens and reloads).
    var views: Int
    var byPolicy: [Rate]
    var byRegion: [Rate]
    var byChannel: [Rate]
    /// Every class, zero included, so that scripts need not guess which are missing.
    var byClientClass: [String: Int]

    init(_ r: OpenReport) {
        func row(_ name: String?, _ rate: OpenRate) -> Rate {
            Rate(name: name, delivered: rate.delivered, opened: rate.opened, rate: Self.rounded(rate.rate))
        }
        delivered = r.all.delivered
        opened = r.all.opened
        rate = Self.rounded(r.all.rate)
        views = r.views
        byPolicy = r.byPolicy.keys.sorted().map { row($0, r.byPolicy[$0]!) }
        byRegion = OpensText.regions(r).map { row($0, r.byRegion[$0]!) }
        byChannel = r.byChannel.keys.sorted { $0.rawValue < $1.rawValue }.map { row($0.rawValue, r.byChannel[$0]!) }
        byClientClass = Dictionary(
            uniqueKeysWithValues: ClientClass.allCases.map { ($0.rawValue, r.byClientClass[$0] ?? 0) })
    }

    /// Four decimals: a share, not a measurement.
    static func rounded(_ value: Double?) -> Double? {
        value.map { ($0 * 10_000).rounded() / 10_000 }
    }
}

/// The opened stage as text, the same in `report` and (its first line) `status`.
enum OpensText {
    /// Regions by name, enterprises without one last.
    static func regions(_ r: OpenReport) -> [String?] {
        r.byRegion.keys.sorted { a, b in
            switch (a, b) {
            case (nil, _): false
            case (_, nil): true
            case (let a?, let b?): a < b
            }
        }
    }

    /// `3 of 40 delivered (7.5%)`.
    static func share(_ rate: OpenRate) -> String {
        let percent = rate.rate.map { String(format: "%.1f%%", $0 * 100) } ?? "-"
        return "\(rate.opened) of \(rate.delivered) delivered (\(percent))"
    }

    static func print(_ r: OpenReport) {
        Output.out("Opened (packages whose page was opened):")
        Output.out("  all  \(share(r.all)), \(r.views) page view(s)")
        rows("By policy", r.byPolicy.keys.sorted().map { ($0, r.byPolicy[$0]!) })
        // Most opens first, then by name; a city has hundreds of subdistricts, and --json lists
        // every one.
        let regions = regions(r).enumerated()
            .sorted { (r.byRegion[$0.element]!.opened, -$0.offset) > (r.byRegion[$1.element]!.opened, -$1.offset) }
            .map(\.element)
        rows("By region", regions.prefix(Self.regionLines).map { ($0 ?? "(no region)", r.byRegion[$0]!) })
        if regions.count > Self.regionLines {
            Output.out(
                "    … \(regions.count - Self.regionLines) more region(s): campaign report --json lists every one")
        }
        rows(
            "By channel", r.byChannel.keys.sorted { $0.rawValue < $1.rawValue }.map { ($0.rawValue, r.byChannel[$0]!) })
        Output.out(
            "  by client  "
                + ClientClass.allCases.map { "\($0.rawValue) \(r.byClientClass[$0] ?? 0)" }.joined(separator: ", "))
    }

    /// Regions shown in text.
    static let regionLines = 10

    private static func rows(_ title: String, _ rows: [(label: String, rate: OpenRate)]) {
        guard !rows.isEmpty else { return }
        Output.out("  \(title.lowercased()):")
        let width = rows.map(\.label.columns).max() ?? 0
        for row in rows {
            Output.out("    " + row.label.padded(toColumns: width) + "  " + share(row.rate))
        }
    }
}
