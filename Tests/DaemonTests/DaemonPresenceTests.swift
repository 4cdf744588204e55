import Config
import Daemon
import Foundation
import Planning
import Registry
import Rules
import Testing

@Suite("DaemonPresence")
struct DaemonPresenceTests {
    private func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("presence-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func noFileMeansNotRunning() throws {
        #expect(DaemonPresence.check(stateDirectory: try directory()) == .notRunning)
    }

    @Test func aLivePolicyPushProcessIsRunning() throws {
        let dir = try directory()
        // The test binary (PolicyPushPackageTests) is alive and its command line mentions policypush.
        try DaemonPresence.write(stateDirectory: dir)
        #expect(DaemonPresence.check(stateDirectory: dir) == .running(pid: getpid()))
        let text = try String(contentsOfFile: DaemonPresence.path(stateDirectory: dir), encoding: .utf8)
        #expect(text.split(separator: "\n").count == 2, "pid and start time")
        DaemonPresence.remove(stateDirectory: dir)
        #expect(DaemonPresence.check(stateDirectory: dir) == .notRunning)
    }

    @Test func aGoneProcessIsStale() throws {
        let dir = try directory()
        let pid: Int32 = 2_147_483_000  // above any pid_max
        try "\(pid)\n2026-01-01T00:00:00Z\n".write(
            toFile: DaemonPresence.path(stateDirectory: dir), atomically: true, encoding: .utf8)
        #expect(DaemonPresence.check(stateDirectory: dir) == .stale(pid: pid))
        // Another process's file is not ours to remove.
        DaemonPresence.remove(stateDirectory: dir)
        #expect(FileManager.default.fileExists(atPath: DaemonPresence.path(stateDirectory: dir)))
    }

    @Test func garbageIsNotRunning() throws {
        let dir = try directory()
        try "not a pid\n".write(toFile: DaemonPresence.path(stateDirectory: dir), atomically: true, encoding: .utf8)
        #expect(DaemonPresence.check(stateDirectory: dir) == .notRunning)
    }
}

@Suite("DaemonPresence: campaign versions")
struct DaemonPresenceCampaignVersionsTests {
    @Test func templateVersionChangesWithAnyTemplate() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("templates-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: dir.appendingPathComponent("sms"), withIntermediateDirectories: true)
        try "a".write(to: dir.appendingPathComponent("sms/one.txt"), atomically: true, encoding: .utf8)
        let first = CampaignVersions.templateVersion(directory: dir.path)
        #expect(first.count == 16)
        #expect(CampaignVersions.templateVersion(directory: dir.path) == first)
        try "b".write(to: dir.appendingPathComponent("sms/one.txt"), atomically: true, encoding: .utf8)
        let edited = CampaignVersions.templateVersion(directory: dir.path)
        #expect(edited != first)
        try FileManager.default.moveItem(
            at: dir.appendingPathComponent("sms/one.txt"), to: dir.appendingPathComponent("sms/two.txt"))
        #expect(CampaignVersions.templateVersion(directory: dir.path) != edited)
    }

    @Test func policyVersionsHashEachProfileFile() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let (catalog, diagnostics) = PolicyCatalog.load(
            directory: root.appendingPathComponent("config/policies").path, schema: AttributeSchema())
        #expect(diagnostics.isEmpty)
        let versions = CampaignVersions.policyVersions(catalog, ids: ["small_low_profit", "high_tech_15pct", "nope"])
        #expect(Set(versions.keys) == ["small_low_profit", "high_tech_15pct"])
        #expect(versions.values.allSatisfy { $0.count == 16 && $0.allSatisfy(\.isHexDigit) })
        #expect(versions["small_low_profit"] != versions["high_tech_15pct"])
    }
}
