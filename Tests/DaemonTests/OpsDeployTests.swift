import Config
import Daemon
import Foundation
import Planning
import TestSupport
import Testing

/// The repository root, from this file's path.
private let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

private let systemdAnalyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}

/// Runs a program to completion on a thread of its own (waiting must not block one of the few
/// cooperative threads the other suites' servers need); stdout and stderr go through files.
private func run(
    _ executable: String, _ arguments: [String]
) async throws -> (status: Int32, stdout: String, stderr: String) {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try runBlocking(executable, arguments) }) }
    }
}

private func runBlocking(
    _ executable: String, _ arguments: [String]
) throws -> (status: Int32, stdout: String, stderr: String) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
        "pp-run-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let out = directory.appendingPathComponent("stdout")
    let err = directory.appendingPathComponent("stderr")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    try runSerialized(process)
    process.waitUntilExit()
    return (
        process.terminationStatus, try String(contentsOf: out, encoding: .utf8),
        try String(contentsOf: err, encoding: .utf8)
    )
}

@Suite("Ops: deploy")
struct OpsDeployTests {
    let unitPath = repositoryRoot.appendingPathComponent("deploy/systemd/policypush.service").path

    /// `Key=Value` lines of the unit (comments and section headers dropped).
    func settings() throws -> [(key: String, value: String)] {
        try String(contentsOfFile: unitPath, encoding: .utf8).split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#"), !line.hasPrefix("["), let equals = line.firstIndex(of: "=") else { return nil }
            return (String(line[..<equals]), String(line[line.index(after: equals)...]))
        }
    }

    @Test func theUnitIsANotifyServiceWithTheHardeningKeys() throws {
        let settings = try settings()
        let values = Dictionary(settings.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        let expected: [String: String] = [
            "Type": "notify", "NotifyAccess": "main", "ExecStart": "/usr/local/bin/policypush serve",
            "ExecReload": "/bin/kill -HUP $MAINPID", "WatchdogSec": "30", "TimeoutStopSec": "45",
            "Restart": "on-failure", "User": "policypush", "Group": "policypush", "StateDirectory": "policypush",
            "StateDirectoryMode": "0700", "ConfigurationDirectory": "policypush",
            "Environment": "POLICYPUSH_CONFIG=/etc/policypush/policypush.json5",
            "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
            "PrivateDevices": "yes", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
            "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes", "ProtectClock": "yes", "ProtectHostname": "yes",
            "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6", "RestrictNamespaces": "yes",
            "RestrictRealtime": "yes", "RestrictSUIDSGID": "yes", "LockPersonality": "yes",
            "MemoryDenyWriteExecute": "yes", "SystemCallFilter": "@system-service", "SystemCallArchitectures": "native",
            "CapabilityBoundingSet": "", "AmbientCapabilities": "", "UMask": "0077", "LimitNOFILE": "65536",
        ]
        for (key, value) in expected.sorted(by: { $0.key < $1.key }) {
            #expect(values[key] == value, "\(key)")
        }
        // Every gateway secret of the shipped config is passed as a credential, by its file name.
        let credentials = Set(settings.filter { $0.key == "LoadCredential" }.map(\.value))
        let shipped = try FileManager.default.contentsOfDirectory(
            atPath: repositoryRoot.appendingPathComponent("config/credentials").path
        ).filter { !$0.hasSuffix(".md") }
        #expect(!shipped.isEmpty)
        // So is the package links' secret, which install.sh generates (none is shipped).
        #expect(
            credentials
                == Set((shipped + ["landing-secret"]).map { "\($0):/etc/policypush/credentials/\($0)" }))
    }

    @Test(.enabled(if: systemdAnalyze != nil, "systemd-analyze is not installed"))
    func systemdAcceptsTheUnit() async throws {
        let analyze = try #require(systemdAnalyze)
        // `verify` insists that ExecStart exists: check a copy that runs /bin/true instead.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "pp-unit-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let copy = directory.appendingPathComponent("policypush.service").path
        let unit = try String(contentsOfFile: unitPath, encoding: .utf8)
            .replacing("ExecStart=/usr/local/bin/policypush ", with: "ExecStart=/bin/true ")
        try unit.write(toFile: copy, atomically: true, encoding: .utf8)

        let verify = try await run(analyze, ["verify", copy])
        #expect(verify.status == 0)
        // Unknown keys and bad values are only warnings (exit 0), printed with the unit's file name.
        #expect(!verify.stderr.contains("policypush.service"), "\(verify.stderr)")

        // The offline security audit: exposure 1.6 today; fail if hardening regresses past 2.0.
        let security = try await run(analyze, ["security", "--offline=yes", "--threshold=20", copy])
        #expect(security.status == 0, "\(security.stdout.split(separator: "\n").last ?? "")")
    }

    @Test func theSysusersAndTmpfilesSnippetsDeclareTheAccountAndSecretDirectory() throws {
        let sysusers = try String(
            contentsOf: repositoryRoot.appendingPathComponent("deploy/systemd/policypush.sysusers"), encoding: .utf8)
        #expect(sysusers.contains("u policypush - \"PolicyPush daemon\" /var/lib/policypush\n"))
        let tmpfiles = try String(
            contentsOf: repositoryRoot.appendingPathComponent("deploy/systemd/policypush.tmpfiles"), encoding: .utf8)
        #expect(tmpfiles.contains("d /etc/policypush/credentials 0700 root root -\n"))
    }

    @Test func theInstallerIsIdempotentAndDryRunChangesNothing() async throws {
        let script = repositoryRoot.appendingPathComponent("deploy/install.sh").path
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "pp-root-\(UUID().uuidString.prefix(8))"
        ).path
        defer { try? FileManager.default.removeItem(atPath: root) }

        let dryRun = try await run("/bin/bash", [script, "--dry-run", "--root", root, "--binary", "/bin/true"])
        #expect(dryRun.status == 0, "\(dryRun.stderr)")
        #expect(dryRun.stdout.contains("would run: install -D -m 0755 /bin/true \(root)/usr/local/bin/policypush"))
        #expect(dryRun.stdout.contains("Next steps:"))
        #expect(!FileManager.default.fileExists(atPath: root))

        let first = try await run("/bin/bash", [script, "--root", root, "--binary", "/bin/true"])
        #expect(first.status == 0, "\(first.stderr)")
        let config = try String(contentsOfFile: root + "/etc/policypush/policypush.json5", encoding: .utf8)
        #expect(config.contains("\"/run/credentials/policypush.service/aliyun.json\""))
        #expect(config.contains("templates_dir: \"templates\""))
        // One store: the daemon (systemd's environment) and an operator's CLI (none of it) agree.
        let installed = root + "/etc/policypush/policypush.json5"
        let daemon = try Configuration.load(
            file: installed,
            environment: [
                "STATE_DIRECTORY": "/var/lib/policypush", "CONFIGURATION_DIRECTORY": "/etc/policypush",
                "CREDENTIALS_DIRECTORY": "/run/credentials/policypush.service",
            ])
        let operatorCLI = try Configuration.load(file: installed, environment: ["HOME": "/root"])
        #expect(daemon.storePath == "/var/lib/policypush/policypush.sqlite")
        #expect(operatorCLI.storePath == daemon.storePath)
        #expect(operatorCLI.policiesDirectory == root + "/etc/policypush/policies")
        let credentials = try FileManager.default.attributesOfItem(atPath: root + "/etc/policypush/credentials")
        #expect((credentials[.posixPermissions] as? Int) == 0o700)
        // The landing secret: this installation's own, root-only, read from the credentials directory.
        #expect(daemon.landing.secretFile == "/run/credentials/policypush.service/landing-secret")
        #expect(daemon.landing.secretFileConfigured)
        let secretPath = root + "/etc/policypush/credentials/landing-secret"
        let secret = try String(contentsOfFile: secretPath, encoding: .utf8)
        #expect(secret.count == 65 && secret.dropLast().allSatisfy(\.isHexDigit) && secret.hasSuffix("\n"))
        let secretAttributes = try FileManager.default.attributesOfItem(atPath: secretPath)
        #expect((secretAttributes[.posixPermissions] as? Int) == 0o600)
        #expect(FileManager.default.fileExists(atPath: root + "/etc/systemd/system/policypush.service"))

        // An operator's edit survives a second run, which changes nothing.
        try "{}".write(toFile: root + "/etc/policypush/policypush.json5", atomically: true, encoding: .utf8)
        let second = try await run("/bin/bash", [script, "--root", root, "--binary", "/bin/true"])
        #expect(second.status == 0)
        #expect(second.stdout.contains("nothing to change"))
        #expect(try String(contentsOfFile: secretPath, encoding: .utf8) == secret)
        #expect(try String(contentsOfFile: root + "/etc/policypush/policypush.json5", encoding: .utf8) == "{}")
    }
}
