import Registry

/// One tax-relief policy as the bureau describes it, with its eligibility rule.
public struct PolicyProfile: Sendable, Hashable {
    public var id: String
    public var title: String
    /// Short title used in SMS packages.
    public var shortTitle: String
    /// The announcement the policy rests on, e.g. `财政部 税务总局公告2023年第12号`.
    public var basis: String
    public var effectiveFrom: LocalDate?
    public var effectiveTo: LocalDate?
    /// Larger numbers are more important and are listed first in a package.
    public var priority: Int
    /// What the policy means for the enterprise, in plain language: one or two lines.
    public var summary: String?
    /// How to claim it, one step per element: where (the 电子税务局 menu, the return and its
    /// line), when (the filing period) and what to keep on file. Empty when the profile has none.
    public var guide: [String]
    /// The announcement on an official site (`https://…gov.cn/…`).
    public var officialLink: String?
    /// Channels the policy may be announced on; empty means all.
    public var channels: [Channel]
    public var notes: String?
    /// The eligibility rule in the PolicyPush rule language.
    public var when: String
    /// The profile file it came from.
    public var file: String

    public init(
        id: String, title: String, shortTitle: String, basis: String, effectiveFrom: LocalDate? = nil,
        effectiveTo: LocalDate? = nil, priority: Int = 0, summary: String? = nil, guide: [String] = [],
        officialLink: String? = nil, channels: [Channel] = [], notes: String? = nil, when: String, file: String = ""
    ) {
        self.id = id
        self.title = title
        self.shortTitle = shortTitle
        self.basis = basis
        self.effectiveFrom = effectiveFrom
        self.effectiveTo = effectiveTo
        self.priority = priority
        self.summary = summary
        self.guide = guide
        self.officialLink = officialLink
        self.channels = channels
        self.notes = notes
        self.when = when
        self.file = file
    }

    /// The guidance fields a campaign needs that this profile lacks, by their key in the profile
    /// file (`summary`, `guide`, `official_link`), in that order.
    public var missingGuidance: [String] {
        var missing: [String] = []
        if summary?.isEmpty ?? true { missing.append("summary") }
        if guide.isEmpty { missing.append("guide") }
        if officialLink?.isEmpty ?? true { missing.append("official_link") }
        return missing
    }

    /// Whether the policy is in force on a date (both bounds inclusive).
    public func isActive(on date: LocalDate) -> Bool {
        if let effectiveFrom, date < effectiveFrom { return false }
        if let effectiveTo, date > effectiveTo { return false }
        return true
    }
}
