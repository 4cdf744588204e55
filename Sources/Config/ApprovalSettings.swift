/// Four-eyes approval of campaigns (`approval` in the config file).
public struct ApprovalSettings: Sendable {
    /// Whether a started campaign waits in `awaiting_approval` until an operator other than the
    /// one who started it approves it (`policypush campaign approve ID`). Default `false`, as the
    /// demo runs alone; a district's production config sets it.
    public var required = false

    public init() {}
}
