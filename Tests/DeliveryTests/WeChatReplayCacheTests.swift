import Foundation
import Testing

@testable import Delivery

@Suite struct WeChatReplayCacheTests {
    let t0 = Date(timeIntervalSince1970: 1_780_000_000)

    @Test func aPairIsBoundToItsFirstBody() {
        var cache = WeChatReplayCache(capacity: 10)
        let key = WeChatReplayCache.key(gateway: "wx", timestamp: "1780000000", nonce: "n1")
        let expires = t0.addingTimeInterval(300)
        #expect(cache.admit(key: key, digest: [1], expires: expires, now: t0) == .process)
        // Not stored yet (the consumer is running or failed): the same body is processed again.
        #expect(cache.admit(key: key, digest: [1], expires: expires, now: t0) == .process)
        #expect(cache.admit(key: key, digest: [2], expires: expires, now: t0) == .forged)
        cache.markStored(key)
        #expect(cache.admit(key: key, digest: [1], expires: expires, now: t0) == .alreadyStored)
        #expect(cache.admit(key: key, digest: [2], expires: expires, now: t0) == .forged)
        // Another gateway or nonce is another pair.
        let other = WeChatReplayCache.key(gateway: "wx2", timestamp: "1780000000", nonce: "n1")
        #expect(cache.admit(key: other, digest: [2], expires: expires, now: t0) == .process)
    }

    @Test func entriesExpireWithTheirWindowAndTheCapacityHolds() {
        var cache = WeChatReplayCache(capacity: 3)
        let expires = t0.addingTimeInterval(300)
        for n in 0..<3 {
            _ = cache.admit(key: "k\(n)", digest: [0], expires: expires, now: t0)
        }
        #expect(cache.count == 3)
        // Full: the oldest goes first.
        #expect(cache.admit(key: "k3", digest: [0], expires: expires, now: t0) == .process)
        #expect(cache.count == 3)
        #expect(cache.admit(key: "k0", digest: [9], expires: expires, now: t0) == .process)
        // Past the window every old pair is forgotten (the signature check refuses them anyway).
        let later = t0.addingTimeInterval(301)
        #expect(cache.admit(key: "k9", digest: [0], expires: later.addingTimeInterval(300), now: later) == .process)
        #expect(cache.count == 1)
        #expect(cache.admit(key: "k3", digest: [5], expires: later.addingTimeInterval(300), now: later) == .process)
    }

    @Test func manyPushesKeepMemoryBounded() {
        var cache = WeChatReplayCache(capacity: 100)
        for n in 0..<10_000 {
            let now = t0.addingTimeInterval(Double(n) / 10)
            _ = cache.admit(key: "k\(n)", digest: [0], expires: now.addingTimeInterval(300), now: now)
            #expect(cache.count <= 100)
        }
    }
}
