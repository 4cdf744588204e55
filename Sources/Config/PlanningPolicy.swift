import Foundation
import Registry

/// Rules that decide who is not contacted, or not yet, when a campaign is planned.
public struct PlanningPolicy: Sendable {
    /// At most `max` messages per enterprise on a channel within `days`, across campaigns.
    public struct FrequencyCap: Sendable, Hashable {
        public var max: Int
        public var days: Int
        public init(max: Int, days: Int) {
            self.max = max
            self.days = days
        }
    }

    public var quietHours: QuietHours
    /// Default: SMS at most once in 7 days; WeChat at most twice in 7 days.
    public var frequencyCaps: [Channel: FrequencyCap]
    /// An enterprise is not told the same policy again within this many days (0 = off).
    public var dedupeDays: Int

    public init(
        quietHours: QuietHours = QuietHours(),
        frequencyCaps: [Channel: FrequencyCap] = [.sms: .init(max: 1, days: 7), .wechat: .init(max: 2, days: 7)],
        dedupeDays: Int = 30
    ) {
        self.quietHours = quietHours
        self.frequencyCaps = frequencyCaps
        self.dedupeDays = dedupeDays
    }
}
