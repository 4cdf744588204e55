import Config
import Foundation
import Kit
import Ops
import Planning
import Storage

/// Applies the CLI's pause, resume and cancel requests and completes campaigns whose messages
/// are all final. On SQLite it looks when the store says another connection wrote (`PRAGMA
/// data_version`), at most twice a second, and every 2 s regardless; on a shared store, as soon as
/// an operator's write is heard (`NOTIFY`), and every `daemon.sharedStoreFallback` regardless.
struct CampaignControl: Service {
    let context: DaemonContext

    func run() async throws {
        if let changes = context.changes {
            var seen = changes.generation
            while !Task.isCancelled {
                try await apply()
                seen = await changes.wait(after: seen, timeout: context.inputs.configuration.daemon.sharedStoreFallback)
            }
            return
        }
        var lastVersion: Int64 = -1
        var lastFull = ContinuousClock.now
        while !Task.isCancelled {
            let version = try await context.store.run { try $0.dataVersion() }
            // The dispatcher's own commits change data_version all the time: reading campaigns
            // counts the outbox, so not at every change.
            let sinceFull = ContinuousClock.now - lastFull
            if (version != lastVersion && sinceFull >= .milliseconds(500)) || sinceFull > .seconds(2) {
                lastVersion = version
                lastFull = ContinuousClock.now
                try await apply()
            }
            try await Task.sleep(for: context.inputs.configuration.daemon.controlInterval)
        }
    }

    func apply() async throws {
        // Counted only where it decides something: a running campaign completes.
        let campaigns = try await context.store.run { try $0.campaignRows() }
        for campaign in campaigns where !campaign.state.isFinal {
            let id = campaign.id
            let at = context.now()
            if let requested = campaign.requestedState {
                let changed = try await context.store.run { try $0.applyCampaignState(id: id, requested, at: at) }
                context.log.info(
                    "campaign \(requested.rawValue)",
                    ["campaign": id, "messages_cancelled": requested == .cancelled ? changed : 0])
                continue
            }
            // Completed only when every message is final: ambiguous, unsent and accepted ones
            // (awaiting a receipt) are still open.
            guard campaign.state == .running,
                try await context.store.run({ try $0.campaignCounts(id: id) }).keys.allSatisfy(\.isFinal)
            else { continue }
            try await context.store.run { _ = try $0.applyCampaignState(id: id, .completed, at: at) }
            context.log.info("campaign completed", ["campaign": id])
        }
    }
}

/// Plans pending campaigns into the outbox (matching on the shards, rendering, suppressions),
/// with the policies and templates of the moment.
///
/// One planner per campaign: several daemons sharing a store each try the campaign's planning lock
/// (``OutboxStore/tryLockPlanning(campaignID:)``), and the one that gets it plans. A campaign left
/// in `planning` by a node that died is planned again by whichever node gets the lock next; the
/// planner's rows are keyed by idempotency key, so the second pass adds only what the first missed.
struct CampaignPlanning: Service {
    let context: DaemonContext

    func run() async throws {
        var seen = context.changes?.generation ?? 0
        while !Task.isCancelled {
            // States only: counting every campaign's outbox four times a second was 7 % of the
            // daemon's CPU while it sent.
            let campaigns = try await context.store.run { try $0.campaignRows() }
            for campaign in campaigns where Self.wantsPlanning(campaign) {
                try await plan(campaign.id)
            }
            if let changes = context.changes {
                seen = await changes.wait(after: seen, timeout: context.inputs.configuration.daemon.sharedStoreFallback)
            } else {
                try await Task.sleep(for: context.inputs.configuration.daemon.controlInterval)
            }
        }
    }

    static func wantsPlanning(_ campaign: CampaignRecord) -> Bool {
        (campaign.state == .pending || campaign.state == .planning) && campaign.requestedState == nil
    }

    /// Plans the campaign if this daemon gets its planning lock; another daemon holding it plans it.
    func plan(_ id: Int64) async throws {
        guard try await context.store.run({ try $0.tryLockPlanning(campaignID: id) }) else { return }
        do {
            // Read again under the lock: the node that held it may have finished meanwhile.
            if let campaign = try await context.store.run({ try $0.campaign(id: id) }), Self.wantsPlanning(campaign) {
                try await plan(campaign)
            }
        } catch {
            _ = try? await context.store.run { try $0.unlockPlanning(campaignID: id) }
            throw error
        }
        try await context.store.run { try $0.unlockPlanning(campaignID: id) }
    }

    private func plan(_ campaign: CampaignRecord) async throws {
        let inputs = context.inputs
        let id = campaign.id
        // `resumed`: another node (or this daemon before a restart) began and did not finish.
        context.log.info("planning campaign", ["campaign": id, "resumed": campaign.state == .planning])
        if campaign.state == .pending {
            let at = context.now()
            try await context.store.run { _ = try $0.applyCampaignState(id: id, .planning, at: at) }
        }
        let started = ContinuousClock.now
        let configuration = inputs.configuration
        let registry = try await context.store.run { try Workspace(configuration: configuration).loadShards(from: $0) }
        let planner = CampaignPlanner(
            registry: registry, catalog: inputs.catalog, renderer: inputs.renderer, linkTokens: inputs.linkTokens,
            policy: configuration.planning)
        let summary = try await planner.plan(campaign, store: context.store, now: context.now())
        // Running only if still planning: a pause or cancel applied meanwhile wins.
        let at = context.now()
        let running = try await context.store.run { store -> Bool in
            guard try store.campaign(id: id)?.state == .planning else { return false }
            try store.applyCampaignState(id: id, .running, at: at)
            return true
        }
        context.log.info(
            "campaign planned",
            [
                "campaign": id, "queued": summary.queued, "suppressed": summary.suppressed.values.reduce(0, +),
                "seconds": String(format: "%.2f", (ContinuousClock.now - started).seconds), "running": running,
            ])
    }
}
