import Foundation

/// How many delivered messages had a receipt latency (accepted to delivered) in one range.
public struct LatencyBucket: Sendable, Hashable {
    /// The lower bound, inclusive, in seconds.
    public var fromSeconds: Double
    /// The upper bound, exclusive; `nil` for the last, open bucket.
    public var toSeconds: Double?
    public var count: Int

    public init(fromSeconds: Double, toSeconds: Double?, count: Int) {
        self.fromSeconds = fromSeconds
        self.toSeconds = toSeconds
        self.count = count
    }

    /// Bucket bounds in seconds: fine where receipts usually land (seconds), coarse in the
    /// tail, so one chart shows both a healthy gateway and a slow one.
    public static let bounds: [Double] = [0, 5, 10, 30, 60, 120, 300, 600, 1800, 3600]

    /// Every bucket of ``bounds``, zeros included, for `latencies` in seconds; empty when there are none.
    public static func histogram(_ latencies: [Double]) -> [LatencyBucket] {
        guard !latencies.isEmpty else { return [] }
        var buckets = bounds.indices.map { i in
            LatencyBucket(fromSeconds: bounds[i], toSeconds: i + 1 < bounds.count ? bounds[i + 1] : nil, count: 0)
        }
        for latency in latencies {
            let index = (bounds.lastIndex { $0 <= latency }) ?? 0
            buckets[index].count += 1
        }
        return buckets
    }
}

/// Sends, deliveries and failures of a campaign per time bucket, for a time-series chart.
public struct ActivityTimeline: Sendable, Hashable {
    public struct Bucket: Sendable, Hashable {
        /// The bucket's first instant.
        public var start: Date
        /// Messages whose first attempt fell in the bucket.
        public var sent: Int
        /// Messages delivered (receipt recorded) in the bucket.
        public var delivered: Int
        /// Messages that failed for good or expired without a receipt in the bucket.
        public var failed: Int

        public init(start: Date, sent: Int, delivered: Int, failed: Int) {
            self.start = start
            self.sent = sent
            self.delivered = delivered
            self.failed = failed
        }
    }

    /// The width of every bucket, in seconds.
    public var bucketSeconds: Int
    /// Consecutive buckets from the first activity to the last, empty ones included.
    public var buckets: [Bucket]

    public init(bucketSeconds: Int, buckets: [Bucket]) {
        self.bucketSeconds = bucketSeconds
        self.buckets = buckets
    }

    /// Widths a reader can name (a minute to a week), tried smallest first.
    public static let widths = [60, 300, 900, 1800, 3600, 10_800, 21_600, 43_200, 86_400, 604_800]

    /// The most buckets a chart shows: about one per 20 px on a slide.
    public static let maxBuckets = 48

    /// The smallest of ``widths`` that covers `first...last` (milliseconds, shifted into local
    /// time) in at most ``maxBuckets`` aligned buckets.
    public static func width(first: Int64, last: Int64) -> Int {
        for width in widths {
            let w = Int64(width) * 1000
            if last.floorDiv(w) - first.floorDiv(w) + 1 <= Int64(maxBuckets) { return width }
        }
        return widths[widths.count - 1]
    }
}

extension Int64 {
    /// Division rounding toward negative infinity, so buckets before 1970 align too.
    func floorDiv(_ d: Int64) -> Int64 {
        let q = self / d
        return (self % d != 0 && (self < 0) != (d < 0)) ? q - 1 : q
    }
}

/// A campaign's enterprises from qualified to delivered, and where the others stopped.
///
/// `qualified = planned + Σ suppressed`, `planned = sent + Σ notSent`,
/// `sent = delivered + Σ undelivered`: every enterprise is in exactly one reason.
public struct CoverageFunnel: Sendable, Hashable {
    public var qualified: Int
    /// Not suppressed: a message was meant to go out.
    public var planned: Int
    /// A message went to a gateway (or was attempted).
    public var sent: Int
    public var delivered: Int
    /// Enterprises suppressed before sending (told before included), by reason.
    public var suppressed: [ReachReason: Int]
    /// Planned but not sent (still waiting, or cancelled first).
    public var notSent: [ReachReason: Int]
    /// Sent but not delivered (failed, expired, unconfirmed, awaiting a receipt).
    public var undelivered: [ReachReason: Int]

    /// Reasons that end an enterprise's path before any message is meant to go; the control
    /// group among them, held out by design (without it, it counted as sent and not delivered).
    public static let suppressionReasons: Set<ReachReason> = [
        .toldBefore, .optedOut, .frequencyCap, .noPolicyForChannel, .noContact, .campaignMax, .otherSuppression,
        .controlGroup,
    ]
    /// Reasons of enterprises planned but not (yet) sent.
    public static let notSentReasons: Set<ReachReason> = [.pending, .cancelled]

    public init(byReason: [ReachReason: Int]) {
        qualified = byReason.values.reduce(0, +)
        delivered = byReason[.delivered] ?? 0
        suppressed = byReason.filter { Self.suppressionReasons.contains($0.key) }
        notSent = byReason.filter { Self.notSentReasons.contains($0.key) }
        undelivered = byReason.filter {
            $0.key != .delivered && !Self.suppressionReasons.contains($0.key) && !Self.notSentReasons.contains($0.key)
        }
        planned = qualified - suppressed.values.reduce(0, +)
        sent = planned - notSent.values.reduce(0, +)
    }
}

/// A campaign's coverage split by the enterprise's region and by policy.
///
/// For a policy, an enterprise counts when one of its messages carried the policy, and its
/// reason is the fold of those messages only: delivered on SMS for one policy while another
/// was suppressed for the channel counts once each way.
public struct CoverageBreakdown: Sendable {
    /// By the region the registry gives now; `""` for enterprises without one or no longer registered.
    public var byRegion: [String: Coverage.Counts]
    public var byPolicy: [String: Coverage.Counts]

    public init(byRegion: [String: Coverage.Counts], byPolicy: [String: Coverage.Counts]) {
        self.byRegion = byRegion
        self.byPolicy = byPolicy
    }
}
