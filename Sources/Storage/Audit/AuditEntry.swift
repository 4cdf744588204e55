import Foundation

/// One operator action in the audit trail: who did what to which object, with what arguments
/// and what came of it, chained to the entry before it by a SHA-256 hash.
///
/// Entries are only ever appended; `seq` counts from 1 without gaps. See ``AuditChain`` for the
/// hash and what verification proves.
public struct AuditEntry: Sendable, Hashable {
    /// 1, 2, 3, … in the order the entries were appended.
    public var seq: Int64
    /// When the action was recorded (stored as milliseconds since 1970).
    public var at: Date
    /// The Unix user who acted (``OperatorIdentity``), or `daemon`.
    public var operatorName: String
    /// What was done, e.g. `campaign.approve`, `enterprises.import`, `config.reload`.
    public var action: String
    /// What it was done to, e.g. `campaign 7`, a file name; may be empty.
    public var target: String
    /// The arguments that matter, as `key=value` pairs separated by spaces; may be empty.
    public var arguments: String
    /// `ok`, `ok: …` with detail, `refused: …` or `failed: …`.
    public var result: String
    /// The hash of the entry before (64 zeros for the first).
    public var prevHash: String
    /// SHA-256, hexadecimal, over this entry's content and `prevHash` (``AuditChain/hash(of:)``).
    public var hash: String

    public init(
        seq: Int64, at: Date, operatorName: String, action: String, target: String, arguments: String,
        result: String, prevHash: String, hash: String
    ) {
        self.seq = seq
        self.at = at
        self.operatorName = operatorName
        self.action = action
        self.target = target
        self.arguments = arguments
        self.result = result
        self.prevHash = prevHash
        self.hash = hash
    }

    /// An entry to append: the store numbers it, stamps it and chains it.
    public struct New: Sendable, Hashable {
        public var operatorName: String
        public var action: String
        public var target: String
        public var arguments: String
        public var result: String

        public init(
            operatorName: String, action: String, target: String = "", arguments: String = "", result: String = "ok"
        ) {
            self.operatorName = operatorName
            self.action = action
            self.target = target
            self.arguments = arguments
            self.result = result
        }
    }
}

/// Who does a store write on an operator's behalf, for the audit entry written in the same
/// transaction: the operator and the arguments that matter. The store fills in the action,
/// the target and the result, which it knows.
public struct AuditContext: Sendable, Hashable {
    public var operatorName: String
    public var arguments: String

    public init(operatorName: String, arguments: String = "") {
        self.operatorName = operatorName
        self.arguments = arguments
    }
}

/// What ``AuditChain/verify(_:)`` found.
public struct AuditVerification: Sendable, Hashable {
    /// Entries checked (up to and including the first broken one).
    public var checked: Int
    /// The last intact entry's seq and hash (`0` and 64 zeros for an empty trail).
    public var lastSeq: Int64
    public var lastHash: String
    /// The first broken entry, or `nil` when the whole trail is intact.
    public var problem: Problem?

    public var isIntact: Bool { problem == nil }

    /// The first entry that does not fit the chain, and why.
    public struct Problem: Sendable, Hashable {
        public var seq: Int64
        public var reason: String

        public init(seq: Int64, reason: String) {
            self.seq = seq
            self.reason = reason
        }
    }
}

/// The audit trail's hash chain: the canonical form of an entry, its hash, and verification.
///
/// An entry's hash is SHA-256, as 64 lowercase hexadecimal digits, over its canonical form: the
/// fields `seq`, `at` (milliseconds since 1970), `operator`, `action`, `target`, `arguments`,
/// `result` and `prev_hash`, in that order, each written as a netstring (`<UTF-8 byte
/// count>:<bytes>,`, numbers in decimal). Netstrings keep the form unambiguous whatever the
/// fields contain. Each entry's `prev_hash` is the hash of the entry before; the first's is 64
/// zeros.
public enum AuditChain {
    /// `prev_hash` of the first entry.
    public static let genesisHash = String(repeating: "0", count: 64)

    /// The canonical form hashed for `entry` (its own `hash` is not part of it).
    public static func canonicalForm(of entry: AuditEntry) -> [UInt8] {
        let fields = [
            String(entry.seq), String(entry.at.millis), entry.operatorName, entry.action, entry.target,
            entry.arguments, entry.result, entry.prevHash,
        ]
        var bytes: [UInt8] = []
        for field in fields {
            let utf8 = Array(field.utf8)
            bytes += Array("\(utf8.count):".utf8) + utf8 + [UInt8(ascii: ",")]
        }
        return bytes
    }

    /// The hash `entry` should carry.
    public static func hash(of entry: AuditEntry) -> String {
        SHA256.hex(canonicalForm(of: entry))
    }

    /// Checks entries given in `seq` order, one at a time; call ``Verifier/finish()`` at the end.
    ///
    /// Each entry must have the next `seq` (1, 2, 3, …: a gap is a removed entry), carry the hash
    /// of the one before as `prev_hash` (a removed, reordered or rewritten predecessor breaks
    /// it), and its own hash must match its content (an edited entry breaks it). The first
    /// failure is kept; later entries are not checked.
    public struct Verifier: Sendable {
        private var result = AuditVerification(checked: 0, lastSeq: 0, lastHash: AuditChain.genesisHash)

        public init() {}

        /// `false` once a broken entry was found (the caller may stop reading).
        @discardableResult
        public mutating func check(_ entry: AuditEntry) -> Bool {
            guard result.problem == nil else { return false }
            result.checked += 1
            let expected = result.lastSeq + 1
            if entry.seq != expected {
                let missing =
                    entry.seq == expected + 1
                    ? "entry \(expected) is missing" : "entries \(expected)–\(entry.seq - 1) are missing"
                result.problem = .init(seq: entry.seq, reason: "\(missing) (removed)")
            } else if entry.prevHash != result.lastHash {
                let before = result.lastSeq == 0 ? "64 zeros (the first entry)" : "the hash of entry \(result.lastSeq)"
                result.problem = .init(
                    seq: entry.seq,
                    reason: "prev_hash is not \(before): an entry was removed, reordered or rewritten")
            } else if AuditChain.hash(of: entry) != entry.hash {
                result.problem = .init(seq: entry.seq, reason: "hash does not match the content: the entry was changed")
            } else {
                result.lastSeq = entry.seq
                result.lastHash = entry.hash
                return true
            }
            return false
        }

        public func finish() -> AuditVerification { result }
    }

    /// Verifies a whole trail given in `seq` order.
    public static func verify(_ entries: some Sequence<AuditEntry>) -> AuditVerification {
        var verifier = Verifier()
        for entry in entries where !verifier.check(entry) { break }
        return verifier.finish()
    }
}
