import Foundation
import Registry

extension PostgresStore: EffectStore {
    public func insertGroupAssignments(_ batch: [GroupAssignment]) throws {
        try outbox.insertGroupAssignments(batch)
    }

    public func groupAssignments(campaignID: Int64) throws -> [GroupAssignment] {
        try outbox.groupAssignments(campaignID: campaignID)
    }

    @discardableResult
    public func upsertUptake(_ claims: [UptakeClaim], source: String, at: Date) throws -> UptakeUpsert {
        try outbox.upsertUptake(claims, source: source, at: at)
    }

    public func uptake(policyIDs: [String], from: LocalDate, through: LocalDate) throws -> [UptakeClaim] {
        try outbox.uptake(policyIDs: policyIDs, from: from, through: through)
    }

    public func uptakeCount() throws -> Int {
        try outbox.uptakeCount()
    }
}
