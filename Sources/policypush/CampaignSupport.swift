import Daemon
import Foundation
import Planning
import Registry
import Storage

/// What the campaign commands share: opening the store, finding a campaign, formatting.
enum CampaignSupport {
    /// Opens the store to read; an absent store is created (so an empty one reads as such) and
    /// one with an older schema is opened read-write once to migrate it.
    static func openForReading(_ workspace: Workspace) throws -> any PolicyPushStore {
        guard workspace.storeIsShared || FileManager.default.fileExists(atPath: workspace.configuration.storePath)
        else {
            return try workspace.openStore()
        }
        do {
            return try workspace.openStore(readOnly: true)
        } catch let error as StorageError where error.code == .schemaOutdated {
            return try workspace.openStore()
        }
    }

    /// A campaign id given on the command line.
    static func parseID(_ arguments: ParsedArguments) throws(UsageError) -> Int64 {
        let text = arguments.positionals[0]
        guard let id = Int64(text), id > 0 else {
            throw arguments.usageError("ID expects a campaign id (a positive integer), got '\(text)'")
        }
        return id
    }

    /// The campaign, or a failure "no campaign N".
    static func campaign(_ id: Int64, in store: some OutboxStore) throws -> CampaignRecord {
        guard let record = try store.campaign(id: id) else { throw CommandFailure("no campaign \(id)") }
        return record
    }

    /// One sentence on whether the daemon will act, for `action` ("start it", "apply it").
    ///
    /// On a shared (PostgreSQL) store the daemons may run on other machines, which a pid file here
    /// cannot tell: the sentence says so rather than claiming none runs.
    static func daemonSentence(_ workspace: Workspace, action: String, later: String) -> String {
        if workspace.storeIsShared {
            return "the daemons sharing this store will \(action) within a second"
        }
        switch DaemonPresence.check(stateDirectory: workspace.configuration.stateDirectory) {
        case .running(let pid):
            return "the daemon (pid \(pid)) will \(action) within a second"
        case .notRunning:
            return "no daemon is running: \(later) when `policypush serve` starts"
        case .stale(let pid):
            return
                "no daemon is running (pid \(pid) in a stale pid file is gone): \(later) when `policypush serve` starts"
        }
    }

    /// The daemon's presence for status output: this machine's, and on a shared store a reminder
    /// that other machines' daemons act on it too.
    static func daemonStatus(_ workspace: Workspace) -> (text: String, pid: Int32?) {
        let local: (text: String, pid: Int32?) =
            switch DaemonPresence.check(stateDirectory: workspace.configuration.stateDirectory) {
            case .running(let pid): ("running (pid \(pid))", pid)
            case .notRunning: ("not running", nil)
            case .stale(let pid): ("not running (stale pid file names pid \(pid))", nil)
            }
        guard workspace.storeIsShared else { return local }
        return ("\(local.text) on this machine; the store is shared, other machines' daemons act on it too", local.pid)
    }

    /// `2026-11-30 13:05:00` in the configured time zone.
    static func localTime(_ date: Date, _ zone: TimeZone) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: date)
    }

    /// ISO 8601 with the configured zone's offset, for JSON and CSV.
    static func isoTime(_ date: Date?, _ zone: TimeZone) -> String? {
        guard let date else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = zone
        return formatter.string(from: date)
    }

    /// A state with a pending request: `running (pause requested)`.
    static func stateText(_ record: CampaignRecord) -> String {
        guard let requested = record.requestedState else { return record.state.rawValue }
        return "\(record.state.rawValue) (\(requestWord(requested)) requested)"
    }

    static func requestWord(_ state: CampaignState) -> String {
        switch state {
        case .paused: "pause"
        case .running: "resume"
        case .cancelled: "cancel"
        default: state.rawValue
        }
    }

    /// Counts in the order messages move: `queued 3, accepted 5, delivered 2`.
    static func countsText(_ counts: [MessageState: Int]) -> String {
        let parts = MessageState.allCases.compactMap { state in counts[state].map { "\(state.rawValue) \($0)" } }
        return parts.isEmpty ? "no messages" : parts.joined(separator: ", ")
    }

    /// Messages in a final state, and all messages.
    static func progress(_ counts: [MessageState: Int]) -> (final: Int, total: Int) {
        var final = 0
        var total = 0
        for (state, n) in counts {
            total += n
            if state.isFinal { final += n }
        }
        return (final, total)
    }

    /// Counts keyed by state name, for JSON.
    static func named(_ counts: [MessageState: Int]) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) })
    }

    /// A recipient as it may be printed: a masked mobile number or openid.
    static func maskedRecipient(_ recipient: String, channel: Channel?) -> String {
        channel == .sms ? Mask.mobile(recipient) : Mask.openID(recipient)
    }

    /// A message's channel as reports print it: `none` for one suppressed before a channel was chosen.
    static func channelName(_ channel: Channel?) -> String {
        channel?.rawValue ?? "none"
    }

    /// A report's counts by channel, keyed by ``channelName(_:)``.
    static func byChannelName(_ counts: [Channel?: [MessageState: Int]]) -> [String: [MessageState: Int]] {
        Dictionary(uniqueKeysWithValues: counts.map { (channelName($0.key), $0.value) })
    }
}

/// A campaign as `list --json` and `status --json` print it.
struct CampaignJSON: Encodable {
    var id: Int64
    var name: String
    var state: String
    var requestedState: String?
    var createdAt: String?
    var createdBy: String?
    /// Who approved it, or rejected it (`state` says which).
    var approvedBy: String?
    var decidedAt: String?
    var decisionNote: String?
    var plannedAt: String?
    var finishedAt: String?
    var policies: [String]
    var channels: [String]
    var fallback: Bool
    var startAt: String?
    var maxMessages: Int?
    var campaignDate: String
    var policyVersions: [String: String]
    var templateVersion: String
    var counts: [String: Int]
    var final: Int
    var total: Int

    init(_ r: CampaignRecord, zone: TimeZone) {
        id = r.id
        name = r.spec.name
        state = r.state.rawValue
        requestedState = r.requestedState?.rawValue
        createdAt = CampaignSupport.isoTime(r.createdAt, zone)
        createdBy = r.createdBy
        approvedBy = r.approvedBy
        decidedAt = CampaignSupport.isoTime(r.decidedAt, zone)
        decisionNote = r.decisionNote
        plannedAt = CampaignSupport.isoTime(r.plannedAt, zone)
        finishedAt = CampaignSupport.isoTime(r.finishedAt, zone)
        policies = r.spec.policyIDs
        channels = r.spec.channels.map(\.rawValue)
        fallback = r.spec.fallback
        startAt = CampaignSupport.isoTime(r.spec.startAt, zone)
        maxMessages = r.spec.maxMessages
        campaignDate = r.spec.campaignDate
        policyVersions = r.spec.policyVersions
        templateVersion = r.spec.templateVersion
        counts = CampaignSupport.named(r.counts)
        (final, total) = CampaignSupport.progress(r.counts)
    }
}
