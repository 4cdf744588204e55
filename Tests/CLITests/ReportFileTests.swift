import Foundation
import Storage
import Testing

/// `campaign report --csv PATH` never damages what is at PATH: not the store, not a device, not a
/// symlink's target, not a file on a full disk.
@Suite("policypush campaign report --csv", .serialized)
struct ReportFileTests {
    /// A CLI state with one campaign of `count` messages.
    func campaign(_ count: Int = 3) throws -> (CLIHarness, Int64) {
        let cli = try CLIHarness()
        let store = try SQLiteStore(path: cli.file("policypush.sqlite"))
        let spec = CampaignSpec(
            name: "Report", policyIDs: ["p"], channels: [.sms], fallback: false, startAt: Date(),
            campaignDate: "2026-12-03", policyVersions: [:], templateVersion: "t")
        let id = try store.createCampaign(spec)
        try store.insertMessages(
            (0..<count).map { n in
                NewMessage(
                    campaignID: id, creditCode: "91350100M00000000\(n % 10)\(n)", channel: .sms,
                    recipient: "13912345678", policyIDs: ["p"], payload: Array("{}".utf8), idempotencyKey: "k\(n)",
                    notBefore: Date())
            })
        return (cli, id)
    }

    func contents(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    @Test func theStoreAndEverythingInTheStateDirectoryAreRefused() async throws {
        let (cli, id) = try campaign()
        let storePath = cli.file("policypush.sqlite")
        let before = contents(storePath)
        let result = try await cli.run("campaign", "report", String(id), "--csv", storePath)
        #expect(result.status == 1)
        #expect(
            result.stderr.contains("refusing to replace") && result.stderr.contains("state directory"),
            "\(result.stderr)")
        #expect(contents(storePath) == before)
        #expect(try await cli.run("campaign", "list").status == 0, "the store still opens")
    }

    @Test func aSymlinkAFIFOAndADirectoryAreRefused() async throws {
        let (cli, id) = try campaign()
        let elsewhere = FileManager.default.temporaryDirectory.appendingPathComponent("pp-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        let precious = elsewhere.appendingPathComponent("precious.txt").path
        try "keep me".write(toFile: precious, atomically: true, encoding: .utf8)
        let link = elsewhere.appendingPathComponent("link.csv").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: precious)
        // A FIFO of the test's own stands in for a device node: a regression must not hit /dev/null.
        let fifo = elsewhere.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        for (target, why) in [
            (link, "symbolic link"), (fifo, "not a regular file"), (elsewhere.path, "not a regular file"),
        ] {
            let result = try await cli.run("campaign", "report", String(id), "--csv", target)
            #expect(result.status == 1, "\(target)")
            #expect(result.stderr.contains(why), "\(target): \(result.stderr)")
        }
        #expect(try String(contentsOfFile: precious, encoding: .utf8) == "keep me")
    }

    @Test func aRegularFileIsReplacedWhole() async throws {
        let (cli, id) = try campaign(5)
        let elsewhere = FileManager.default.temporaryDirectory.appendingPathComponent(
            "pp-report-\(UUID().uuidString).csv"
        ).path
        defer { try? FileManager.default.removeItem(atPath: elsewhere) }
        try "old".write(toFile: elsewhere, atomically: true, encoding: .utf8)
        let result = try await cli.run("campaign", "report", String(id), "--csv", elsewhere)
        #expect(result.status == 0, "\(result.stderr)")
        let text = try String(contentsOfFile: elsewhere, encoding: .utf8)
        #expect(text.components(separatedBy: "\r\n").filter { !$0.isEmpty }.count == 6)
    }

    /// A full disk: the old file stays as it was and no partial or temporary file is left.
    @Test(.enabled(if: geteuid() == 0, "mounting a small tmpfs needs root"))
    func aFullDiskLeavesTheOldFileAndNoPartialOne() async throws {
        let (cli, id) = try campaign(2_000)
        let mount = FileManager.default.temporaryDirectory.appendingPathComponent("pp-full-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        #expect(Self.shell("mount -t tmpfs -o size=64k tmpfs \(mount)") == 0)
        defer {
            _ = Self.shell("umount \(mount)")
            try? FileManager.default.removeItem(atPath: mount)
        }
        let target = mount + "/report.csv"
        try "previous report".write(toFile: target, atomically: false, encoding: .utf8)
        let result = try await cli.run("campaign", "report", String(id), "--csv", target)
        #expect(result.status == 1)
        #expect(result.stderr.contains("nothing was written"), "\(result.stderr)")
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "previous report")
        #expect(try FileManager.default.contentsOfDirectory(atPath: mount) == ["report.csv"])
    }

    static func shell(_ command: String) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        do { try process.run() } catch { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
