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
                case .failed:
                    let reason = select.text(4) ?? "unknown"
                    report.failureReasons[reason, default: 0] += 1
                    report.failuresByGateway[select.text(2) ?? "none", default: [:]][reason, default: 0] += 1
                case .suppressed: report.suppressedByReason[select.text(5) ?? "unknown", default: 0] += 1
                case .delivered:
                    if let accepted = try select.optionalInt64(6), let finished = try select.optionalInt64(7) {
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
                report.latencyHistogram = LatencyBucket.histogram(latencies)
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

    func coverageBreakdown(campaignID: Int64) throws -> CoverageBreakdown {
        try readTransaction {
            // Grouped by enterprise so each fold ends when its credit code does: memory holds one
            // enterprise's reaches, not the audience's. The sort is a temporary B-tree, once per report.
            let select = try statement(
                """
                SELECT m.credit_code, m.state, m.channel, m.policy_ids, m.last_error, m.suppression_reason, e.region
                FROM messages m LEFT JOIN enterprises e ON e.credit_code = m.credit_code
                WHERE m.campaign_id = ?1 ORDER BY m.credit_code, m.id
                """)
            defer { select.reset() }
            try select.bind(campaignID)
            var regions: [String: [ReachReason: Int]] = [:]
            var policies: [String: [ReachReason: Int]] = [:]
            var current: String?
            var region = ""
            var overall = EnterpriseReach()
            var perPolicy: [String: EnterpriseReach] = [:]
            func close() {
                guard current != nil else { return }
                if let reason = overall.reason { regions[region, default: [:]][reason, default: 0] += 1 }
                for (policy, reach) in perPolicy {
                    if let reason = reach.reason { policies[policy, default: [:]][reason, default: 0] += 1 }
                }
            }
            while try select.step() {
                let code = select.text(0) ?? ""
                if code != current {
                    close()
                    current = code
                    region = select.text(6) ?? ""
                    overall = EnterpriseReach()
                    perPolicy = [:]
                }
                let state = try messageState(select.text(1))
                let channel = try optionalChannel(select.text(2))
                let policyIDs = IDList.decode(select.text(3))
                let (lastError, reason) = (select.text(4), select.text(5))
                overall.add(
                    state: state, channel: channel, recipient: "", policyIDs: policyIDs, lastError: lastError,
                    suppressionReason: reason)
                for policy in policyIDs {
                    perPolicy[policy, default: EnterpriseReach()].add(
                        state: state, channel: channel, recipient: "", policyIDs: [policy], lastError: lastError,
                        suppressionReason: reason)
                }
            }
            close()
            func counts(_ d: [String: [ReachReason: Int]]) -> [String: Coverage.Counts] {
                d.mapValues { Coverage.Counts(byReason: $0, qualified: $0.values.reduce(0, +)) }
            }
            return CoverageBreakdown(byRegion: counts(regions), byPolicy: counts(policies))
        }
    }

    func activity(campaignID: Int64, utcOffsetSeconds: Int) throws -> ActivityTimeline? {
        try readTransaction {
            // One row per event: a first attempt (sent), or a final delivery or failure; times
            // shifted into local time so hour and day buckets start on the local clock.
            let events = """
                SELECT first_attempt_at + ?2 AS t, 1 AS s, 0 AS d, 0 AS f FROM messages
                WHERE campaign_id = ?1 AND first_attempt_at IS NOT NULL
                UNION ALL
                SELECT finished_at + ?2, 0, CASE WHEN state = 'delivered' THEN 1 ELSE 0 END,
                    CASE WHEN state = 'delivered' THEN 0 ELSE 1 END FROM messages
                WHERE campaign_id = ?1 AND state IN ('delivered', 'failed', 'expired') AND finished_at IS NOT NULL
                """
            let offset = Int64(utcOffsetSeconds) * 1000
            // Flags are CASE expressions and subqueries are named: PostgreSQL has booleans, not 0 and 1,
            // and wants an alias on every subquery in FROM.
            let range = try statement("SELECT min(t), max(t) FROM (\(events)) AS events")
            defer { range.reset() }
            try range.bind(campaignID, offset)
            guard try range.step(), let first = try range.optionalInt64(0), let last = try range.optionalInt64(1) else {
                return nil
            }
            let width = ActivityTimeline.width(first: first, last: last)
            let w = Int64(width) * 1000
            let select = try statement(
                """
                SELECT t / ?3 - CASE WHEN t % ?3 < 0 THEN 1 ELSE 0 END AS k, sum(s), sum(d), sum(f)
                FROM (\(events)) AS events GROUP BY k ORDER BY k
                """)
            defer { select.reset() }
            try select.bind(campaignID, offset, w)
            var counts: [Int64: (Int, Int, Int)] = [:]
            while try select.step() {
                counts[try select.int64(0)] = (
                    Int(try select.int64(1)), Int(try select.int64(2)), Int(try select.int64(3))
                )
            }
            let firstKey = first.floorDiv(w)
            let buckets = (firstKey...last.floorDiv(w)).map { key in
                let (s, d, f) = counts[key] ?? (0, 0, 0)
                return ActivityTimeline.Bucket(
                    start: Date(millis: key * w - offset), sent: s, delivered: d, failed: f)
            }
            return ActivityTimeline(bucketSeconds: width, buckets: buckets)
        }
    }

    func forEachMessage(
        campaignID: Int64, withEvents: Bool, _ body: (OutboxMessage, [MessageEvent]?) throws -> Void
    ) throws {
        try readTransaction {
            // Not cached: the body may call back into the store while this one is stepping.
            let select = try connection.scan(
                "SELECT \(Self.messageColumns) FROM messages WHERE campaign_id = ?1 ORDER BY id")
            try select.bind(campaignID)
            let events = try connection.cursor(
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
                                at: Date(millis: try events.int64(0)), from: try events.text(1).map(messageState),
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
        try connection.dataVersion()
    }

    func queueDepth() throws -> [MessageState: Int] {
        // From the counts the triggers keep (migration 13): a few rows, however full the outbox.
        let select = try statement(
            "SELECT state, CAST(sum(n) AS BIGINT) FROM message_counts GROUP BY state HAVING sum(n) <> 0")
        defer { select.reset() }
        var counts: [MessageState: Int] = [:]
        while try select.step() { counts[try messageState(select.text(0))] = Int(try select.int64(1)) }
        return counts
    }

    func messageCounts() throws -> [MessageCount] {
        // From the counts the triggers keep (migration 13), which write no gateway as ''.
        let select = try statement(
            """
            SELECT state, channel, nullif(gateway, ''), CAST(sum(n) AS BIGINT) FROM message_counts
            GROUP BY state, channel, gateway HAVING sum(n) <> 0
            """)
        defer { select.reset() }
        var counts: [MessageCount] = []
        while try select.step() {
            counts.append(
                MessageCount(
                    state: try messageState(select.text(0)), channel: try optionalChannel(select.text(1)),
                    gateway: select.text(2), count: Int(try select.int64(3))))
        }
        return counts
    }
}
