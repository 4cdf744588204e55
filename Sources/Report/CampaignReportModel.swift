/// The campaign report as the HTML page reads it: the JSON report (`campaign report --json`),
/// decoded from the very bytes the CLI encodes, so every figure on the page is the JSON's.
///
/// Property names are the JSON report's (camel case here, snake case in `--json` output);
/// keys the page does not show are ignored when decoding. Optional parts are absent when the
/// store has nothing for them (no receipts yet, no uptake imported).
public struct CampaignReportModel: Codable, Sendable, Hashable {
    /// A count under a name taken from data: a reason, a gateway, a region, a policy id.
    public struct Count: Codable, Sendable, Hashable {
        public var name: String
        public var count: Int

        public init(name: String, count: Int) {
            self.name = name
            self.count = count
        }
    }

    /// The campaign record: who, what, which versions.
    public struct Campaign: Codable, Sendable, Hashable {
        public var id: Int64
        public var name: String
        public var state: String
        public var createdAt: String?
        public var createdBy: String?
        /// Who approved it, or rejected it (`state` says which).
        public var approvedBy: String?
        public var decidedAt: String?
        public var decisionNote: String?
        public var startAt: String?
        public var finishedAt: String?
        public var campaignDate: String
        public var policies: [String]
        public var channels: [String]
        public var policyVersions: [String: String]
        public var templateVersion: String

        public init(
            id: Int64, name: String, state: String, createdAt: String? = nil, createdBy: String? = nil,
            approvedBy: String? = nil, decidedAt: String? = nil, decisionNote: String? = nil, startAt: String? = nil,
            finishedAt: String? = nil, campaignDate: String, policies: [String], channels: [String],
            policyVersions: [String: String], templateVersion: String
        ) {
            self.id = id
            self.name = name
            self.state = state
            self.createdAt = createdAt
            self.createdBy = createdBy
            self.approvedBy = approvedBy
            self.decidedAt = decidedAt
            self.decisionNote = decisionNote
            self.startAt = startAt
            self.finishedAt = finishedAt
            self.campaignDate = campaignDate
            self.policies = policies
            self.channels = channels
            self.policyVersions = policyVersions
            self.templateVersion = templateVersion
        }
    }

    /// Enterprises by where the campaign left them (`campaign unreached` counts the same).
    public struct Coverage: Codable, Sendable, Hashable {
        public var qualified: Int
        public var delivered: Int
        public var toldBefore: Int
        public var inFlight: Int
        public var notReachedTotal: Int
        public var notReached: [Count]

        public init(
            qualified: Int, delivered: Int, toldBefore: Int, inFlight: Int, notReachedTotal: Int, notReached: [Count]
        ) {
            self.qualified = qualified
            self.delivered = delivered
            self.toldBefore = toldBefore
            self.inFlight = inFlight
            self.notReachedTotal = notReachedTotal
            self.notReached = notReached
        }
    }

    /// Coverage of one region or one policy.
    public struct GroupCoverage: Codable, Sendable, Hashable {
        /// The region or policy id; `""` for enterprises without a region.
        public var name: String
        public var qualified: Int
        public var delivered: Int

        public init(name: String, qualified: Int, delivered: Int) {
            self.name = name
            self.qualified = qualified
            self.delivered = delivered
        }
    }

    /// Enterprises from qualified to delivered, and where the others stopped, by reason.
    public struct Funnel: Codable, Sendable, Hashable {
        public var qualified: Int
        public var planned: Int
        public var sent: Int
        public var delivered: Int
        public var suppressed: [Count]
        public var notSent: [Count]
        public var undelivered: [Count]

        public init(
            qualified: Int, planned: Int, sent: Int, delivered: Int, suppressed: [Count], notSent: [Count],
            undelivered: [Count]
        ) {
            self.qualified = qualified
            self.planned = planned
            self.sent = sent
            self.delivered = delivered
            self.suppressed = suppressed
            self.notSent = notSent
            self.undelivered = undelivered
        }
    }

    public struct Latency: Codable, Sendable, Hashable {
        public var p50Seconds: Double
        public var p90Seconds: Double
        public var p99Seconds: Double
        public var count: Int

        public init(p50Seconds: Double, p90Seconds: Double, p99Seconds: Double, count: Int) {
            self.p50Seconds = p50Seconds
            self.p90Seconds = p90Seconds
            self.p99Seconds = p99Seconds
            self.count = count
        }
    }

    public struct LatencyBucket: Codable, Sendable, Hashable {
        public var fromSeconds: Double
        /// `nil` for the last, open bucket.
        public var toSeconds: Double?
        public var count: Int

        public init(fromSeconds: Double, toSeconds: Double?, count: Int) {
            self.fromSeconds = fromSeconds
            self.toSeconds = toSeconds
            self.count = count
        }
    }

    /// Sends, deliveries and failures per time bucket.
    public struct Timeline: Codable, Sendable, Hashable {
        public struct Bucket: Codable, Sendable, Hashable {
            /// ISO 8601 with the configured zone's offset, e.g. `2026-03-02T09:00:00+08:00`.
            public var start: String
            public var sent: Int
            public var delivered: Int
            public var failed: Int

            public init(start: String, sent: Int, delivered: Int, failed: Int) {
                self.start = start
                self.sent = sent
                self.delivered = delivered
                self.failed = failed
            }
        }

        public var bucketSeconds: Int
        public var buckets: [Bucket]

        public init(bucketSeconds: Int, buckets: [Bucket]) {
            self.bucketSeconds = bucketSeconds
            self.buckets = buckets
        }
    }

    /// Failed messages of one gateway, by last error.
    public struct GatewayFailures: Codable, Sendable, Hashable {
        public var name: String
        public var total: Int
        public var reasons: [Count]

        public init(name: String, total: Int, reasons: [Count]) {
            self.name = name
            self.total = total
            self.reasons = reasons
        }
    }

    public struct Replies: Codable, Sendable, Hashable {
        public var total: Int
        public var optOuts: Int

        public init(total: Int, optOuts: Int) {
            self.total = total
            self.optOuts = optOuts
        }
    }

    /// Claims of a policy's relief after the campaign, in the pushed group and, when the
    /// campaign held one out, the control group.
    public struct PolicyUptake: Codable, Sendable, Hashable {
        public var name: String
        public var pushedEligible: Int
        public var pushedClaimed: Int
        public var controlEligible: Int?
        public var controlClaimed: Int?

        public init(
            name: String, pushedEligible: Int, pushedClaimed: Int, controlEligible: Int? = nil,
            controlClaimed: Int? = nil
        ) {
            self.name = name
            self.pushedEligible = pushedEligible
            self.pushedClaimed = pushedClaimed
            self.controlEligible = controlEligible
            self.controlClaimed = controlClaimed
        }
    }

    public struct Uptake: Codable, Sendable, Hashable {
        /// Claims counted within this many days of the campaign's start.
        public var windowDays: Int
        public var policies: [PolicyUptake]

        public init(windowDays: Int, policies: [PolicyUptake]) {
            self.windowDays = windowDays
            self.policies = policies
        }
    }

    public var campaign: Campaign
    /// Messages, every state.
    public var total: Int
    /// Messages by state name.
    public var byState: [String: Int]
    public var coverage: Coverage
    public var funnel: Funnel
    /// By region, sorted by name.
    public var coverageByRegion: [GroupCoverage]
    /// By policy id, sorted by id.
    public var coverageByPolicy: [GroupCoverage]
    public var receiptLatency: Latency?
    public var receiptLatencyHistogram: [LatencyBucket]
    public var failuresByGateway: [GatewayFailures]
    public var timeline: Timeline?
    public var replies: Replies
    /// Present once uptake is imported for the campaign.
    public var uptake: Uptake?

    public init(
        campaign: Campaign, total: Int, byState: [String: Int], coverage: Coverage, funnel: Funnel,
        coverageByRegion: [GroupCoverage], coverageByPolicy: [GroupCoverage], receiptLatency: Latency?,
        receiptLatencyHistogram: [LatencyBucket], failuresByGateway: [GatewayFailures], timeline: Timeline?,
        replies: Replies, uptake: Uptake? = nil
    ) {
        self.campaign = campaign
        self.total = total
        self.byState = byState
        self.coverage = coverage
        self.funnel = funnel
        self.coverageByRegion = coverageByRegion
        self.coverageByPolicy = coverageByPolicy
        self.receiptLatency = receiptLatency
        self.receiptLatencyHistogram = receiptLatencyHistogram
        self.failuresByGateway = failuresByGateway
        self.timeline = timeline
        self.replies = replies
        self.uptake = uptake
    }
}
