import Config
import Delivery
import Foundation
import Kit
import Ops
import Planning
import Registry
import Storage

/// Settles what dispatch could not: messages whose send was ambiguous, and accepted messages
/// whose receipt never came, by asking the provider (``ProviderLookup``).
///
/// For an `ambiguous` message, once its settle time has passed since its last attempt:
/// - the provider has a record carrying our id → `accepted` (and `delivered`/`failed` when the
///   record says so);
/// - the provider has no record → `unsent`: it may be sent again, through any gateway;
/// - the provider cannot be asked (no query API, errors) → it waits for a receipt or a
///   deduplicating resend, and becomes `unconfirmed` (final; an operator decides) at its deadline.
///
/// An `accepted` message without a receipt is looked up after ``ReconcileSettings/receiptCheck``
/// and then with doubling gaps, until a report comes or it expires.
public final class Reconciler: Service {
    /// What one pass did, for logs and tests.
    public struct Pass: Sendable, Hashable {
        public var checked = 0
        public var accepted = 0
        public var reported = 0
        public var unsent = 0
        public var unconfirmed = 0
        public var errors = 0
        public init() {}
    }

    public static let absentReason = "reconcile:absent-at-provider"
    public static let deadlineReason = "reconcile:deadline"

    let store: StoreWorker
    let writer: any OutboxWriter
    let lookups: [String: ProviderLookup]
    let settings: ReconcileSettings
    let log: Log
    let now: @Sendable () -> Date

    public init(
        store: StoreWorker, writer: any OutboxWriter, lookups: [String: ProviderLookup], settings: ReconcileSettings,
        log: Log = Log(), now: @escaping @Sendable () -> Date = Date.init
    ) {
        self.store = store
        self.writer = writer
        self.lookups = lookups
        self.settings = settings
        self.log = log
        self.now = now
    }

    /// Runs a pass every ``ReconcileSettings/interval`` until cancelled.
    public func run() async throws {
        while !Task.isCancelled {
            let pass = try await self.pass()
            if pass.accepted + pass.reported + pass.unsent + pass.unconfirmed + pass.errors > 0 {
                log.info(
                    "reconciled",
                    [
                        "checked": pass.checked, "accepted": pass.accepted, "reported": pass.reported,
                        "unsent": pass.unsent, "unconfirmed": pass.unconfirmed, "lookup_errors": pass.errors,
                    ])
            }
            // A full batch means more is due: go on at once.
            if pass.checked < settings.batch { try await Task.sleep(for: settings.interval) }
        }
    }

    /// Looks at every message due a check (up to the batch size) and records what it learnt.
    public func pass() async throws -> Pass {
        let at = now()
        let limit = settings.batch
        let due = try await store.run { try $0.messagesToCheck(now: at, limit: limit) }
        var pass = Pass()
        pass.checked = due.count
        guard !due.isEmpty else { return pass }

        // One task per gateway; a gateway's lookups go one at a time (providers limit query rates).
        let groups = Dictionary(grouping: due) { $0.gateway ?? "" }
        let decisions = await withTaskGroup(of: [Decision].self) { group in
            for (gateway, messages) in groups {
                group.addTask { await self.decide(messages, lookup: self.lookups[gateway]) }
            }
            var all: [Decision] = []
            for await part in group { all += part }
            return all
        }

        var transitions: [Transition] = []
        var receipts: [StoredReceipt] = []
        var checks: [(messageID: Int64, at: Date?)] = []
        for decision in decisions {
            switch decision {
            case .transition(let transition):
                transitions.append(transition)
                switch transition.to {
                case .accepted: pass.accepted += 1
                case .unsent: pass.unsent += 1
                case .unconfirmed: pass.unconfirmed += 1
                default: break
                }
            case .receipt(let transition, let receipt):
                if let transition { transitions.append(transition) }
                receipts.append(receipt)
                pass.reported += 1
            case .check(let id, let at, let failed):
                checks.append((id, at))
                if failed { pass.errors += 1 }
            }
        }
        if !transitions.isEmpty { _ = try await writer.submit(transitions) }
        if !receipts.isEmpty {
            let batch = receipts
            _ = try await store.run { try $0.recordReceipts(batch) }
        }
        if !checks.isEmpty {
            let batch = checks
            try await store.run { try $0.rescheduleChecks(batch) }
        }
        return pass
    }

    enum Decision: Sendable {
        case transition(Transition)
        /// A provider report: an ambiguous message is first marked accepted, then the receipt applies.
        case receipt(Transition?, StoredReceipt)
        case check(Int64, at: Date?, failed: Bool)
    }

    private func decide(_ messages: [OutboxMessage], lookup: ProviderLookup?) async -> [Decision] {
        var decisions: [Decision] = []
        for message in messages {
            if Task.isCancelled { break }
            decisions.append(await decide(message, lookup: lookup))
        }
        return decisions
    }

    func decide(_ message: OutboxMessage, lookup: ProviderLookup?) async -> Decision {
        let at = now()
        switch message.state {
        case .ambiguous:
            let lastAttempt = message.lastAttemptAt ?? message.firstAttemptAt ?? at
            let deadline = lastAttempt.addingTimeInterval(settings.deadline)
            let settled = lastAttempt.addingTimeInterval(settings.settle)
            func giveUpOrWait(until next: Date, failed: Bool) -> Decision {
                if at >= deadline {
                    return .transition(
                        Transition(
                            messageID: message.id, to: .unconfirmed, at: at, error: Self.deadlineReason,
                            countsAsAttempt: false))
                }
                return .check(message.id, at: min(next, deadline), failed: failed)
            }
            // Without a query API, a receipt or a deduplicating resend settles it, or the deadline.
            guard let lookup, let gateway = message.gateway else { return giveUpOrWait(until: deadline, failed: false) }
            guard at >= settled else { return .check(message.id, at: settled, failed: false) }
            do {
                switch try await lookup.lookUp(message, now: at) {
                case .pending(let providerID):
                    return .transition(accepted(message, gateway: gateway, providerID: providerID, at: at))
                case .reported(let receipt):
                    return .receipt(
                        accepted(message, gateway: gateway, providerID: receipt.providerID, at: at),
                        stored(receipt, at: at))
                case .absent:
                    return .transition(
                        Transition(
                            messageID: message.id, to: .unsent, at: at, gateway: gateway, error: Self.absentReason,
                            nextAttemptAt: at, countsAsAttempt: false))
                }
            } catch {
                log.warning(
                    "provider lookup failed", ["gateway": gateway, "message": message.id, "error": "\(error)"])
                return giveUpOrWait(until: at.addingTimeInterval(settings.retryAfterError), failed: true)
            }
        case .accepted:
            guard let lookup else { return .check(message.id, at: nil, failed: false) }
            do {
                switch try await lookup.lookUp(message, now: at) {
                case .reported(let receipt):
                    return .receipt(nil, stored(receipt, at: at))
                case .pending, .absent:
                    // Doubling gaps: 10 min, 20, 40, … capped at 6 h, until the receipt or expiry.
                    let age = at.timeIntervalSince(message.acceptedAt ?? at)
                    let gap = min(max(settings.receiptCheck, age), 6 * 3600)
                    return .check(message.id, at: at.addingTimeInterval(gap), failed: false)
                }
            } catch {
                return .check(message.id, at: at.addingTimeInterval(settings.retryAfterError), failed: true)
            }
        default:
            return .check(message.id, at: nil, failed: false)
        }
    }

    private func accepted(_ message: OutboxMessage, gateway: String, providerID: String?, at: Date) -> Transition {
        Transition(
            messageID: message.id, to: .accepted, at: at, gateway: gateway, providerID: providerID,
            error: "reconcile:found-at-provider", countsAsAttempt: false,
            checkAt: at.addingTimeInterval(settings.receiptCheck))
    }

    private func stored(_ receipt: Receipt, at: Date) -> StoredReceipt {
        StoredReceipt(
            gateway: receipt.gateway, messageKey: receipt.messageID, providerID: receipt.providerID,
            status: receipt.status.rawValue, reasonCode: receipt.reasonCode, occurredAt: receipt.occurredAt,
            receivedAt: at, dedupeKey: receipt.dedupeKey, raw: [])
    }
}
