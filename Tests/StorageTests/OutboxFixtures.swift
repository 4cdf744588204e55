import Foundation
import Registry

@testable import Storage

/// A store on a fresh database of one backend, with helpers to build campaigns and messages.
struct OutboxFixture {
    let db: TestDatabase
    let store: any PolicyPushStore
    /// A fixed time the tests count from.
    static let t0 = Date(timeIntervalSince1970: 1_780_000_000)

    init(_ backend: StoreBackend = .sqlite) throws {
        db = try TestDatabase(backend)
        store = try db.open()
    }

    /// A store on `db`, which the test keeps to open other connections to it.
    init(db: TestDatabase) throws {
        self.db = db
        store = try db.open()
    }

    /// The SQLite store, for tests of what only SQLite has (its file, its writer).
    var sqlite: SQLiteStore {
        get throws {
            guard let store = store as? SQLiteStore else {
                throw StorageError(code: .invalidValue, message: "this test needs the SQLite store")
            }
            return store
        }
    }

    /// The schema version the store opened at, whichever backend holds it.
    var schemaVersion: Int? {
        (store as? SQLiteStore)?.schemaVersion ?? (store as? PostgresStore)?.schemaVersion
    }

    func scalarInt(_ sql: String) throws -> Int64? { try TestSQL.scalarInt(store, sql) }

    func scalarText(_ sql: String) throws -> String? { try TestSQL.scalarText(store, sql) }

    func execute(_ sql: String) throws { try TestSQL.execute(store, sql) }

    static func spec(name: String = "spring relief") -> CampaignSpec {
        CampaignSpec(
            name: name, policyIDs: ["vat-small", "rd-plus"], channels: [.wechat, .sms], fallback: true,
            startAt: t0, maxMessages: 1000, campaignDate: "2026-06-01",
            policyVersions: ["vat-small": "h1", "rd-plus": "h2"], templateVersion: "t1")
    }

    /// A campaign already moved to `running`.
    func runningCampaign(name: String = "spring relief") throws -> Int64 {
        let id = try store.createCampaign(Self.spec(name: name))
        try store.applyCampaignState(id: id, .planning, at: Self.t0)
        try store.applyCampaignState(id: id, .running, at: Self.t0)
        return id
    }

    static func message(
        campaign: Int64, _ n: Int, channel: Channel = .sms, policies: [String] = ["vat-small"],
        notBefore: Date = t0, state: MessageState = .queued, reason: String? = nil
    ) -> NewMessage {
        NewMessage(
            campaignID: campaign, creditCode: "9144\(100_000_000_000_000 + n)", channel: channel,
            recipient: "1381234\(String(format: "%04d", n % 10000))", policyIDs: policies,
            payload: Array("{\"n\":\(n)}".utf8), idempotencyKey: "c\(campaign)-\(n)-\(channel.rawValue)", state: state,
            suppressionReason: reason, notBefore: notBefore)
    }

    /// Inserts `count` queued messages and returns their ids in order.
    @discardableResult
    func queued(_ count: Int, campaign: Int64, notBefore: Date = t0) throws -> [Int64] {
        try store.insertMessages((0..<count).map { Self.message(campaign: campaign, $0, notBefore: notBefore) })
        var ids: [Int64] = []
        try store.forEachMessage(campaignID: campaign, withEvents: false) { message, _ in ids.append(message.id) }
        return ids
    }

    /// Claims due messages and records each as `sending` through `gateway`, as the dispatcher does
    /// once the gateway admits it.
    @discardableResult
    func claimAndSend(now: Date = t0, limit: Int, gateway: String = "gw") throws -> [OutboxMessage] {
        let claimed = try store.claimDue(now: now, limit: limit)
        try store.record(
            claimed.map {
                Transition(messageID: $0.id, to: .sending, at: now, gateway: gateway, countsAsAttempt: false)
            })
        return claimed
    }

    func state(_ id: Int64) throws -> MessageState? {
        try scalarText("SELECT state FROM messages WHERE id = \(id)").flatMap(MessageState.init)
    }
}
