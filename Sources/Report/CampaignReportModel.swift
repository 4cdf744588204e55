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
        /// Enterprises that opened their package page (opened before a receipt came counts too);
        /// absent in a report from before opens were recorded.
        public var opened: Int?
        public var suppressed: [Count]
        public var notSent: [Count]
        public var undelivered: [Count]

        public init(
            qualified: Int, planned: Int, sent: Int, delivered: Int, opened: Int? = nil, suppressed: [Count],
            notSent: [Count], undelivered: [Count]
        ) {
            self.qualified = qualified
            self.planned = planned
            self.sent = sent
            self.delivered = delivered
            self.opened = opened
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

    /// 跟踪问效: `campaign effect`'s figures as its JSON holds them (the page decodes the very
    /// `CampaignEffect` the CLI computes): per policy, uptake among eligible enterprises in the
    /// pushed group (split by delivery) and the control group, and the difference with its 95 %
    /// interval (Newcombe's hybrid score). Present when uptake was imported or a control group held out.
    public struct Effect: Codable, Sendable, Hashable {
        /// One group's uptake of one policy.
        public struct Group: Codable, Sendable, Hashable {
            public var enterprises: Int
            /// Enterprises that opened their package page (always 0 in the control group).
            public var opened: Int
            public var claimed: Int
            /// `claimed / enterprises`; `nil` for an empty group.
            public var share: Double?
            /// Relief claimed in the window, in fen.
            public var amountFen: Int64
            /// Median days from the delivery day to the claim (delivered group only).
            public var medianDaysFromDelivery: Double?

            public init(
                enterprises: Int, opened: Int = 0, claimed: Int, amountFen: Int64 = 0,
                medianDaysFromDelivery: Double? = nil
            ) {
                self.enterprises = enterprises
                self.opened = opened
                self.claimed = claimed
                self.share = enterprises > 0 ? Double(claimed) / Double(enterprises) : nil
                self.amountFen = amountFen
                self.medianDaysFromDelivery = medianDaysFromDelivery
            }
        }

        /// Share claimed, pushed minus control, with its 95 % interval.
        public struct Difference: Codable, Sendable, Hashable {
            public var estimate: Double
            public var lower: Double
            public var upper: Double

            public init(estimate: Double, lower: Double, upper: Double) {
                self.estimate = estimate
                self.lower = lower
                self.upper = upper
            }
        }

        public struct Policy: Codable, Sendable, Hashable {
            public var policyID: String
            public var eligible: Int
            public var pushed: Group
            /// Of the pushed group: a message carrying the policy was delivered.
            public var delivered: Group
            public var control: Group
            public var difference: Difference?

            public init(
                policyID: String, pushed: Group, delivered: Group, control: Group, difference: Difference? = nil
            ) {
                self.policyID = policyID
                self.eligible = pushed.enterprises + control.enterprises
                self.pushed = pushed
                self.delivered = delivered
                self.control = control
                self.difference = difference
            }
        }

        /// The campaign's start day, the window's first.
        public var startDay: String
        public var windowDays: Int
        public var windowEnd: String
        public var controlPercent: Double
        /// `false` without a control group: the figures then describe uptake, not an effect.
        public var measuresEffect: Bool
        public var policies: [Policy]

        public init(
            startDay: String, windowDays: Int, windowEnd: String, controlPercent: Double, measuresEffect: Bool,
            policies: [Policy]
        ) {
            self.startDay = startDay
            self.windowDays = windowDays
            self.windowEnd = windowEnd
            self.controlPercent = controlPercent
            self.measuresEffect = measuresEffect
            self.policies = policies
        }
    }

    /// Package pages opened against messages delivered (the JSON report's `opened`): counted by
    /// message, a message counting once under each policy it carried.
    public struct Opens: Codable, Sendable, Hashable {
        public struct Rate: Codable, Sendable, Hashable {
            /// The policy, region or channel; `nil` for enterprises without a region.
            public var name: String?
            public var delivered: Int
            public var opened: Int

            public init(name: String?, delivered: Int, opened: Int) {
                self.name = name
                self.delivered = delivered
                self.opened = opened
            }
        }

        public var delivered: Int
        public var opened: Int
        /// Page views in all, reloads included.
        public var views: Int
        public var byPolicy: [Rate]
        /// By name, enterprises without a region last: the page draws the ten with most deliveries.
        public var byRegion: [Rate]
        public var byChannel: [Rate]
        /// Opened packages by the client class of their first open (`wechat`, `mobile`, `desktop`).
        public var byClientClass: [String: Int]

        public init(
            delivered: Int, opened: Int, views: Int, byPolicy: [Rate], byRegion: [Rate], byChannel: [Rate],
            byClientClass: [String: Int]
        ) {
            self.delivered = delivered
            self.opened = opened
            self.views = views
            self.byPolicy = byPolicy
            self.byRegion = byRegion
            self.byChannel = byChannel
            self.byClientClass = byClientClass
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
    /// Present when the campaign held out a control group or uptake was imported for it.
    public var effect: Effect?
    /// Package opens; absent in a report from before opens were recorded.
    public var opened: Opens?
    /// Policy titles by id, for labels (the id stays beside the title).
    public var policyTitles: [String: String]?

    public init(
        campaign: Campaign, total: Int, byState: [String: Int], coverage: Coverage, funnel: Funnel,
        coverageByRegion: [GroupCoverage], coverageByPolicy: [GroupCoverage], receiptLatency: Latency?,
        receiptLatencyHistogram: [LatencyBucket], failuresByGateway: [GatewayFailures], timeline: Timeline?,
        replies: Replies, effect: Effect? = nil, opened: Opens? = nil, policyTitles: [String: String]? = nil
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
        self.effect = effect
        self.opened = opened
        self.policyTitles = policyTitles
    }
}
