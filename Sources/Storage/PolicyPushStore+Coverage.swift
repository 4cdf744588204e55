import Registry

extension PolicyPushStore {
    /// A campaign's coverage and every enterprise of its audience not delivered to, in follow-up
    /// order (see ``UnreachedEntry/followUpOrder(_:_:)``), with its registry details and how
    /// it opted out where it did.
    ///
    /// `channels`: the campaign's channels, where opt-outs are looked for.
    public func unreached(
        campaignID: Int64, channels: [Channel]
    ) throws -> (
        coverage: Coverage, entries: [UnreachedEntry]
    ) {
        let coverage = try coverage(campaignID: campaignID)
        let missed = coverage.reaches.filter { $0.value.reason != .delivered }
        let registry = try enterprises(creditCodes: missed.keys)
        let needsOptOuts = missed.values.contains { $0.reason == .optedOut }
        let suppressions = SuppressionIndex(needsOptOuts ? try suppressionList() : [])
        let entries = missed.compactMap { code, reach in
            UnreachedEntry.make(
                creditCode: code, reach: reach, enterprise: registry[code],
                channels: channels.isEmpty ? Channel.allCases : channels, suppressions: suppressions)
        }
        return (coverage, entries.sorted(by: UnreachedEntry.followUpOrder))
    }
}
