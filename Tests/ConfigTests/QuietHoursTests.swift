import Config
import Foundation
import Testing

@Suite struct QuietHoursTests {
    let hours = QuietHours()

    func shanghai(_ text: String) -> Date {
        let formatter = ISO8601DateFormatter()
        return formatter.date(from: text + "+08:00")!
    }

    @Test func insideTheWindowSendsNow() {
        let noon = shanghai("2026-06-01T12:00:00")
        #expect(hours.allows(noon))
        #expect(hours.nextAllowed(from: noon) == noon)
    }

    @Test func beforeOpeningWaitsForEightOClock() {
        #expect(hours.nextAllowed(from: shanghai("2026-06-01T06:30:00")) == shanghai("2026-06-01T08:00:00"))
    }

    @Test func afterClosingWaitsForTheNextMorning() {
        #expect(!hours.allows(shanghai("2026-06-01T20:00:00")))
        #expect(hours.nextAllowed(from: shanghai("2026-06-01T21:15:00")) == shanghai("2026-06-02T08:00:00"))
    }

    @Test func aWindowAcrossMidnight() {
        let night = QuietHours(opensAt: 22 * 60, closesAt: 2 * 60)
        #expect(night.allows(shanghai("2026-06-01T23:00:00")))
        #expect(night.allows(shanghai("2026-06-02T01:00:00")))
        #expect(night.nextAllowed(from: shanghai("2026-06-02T03:00:00")) == shanghai("2026-06-02T22:00:00"))
    }

    @Test func parsesHoursAndMinutes() {
        #expect(QuietHours.minutes("08:00") == 480)
        #expect(QuietHours.minutes("20:30") == 1230)
        #expect(QuietHours.minutes("25:00") == nil)
        #expect(QuietHours.minutes("8") == nil)
    }
}
