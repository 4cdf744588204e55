import Foundation
import Glibc
import Kit
import Messaging
import Planning
import Registry
import Rules
import Storage

extension BenchCommand {
    /// Planning as the daemon does it: `--plan` generated enterprises imported into a fresh SQLite
    /// store, a campaign on every policy in force over SMS (as `campaign start --all --channels sms`
    /// creates it), then the daemon's steps timed from the planning lock to `running`: the shards
    /// loaded from the store, ``CampaignPlanner/plan(_:store:now:)`` on a `StoreWorker`, the state
    /// changes. Peak memory is the process's `VmHWM`, reset after the import so it is planning's.
    func benchPlan(workspace: Workspace, catalog: PolicyCatalog) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "policypush-bench-plan-\(getpid())"
        ).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/bench.sqlite"
        let date = LocalDate(year: 2026, month: 6, day: 1)!
        let ids = catalog.entries.filter { $0.profile.isActive(on: date) }.map(\.profile.id)
        let campaign: Int64
        do {
            let store = try Store.open(at: path)
            var generator = EnterpriseGenerator(seed: seed &+ 4)
            let count = planCount
            let t0 = ContinuousClock.now
            _ = try store.importEnterprises(file: "generated", replace: false) { sink in
                var batch: [Enterprise] = []
                batch.reserveCapacity(8192)
                for index in 0..<count {
                    batch.append(generator.next())
                    if batch.count == 8192 || index == count - 1 {
                        try sink(batch)
                        batch.removeAll(keepingCapacity: true)
                    }
                }
                return RejectedRows(count: 0)
            }
            Output.out(
                String(
                    format: "plan: %d enterprises generated and imported into SQLite in %.2f s", count,
                    (ContinuousClock.now - t0).seconds))
            let spec = CampaignSpec(
                name: "bench-plan", policyIDs: ids, channels: [.sms], fallback: false, startAt: Date(),
                maxMessages: nil, campaignDate: date.description,
                policyVersions: CampaignVersions.policyVersions(catalog, ids: ids),
                templateVersion: CampaignVersions.templateVersion(directory: workspace.configuration.templatesDirectory)
            )
            campaign = try store.createCampaign(spec, awaitingApproval: false, audit: nil)
        }
        let renderer = PackageRenderer(templates: try workspace.loadTemplates())
        let linkTokens = try LinkTokens(secret: Array("policypush-bench-plan-secret".utf8))
        let worker = try StoreWorker(path: path)
        Memory.trim()
        Memory.resetPeak()
        let before = Memory.residentBytes()
        let cpu0 = Memory.cpuSeconds()

        let t0 = ContinuousClock.now
        guard try await worker.run({ try $0.tryLockPlanning(campaignID: campaign) }) else {
            throw CommandFailure("campaign \(campaign): planning lock not granted")
        }
        try await worker.run { _ = try $0.applyCampaignState(id: campaign, .planning, at: Date()) }
        guard let record = try await worker.run({ try $0.campaign(id: campaign) }) else {
            throw CommandFailure("campaign \(campaign) vanished")
        }
        let configuration = workspace.configuration
        let registry = try await worker.run { try Workspace(configuration: configuration).loadShards(from: $0) }
        let loaded = ContinuousClock.now
        let planner = CampaignPlanner(
            registry: registry, catalog: catalog, renderer: renderer, linkTokens: linkTokens,
            policy: configuration.planning)
        let summary = try await planner.plan(record, store: worker, now: Date())
        try await worker.run { _ = try $0.applyCampaignState(id: campaign, .running, at: Date()) }
        try await worker.run { try $0.unlockPlanning(campaignID: campaign) }
        let done = ContinuousClock.now

        let rows = summary.queued + summary.suppressed.values.reduce(0, +)
        let total = (done - t0).seconds
        let planning = (done - loaded).seconds
        Output.out(
            String(
                format:
                    "plan: campaign on %d policies, sms: %d rows (%d queued, %d suppressed) in %.3f s (shards loaded %.3f s, planned %.3f s) = %.0f rows/s; CPU %.2f s",
                ids.count, rows, summary.queued, rows - summary.queued, total, total - planning, planning,
                Double(rows) / total, Memory.cpuSeconds() - cpu0))
        Output.out(
            String(
                format: "plan: peak memory (VmHWM) while planning %.1f MB (resident %.1f MB before)",
                Double(Memory.peakResidentBytes()) / 1_048_576, Double(before) / 1_048_576))
    }
}

extension Memory {
    /// `VmHWM` of this process: the peak resident set size since start or ``resetPeak()``.
    static func peakResidentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return 0 }
        return kb * 1024
    }

    /// Resets `VmHWM` to the current resident size (Linux 4.0+: `5` to `/proc/self/clear_refs`).
    static func resetPeak() {
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return }
        _ = write(fd, "5", 1)
        close(fd)
    }

    /// User + system CPU seconds of this process.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}
