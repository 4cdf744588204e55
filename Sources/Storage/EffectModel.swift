import Foundation
import Registry

/// One enterprise a campaign found eligible: its group and what planning decided for it.
public struct GroupAssignment: Sendable, Hashable {
    public var campaignID: Int64
    public var creditCode: String
    /// Every campaign policy it qualified for, before de-duplication.
    public var policyIDs: [String]
    /// Held out: no message is sent, its suppressed message says `control_group`.
    public var control: Bool
    /// What planning decided (pushed group) or would have decided (control group): a suppression
    /// reason such as `frequency_cap` or `duplicate`, or `nil` for a message planned.
    public var plannedReason: String?

    public init(campaignID: Int64, creditCode: String, policyIDs: [String], control: Bool, plannedReason: String?) {
        self.campaignID = campaignID
        self.creditCode = creditCode
        self.policyIDs = policyIDs
        self.control = control
        self.plannedReason = plannedReason
    }
}

/// One claim of a relief by an enterprise, as the tax system exports it.
public struct UptakeClaim: Sendable, Hashable {
    public var creditCode: String
    public var policyID: String
    public var claimedOn: LocalDate
    /// The relief claimed, in fen (0.01 yuan), when the export gives it.
    public var amountFen: Int64?

    public init(creditCode: String, policyID: String, claimedOn: LocalDate, amountFen: Int64?) {
        self.creditCode = creditCode
        self.policyID = policyID
        self.claimedOn = claimedOn
        self.amountFen = amountFen
    }
}

/// What an uptake import changed.
public struct UptakeUpsert: Sendable, Hashable {
    public var inserted = 0
    public var updated = 0
    public var unchanged = 0

    public init() {}
}

/// 跟踪问效: the control assignment of each campaign and the uptake imported from the tax system.
///
/// - Important: Used from one thread or actor at a time, as every store.
public protocol EffectStore: AnyObject {
    /// Records group assignments; one already stored for the (campaign, enterprise) is kept (a
    /// re-plan after a crash assigns the same). One transaction.
    func insertGroupAssignments(_ batch: [GroupAssignment]) throws

    /// A campaign's group assignments in credit-code order; empty for a campaign planned before
    /// they were recorded.
    func groupAssignments(campaignID: Int64) throws -> [GroupAssignment]

    /// Inserts claims, or updates the amount of one stored for the same (credit code, policy,
    /// day). One transaction; `source` names the file.
    @discardableResult
    func upsertUptake(_ claims: [UptakeClaim], source: String, at: Date) throws -> UptakeUpsert

    /// Claims of `policyIDs` made from `from` to `through` (both included), in credit-code order.
    func uptake(policyIDs: [String], from: LocalDate, through: LocalDate) throws -> [UptakeClaim]

    /// How many claims are stored.
    func uptakeCount() throws -> Int
}
