import Foundation
import Kit

/// Provider frequency limits per recipient key, as rolling windows.
///
/// A key names what the provider counts: Aliyun counts per (sign, template, number), Tencent per
/// (number, content). Build keys with ``key(scope:_:)``; a window with a ``Window/scope`` applies
/// only to keys of that scope, a window without one to every key. Keys hold phone numbers: they are
/// kept in memory only, never logged. Entries older than the longest window are dropped, so memory
/// stays proportional to the recipients of the last window.
public struct RecipientLimits: Sendable {
    /// At most `limit` sends per key in any rolling `period`.
    public struct Window: Sendable, Hashable, Codable {
        public var scope: String?
        public var limit: Int
        public var period: Duration

        public init(limit: Int, per period: Duration, scope: String? = nil) {
            self.scope = scope
            self.limit = limit
            self.period = period
        }
    }

    /// Aliyun notification SMS: 50 per day per (sign, template, number), day taken as rolling 24 h.
    public static let aliyunNotification = [Window(limit: 50, per: .seconds(86_400))]
    /// Tencent SMS: 1 per 30 s per (number, content).
    public static let tencentSameContent = [Window(limit: 1, per: .seconds(30))]

    /// The configured windows.
    public let windows: [Window]
    private let longest: TimeInterval
    private let keep: Int
    private var history: [String: [Date]] = [:]
    private var nextSweep: Date?

    /// Creates limits from `windows` (each with a positive limit and period).
    public init(windows: [Window]) {
        precondition(windows.allSatisfy { $0.limit > 0 && $0.period > .zero }, "RecipientLimits needs positive windows")
        self.windows = windows
        self.longest = windows.map { $0.period.seconds }.max() ?? 0
        self.keep = windows.map(\.limit).max() ?? 0
    }

    /// A key in `scope` made of `parts` (joined with a unit separator, which never occurs in them).
    public static func key(scope: String, _ parts: String...) -> String {
        ([scope] + parts).joined(separator: "\u{1F}")
    }

    /// Keys currently remembered.
    public var trackedKeys: Int { history.count }

    /// The earliest time a send to `key` is allowed, or nil when it is allowed at `now`.
    public func check(key: String, now: Date) -> Date? {
        guard let times = history[key] else { return nil }
        var earliest: Date?
        for window in applicable(to: key) {
            let start = now.addingTimeInterval(-window.period.seconds)
            let inWindow = times.drop { $0 <= start }
            guard inWindow.count >= window.limit else { continue }
            let freeing = inWindow[inWindow.endIndex - window.limit].addingTimeInterval(window.period.seconds)
            earliest = Swift.max(earliest ?? freeing, freeing)
        }
        return earliest
    }

    /// Counts a send to `key` at `now`.
    public mutating func record(key: String, now: Date) {
        sweepIfDue(now: now)
        guard !applicable(to: key).isEmpty else { return }
        var times = history[key, default: []]
        let index = times.lastIndex { $0 <= now }.map { $0 + 1 } ?? 0
        times.insert(now, at: index)
        let cutoff = now.addingTimeInterval(-longest)
        times.removeAll { $0 <= cutoff }
        if times.count > keep { times.removeFirst(times.count - keep) }
        history[key] = times
    }

    /// Takes back a send recorded for `key` at `time` (the provider did not count it).
    public mutating func forget(key: String, at time: Date) {
        guard var times = history[key], let index = times.lastIndex(of: time) else { return }
        times.remove(at: index)
        history[key] = times.isEmpty ? nil : times
    }

    /// The windows that count sends to `key` (those of its scope, and those without one).
    public func applicable(to key: String) -> [Window] {
        let scope = key.split(separator: "\u{1F}", maxSplits: 1, omittingEmptySubsequences: false).first
        return windows.filter { window in window.scope.map { scope == Substring($0) } ?? true }
    }

    private mutating func sweepIfDue(now: Date) {
        if let nextSweep, now < nextSweep { return }
        let cutoff = now.addingTimeInterval(-longest)
        history = history.filter { ($0.value.last ?? .distantPast) > cutoff }
        nextSweep = now.addingTimeInterval(Swift.max(longest, 1))
    }
}
