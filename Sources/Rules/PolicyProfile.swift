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
    public var link: String?
    /// Channels the policy may be announced on; empty means all.
    public var channels: [Channel]
    public var notes: String?
    /// The eligibility rule in the PolicyPush rule language.
    public var when: String
    /// The profile file it came from.
    public var file: String

    public init(
        id: String, title: String, shortTitle: String, basis: String, effectiveFrom: LocalDate? = nil,
        effectiveTo: LocalDate? = nil, priority: Int = 0, link: String? = nil, channels: [Channel] = [],
        notes: String? = nil, when: String, file: String = ""
    ) {
        self.id = id
        self.title = title
        self.shortTitle = shortTitle
        self.basis = basis
        self.effectiveFrom = effectiveFrom
        self.effectiveTo = effectiveTo
        self.priority = priority
        self.link = link
        self.channels = channels
        self.notes = notes
        self.when = when
        self.file = file
    }

    /// Whether the policy is in force on a date (both bounds inclusive).
    public func isActive(on date: LocalDate) -> Bool {
        if let effectiveFrom, date < effectiveFrom { return false }
        if let effectiveTo, date > effectiveTo { return false }
        return true
    }
}
