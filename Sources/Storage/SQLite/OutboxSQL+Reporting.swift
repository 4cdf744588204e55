import Foundation
import Registry

// Reporting: what became of a campaign's messages, and counts for metrics.
extension OutboxSQL {
    func report(campaignID: Int64) throws -> CampaignReport {
        try readTransaction {
            let select = try statement(
                """
                SELECT state, channel, gateway, policy_ids, last_error, suppression_reason, accepted_at, finished_at
                FROM messages WHERE campaign_id = ?1
                """)
            defer { select.reset() }
            try select.bind(campaignID)
            var report = CampaignReport(
                campaignID: campaignID, total: 0, byState: [:], byPolicy: [:], byChannel: [:], byGateway: [:],
                failureReasons: [:], suppressedByReason: [:], receiptLatency: nil)
            var latencies: [Double] = []
            while try select.step() {
                let state = try messageState(select.text(0))
                report.total += 1
                report.byState[state, default: 0] += 1
                report.byChannel[try optionalChannel(select.text(1)), default: [:]][state, default: 0] += 1
                if let gateway = select.text(2) { report.byGateway[gateway, default: [:]][state, default: 0] += 1 }
                for policy in IDList.decode(select.text(3)) {
                    report.byPolicy[policy, default: [:]][state, default: 0] += 1
                }
                switch state {
                case .failed: report.failureReasons[select.text(4) ?? "unknown", default: 0] += 1
                case .suppressed: report.suppressedByReason[select.text(5) ?? "unknown", default: 0] += 1
                case .delivered:
                    if let accepted = select.optionalInt64(6), let finished = select.optionalInt64(7) {
                        latencies.append(Double(max(0, finished - accepted)) / 1000)
                    }
                default: break
                }
            }
            if !latencies.isEmpty {
                latencies.sort()
                func percentile(_ p: Double) -> Double {
                    // Nearest rank: the smallest value with at least p of the samples at or below it.
                    let rank = Int((p * Double(latencies.count)).rounded(.up))
                    return latencies[min(max(rank, 1), latencies.count) - 1]
                }
                report.receiptLatency = LatencyPercentiles(
                    p50: percentile(0.5), p90: percentile(0.9), p99: percentile(0.99), count: latencies.count)
            }
            return report
        }
    }

    func coverage(campaignID: Int64) throws -> Coverage {
        try readTransaction {
            // Only the columns the fold reads: payloads stay on disk. `messages_campaign` gives id order.
            let select = try statement(
                """
                SELECT credit_code, state, channel, recipient, policy_ids, last_error, suppression_reason
                FROM messages WHERE campaign_id = ?1 ORDER BY id
                """)
            defer { select.reset() }
            try select.bind(campaignID)
            var coverage = Coverage()
            while try select.step() {
                coverage.add(
                    creditCode: select.text(0) ?? "", state: try messageState(select.text(1)),
                    channel: try optionalChannel(select.text(2)), recipient: select.text(3) ?? "",
                    policyIDs: IDList.decode(select.text(4)), lastError: select.text(5),
                    suppressionReason: select.text(6))
            }
            return coverage
        }
    }

    func forEachMessage(
        campaignID: Int64, withEvents: Bool, _ body: (OutboxMessage, [MessageEvent]?) throws -> Void
    ) throws {
        try readTransaction {
            // Not cached: the body may call back into the store while this one is stepping.
            let select = try connection.prepare(
                "SELECT \(Self.messageColumns) FROM messages WHERE campaign_id = ?1 ORDER BY id")
            try select.bind(campaignID)
            let events = try connection.prepare(
                """
                SELECT at, from_state, to_state, gateway, provider_id, error FROM message_events
                WHERE message_id = ?1 ORDER BY id
                """)
            while try select.step() {
                let message = try readMessage(select)
                var history: [MessageEvent]?
                if withEvents {
                    try events.bind(message.id)
                    var list: [MessageEvent] = []
                    while try events.step() {
                        list.append(
                            MessageEvent(
                                at: Date(millis: events.int64(0)), from: try events.text(1).map(messageState),
                                to: try messageState(events.text(2)), gateway: events.text(3),
                                providerID: events.text(4), error: events.text(5)))
                    }
                    events.reset()
                    history = list
                }
                try body(message, history)
            }
        }
    }

    func dataVersion() throws -> Int64 {
        try connection.scalarInt("PRAGMA data_version") ?? 0
    }

    func queueDepth() throws -> [MessageState: Int] {
        let select = try statement("SELECT state, count(*) FROM messages GROUP BY state")
        defer { select.reset() }
        var counts: [MessageState: Int] = [:]
        while try select.step() { counts[try messageState(select.text(0))] = Int(select.int64(1)) }
        return counts
    }

    func messageCounts() throws -> [MessageCount] {
        let select = try statement(
            "SELECT state, channel, gateway, count(*) FROM messages GROUP BY state, channel, gateway")
        defer { select.reset() }
        var counts: [MessageCount] = []
        while try select.step() {
            counts.append(
                MessageCount(
                    state: try messageState(select.text(0)), channel: try optionalChannel(select.text(1)),
                    gateway: select.text(2), count: Int(select.int64(3))))
        }
        return counts
    }
}
