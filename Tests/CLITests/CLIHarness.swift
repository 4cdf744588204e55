import Foundation
import TestSupport

/// Runs the built `policypush` binary with a private state directory and the repository's config.
struct CLIHarness {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static let binary: URL = {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
                "policypush"),
            packageRoot.appendingPathComponent(".build/debug/policypush"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[1]
    }()

    let stateDirectory: URL
    var config: String
    /// Extra environment variables for the runs (e.g. `POLICYPUSH_OPERATOR`).
    var environment: [String: String] = [:]

    init() throws {
        stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "policypush-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: stateDirectory, withIntermediateDirectories: true)
        config = Self.packageRoot.appendingPathComponent("config/policypush.json5").path
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    func file(_ name: String) -> String { stateDirectory.appendingPathComponent(name).path }

    func write(_ name: String, _ text: String) throws -> String {
        let path = file(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @discardableResult
    func run(_ arguments: String...) async throws -> Result { try await run(arguments) }

    /// Runs the binary on a thread of its own: waiting for a child process must not block one of
    /// the few cooperative threads the other tests run on.
    func run(_ arguments: [String]) async throws -> Result {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["POLICYPUSH_STATE_DIR"] = stateDirectory.path
        environment["POLICYPUSH_CONFIG"] = config
        environment.merge(self.environment) { _, extra in extra }
        process.environment = environment
        process.currentDirectoryURL = stateDirectory
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try runSerialized(process)
        return await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                // Read both pipes before waiting so a chatty child never blocks on a full pipe.
                let group = DispatchGroup()
                nonisolated(unsafe) var errData = Data()  // written on the queue, read after group.wait()
                group.enter()
                DispatchQueue.global().async {
                    errData = readToEnd(err.fileHandleForReading)
                    group.leave()
                }
                let outData = readToEnd(out.fileHandleForReading)
                group.wait()
                process.waitUntilExit()
                continuation.resume(
                    returning: Result(
                        status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                        stderr: String(decoding: errData, as: UTF8.self)))
            }
        }
    }
}

/// Everything until the writer closes, read with read(2) and retried on EINTR: Foundation's
/// `readDataToEndOfFile()` traps on an interrupted read (`try!` inside), which a child's
/// SIGCHLD caused once in a parallel run.
func readToEnd(_ handle: FileHandle) -> Data {
    var data = Data()
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(handle.fileDescriptor, $0.baseAddress, $0.count) }
        if count > 0 {
            data.append(contentsOf: buffer[0..<count])
        } else if count < 0, errno == EINTR {
            continue
        } else {
            return data
        }
    }
}
