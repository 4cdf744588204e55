import Foundation
import Testing

@testable import Storage

/// The store keeps times as milliseconds since 1970; a date no `Int64` can hold (a hostile push's
/// `CreateTime` of 9.3e15 seconds) is clamped, never trapped on.
@Suite struct DateMillisTests {
    @Test func ordinaryDatesRoundToTheMillisecond() {
        #expect(Date(timeIntervalSince1970: 1_780_000_000.2345).millis == 1_780_000_000_235)
        #expect(Date(timeIntervalSince1970: -1.5).millis == -1500)
        #expect(
            Date(millis: Date(timeIntervalSince1970: 1_395_658_920).millis)
                == Date(timeIntervalSince1970: 1_395_658_920))
    }

    @Test func datesBeyondInt64Clamp() {
        #expect(Date(timeIntervalSince1970: 9_300_000_000_000_000).millis == .max)
        #expect(Date(timeIntervalSince1970: 9_223_372_036_854_776).millis == .max)
        #expect(Date(timeIntervalSince1970: -9_300_000_000_000_000).millis == .min)
        #expect(Date(timeIntervalSince1970: .infinity).millis == .max)
        #expect(Date(timeIntervalSince1970: -.infinity).millis == .min)
        #expect(Date(timeIntervalSince1970: .nan).millis == 0)
    }

    @Test func aReceiptFromTheFarFutureIsStoredNotTrappedOn() throws {
        let f = try OutboxFixture()
        let outcome = try f.store.recordReceipts([
            StoredReceipt(
                gateway: "wx", messageKey: nil, providerID: "200163836", status: "delivered", reasonCode: "success",
                occurredAt: Date(timeIntervalSince1970: 9_300_000_000_000_000), receivedAt: OutboxFixture.t0,
                dedupeKey: "wechat:o|9300000000000000|200163836", raw: [])
        ])
        #expect(outcome.unmatched == 1)
    }
}
