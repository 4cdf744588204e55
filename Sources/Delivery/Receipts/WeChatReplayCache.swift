import Foundation

/// The `(timestamp, nonce)` pairs of recent signed WeChat pushes, each bound to a digest of the
/// first body it came with.
///
/// WeChat's signature covers the token, timestamp and nonce but not the body, so a captured
/// query would sign any body for as long as its timestamp is fresh. Binding the pair to its first
/// body closes that: the same pair with another body is a forgery, the same pair with the same
/// body is WeChat retrying (acknowledged without a second hand-over once the first was stored).
///
/// Memory is bounded: at most `capacity` entries, each forgotten when its timestamp leaves the
/// freshness window (the signature check refuses it from then on) or, when full, oldest first.
struct WeChatReplayCache {
    /// What to do with a signed push.
    enum Verdict: Equatable {
        /// Not seen in the window (or its first attempt was not stored yet): process it.
        case process
        /// A retry of a push already stored: acknowledge it, process nothing.
        case alreadyStored
        /// The pair came with another body before: refuse.
        case forged
    }

    private struct Entry {
        var digest: [UInt8]
        var expires: Date
        var stored: Bool
    }

    let capacity: Int
    private var entries: [String: Entry] = [:]
    /// Keys in insertion order from `head` on; the slots before `head` are spent.
    private var order: [String] = []
    private var head = 0

    init(capacity: Int) { self.capacity = max(1, capacity) }

    static func key(gateway: String, timestamp: String, nonce: String) -> String {
        gateway + "\u{0}" + timestamp + "\u{0}" + nonce
    }

    var count: Int { entries.count }

    /// Judges a push whose signature was verified, remembering its pair until `expires`.
    mutating func admit(key: String, digest: [UInt8], expires: Date, now: Date) -> Verdict {
        if let entry = entries[key], entry.expires >= now {
            guard entry.digest == digest else { return .forged }
            return entry.stored ? .alreadyStored : .process
        }
        entries[key] = nil
        evict(now: now)
        entries[key] = Entry(digest: digest, expires: expires, stored: false)
        order.append(key)
        return .process
    }

    /// Records that the push admitted under `key` was stored (or had nothing to store).
    mutating func markStored(_ key: String) {
        entries[key]?.stored = true
    }

    /// Drops expired entries from the front and the oldest ones beyond `capacity - 1`.
    private mutating func evict(now: Date) {
        while head < order.count {
            let key = order[head]
            guard let entry = entries[key] else {
                head += 1  // replaced or already dropped
                continue
            }
            guard entries.count >= capacity || entry.expires < now else { break }
            entries[key] = nil
            head += 1
        }
        if head > 1024 && head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }
}
