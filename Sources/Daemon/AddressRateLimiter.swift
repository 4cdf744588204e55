import Foundation
import Synchronization

/// A token bucket per client address: `burst` requests at once, then `perMinute` a minute.
///
/// Memory is bounded: a bucket idle long enough to be full again says nothing a fresh one would
/// not, so it is dropped when the table is swept (every `sweepInterval`, or when it reaches
/// `maxAddresses`); a table still full after a sweep drops its least recently used tenth. An IPv6
/// client is counted by its /64, the block one subscriber is given, so rotating addresses within
/// it does not buy a fresh bucket.
///
/// Called from handler tasks; the table is behind a `Mutex` held only to decide.
final class AddressRateLimiter: Sendable {
    struct Settings: Sendable, Hashable {
        /// Sustained requests per minute per address; 0: no limit.
        var perMinute: Int
        /// Requests at once.
        var burst: Int
        /// Most addresses remembered at once.
        var maxAddresses = 100_000
        /// How often idle buckets are dropped.
        var sweepInterval: TimeInterval = 60
    }

    /// Whether a request may go on, and if not, in how many whole seconds it could.
    enum Decision: Sendable, Hashable {
        case allowed
        /// Refused; `firstRefusal` is true for the first refusal since the address was last allowed
        /// (the one worth a log line).
        case limited(retryAfter: Int, firstRefusal: Bool)
    }

    private struct Bucket {
        var tokens: Double
        var updated: Date
        var refusing = false
    }

    private struct Table: ~Copyable {
        var buckets: [String: Bucket] = [:]
        var lastSweep: Date
    }

    let settings: Settings
    private let table: Mutex<Table>

    init(settings: Settings, now: Date) {
        self.settings = settings
        table = Mutex(Table(lastSweep: now))
    }

    /// Addresses remembered now.
    var count: Int { table.withLock { $0.buckets.count } }

    /// Takes a token from `address`'s bucket if it has one.
    func admit(_ address: String, now: Date) -> Decision {
        guard settings.perMinute > 0 else { return .allowed }
        let key = Self.key(address)
        let perSecond = Double(settings.perMinute) / 60
        let capacity = Double(settings.burst)
        return table.withLock { table in
            if table.buckets[key] == nil {
                if now.timeIntervalSince(table.lastSweep) >= settings.sweepInterval
                    || table.buckets.count >= settings.maxAddresses
                {
                    sweep(&table, now: now, perSecond: perSecond, capacity: capacity)
                }
            }
            var bucket = table.buckets[key] ?? Bucket(tokens: capacity, updated: now)
            let elapsed = max(0, now.timeIntervalSince(bucket.updated))
            bucket.tokens = min(capacity, bucket.tokens + elapsed * perSecond)
            bucket.updated = now
            let decision: Decision
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                bucket.refusing = false
                decision = .allowed
            } else {
                let wait = Int(((1 - bucket.tokens) / perSecond).rounded(.up))
                decision = .limited(retryAfter: max(1, wait), firstRefusal: !bucket.refusing)
                bucket.refusing = true
            }
            table.buckets[key] = bucket
            return decision
        }
    }

    private func sweep(_ table: inout Table, now: Date, perSecond: Double, capacity: Double) {
        table.lastSweep = now
        table.buckets = table.buckets.filter { _, bucket in
            bucket.tokens + now.timeIntervalSince(bucket.updated) * perSecond < capacity
        }
        guard table.buckets.count >= settings.maxAddresses else { return }
        let oldest = table.buckets.sorted { $0.value.updated < $1.value.updated }
            .prefix(max(1, settings.maxAddresses / 10)).map(\.key)
        for key in oldest { table.buckets[key] = nil }
    }

    /// The bucket's name for `address`: an IPv4 address as it is, an IPv6 one by its /64.
    static func key(_ address: String) -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        guard address.contains(":"), inet_pton(AF_INET6, address, &bytes) == 1 else { return address }
        return bytes.prefix(8).map { String($0, radix: 16) }.joined(separator: ".") + "/64"
    }

    /// `address` for a log line: an IPv4 address without its last two octets, an IPv6 one by its
    /// first two groups; never the whole address.
    static func masked(_ address: String) -> String {
        if address.contains(":") {
            return address.split(separator: ":", omittingEmptySubsequences: false).prefix(2).joined(separator: ":")
                + ":…"
        }
        let octets = address.split(separator: ".")
        guard octets.count == 4 else { return "?" }
        return "\(octets[0]).\(octets[1]).*.*"
    }
}
