import Foundation
import Registry

/// A gateway's provider budget, counted in the store when a message is admitted.
///
/// Several nodes send through one provider account, so its daily cap and its per-recipient
/// frequency limits hold for what all of them admitted. A `sending` transition carrying a budget
/// (``Transition/budget``) is applied only if the budget has room, and then counts in it, in the
/// same transaction: the day's counter (`gateway_days`) and the recipient's windows
/// (`recipient_sends`). Nothing outside the transaction can slip between the check and the count,
/// so the cap and the windows are exact across nodes.
public struct SendBudget: Sendable, Hashable {
    /// At most `limit` admissions per `key` in any rolling `period` (a provider's frequency limit).
    public struct Window: Sendable, Hashable {
        /// What the provider counts (a sign, template and number; a number and content). It holds a
        /// phone number: the store keeps only its 64-bit FNV-1a hash (``keyHash``).
        public var key: String
        public var limit: Int
        public var period: TimeInterval

        public init(key: String, limit: Int, period: TimeInterval) {
            self.key = key
            self.limit = limit
            self.period = period
        }

        /// The key as `recipient_sends.key` holds it. A collision can only count another key's
        /// sends against this one: a later send, never an extra one.
        public var keyHash: Int64 {
            var fnv = FNV1a()
            fnv.combine(key.utf8)
            return Int64(bitPattern: fnv.value)
        }
    }

    /// The gateway whose account this is.
    public var gateway: String
    /// Admissions per local day, or nil for no cap.
    public var dailyCap: Int?
    /// The first instant of the admission's local day (in the gateway's time zone) and of the next.
    public var dayStart: Date
    public var dayEnd: Date
    /// The recipient windows that apply to this message.
    public var windows: [Window]

    public init(gateway: String, dailyCap: Int?, dayStart: Date, dayEnd: Date, windows: [Window]) {
        self.gateway = gateway
        self.dailyCap = dailyCap
        self.dayStart = dayStart
        self.dayEnd = dayEnd
        self.windows = windows
    }
}

/// Why a budget refused an admission, and when to try again.
public enum BudgetRefusal: Sendable, Hashable {
    /// The gateway's daily cap is spent; it resets at `until`, the next local midnight.
    case dailyCap(until: Date)
    /// A recipient window is full; the earliest send it allows is at `until`.
    case recipientLimit(until: Date)
}

/// What became of a `sending` transition submitted with ``OutboxWriter/admit(_:)``.
public enum SendingCommit: Sendable, Hashable {
    /// Committed: the message may be sent.
    case applied
    /// Not applied: its campaign is not running, or the message moved on meanwhile.
    case notApplied
    /// Not applied: the gateway's shared budget has no room.
    case refused(BudgetRefusal)
}

/// One submitter's share of a group commit: the transitions applied, and the admissions a budget refused.
struct Committed: Sendable {
    var applied: [Transition]
    var refused: [Int64: BudgetRefusal]
}
