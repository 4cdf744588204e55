import Registry
import Rules

extension PolicyCatalog {
    /// The policies `enterprise` qualifies for on `date`, highest priority first; only those among
    /// `policyIDs` (a campaign's) when given.
    public func package(
        for enterprise: Enterprise, on date: LocalDate, among policyIDs: [String]? = nil
    )
        -> [PolicyProfile]
    {
        entries.filter { entry in
            (policyIDs?.contains(entry.profile.id) ?? true) && entry.profile.isActive(on: date)
                && entry.rule.matches(enterprise)
        }
        .map(\.profile)
        .sorted { $0.priority > $1.priority }
    }

    /// The profiles of `ids` that the catalog still holds, highest priority first.
    public func profiles(ids: [String]) -> [PolicyProfile] {
        ids.compactMap { entry(id: $0)?.profile }.sorted { $0.priority > $1.priority }
    }
}
