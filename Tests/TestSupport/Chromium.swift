import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Debian's headless Chromium, driven from tests: loads a page the way a phone would show it and
/// reports what a reader of the page's source cannot see for sure: how it looks (a PNG), what it
/// logged to the console, and every network request it made.
///
/// Each load runs `chromium --headless --no-sandbox` once, with a fresh profile in a temporary
/// directory, background networking off, and `timeout` killing its whole process group after
/// `timeLimit` seconds. Console messages are read from `--enable-logging=stderr` (Chromium 12x+
/// logs every console message, whatever its level, as `INFO:CONSOLE:<line>] "text", source: URL
/// (line)`, uncaught exceptions as `"Uncaught …"`). Requests are read from `--log-net-log`: every
/// `URL_REQUEST_START_JOB` whose initiator is a web origin, i.e. not one of the browser's own
/// requests (time, accounts and update checks the flags do not all silence, logged with
/// initiator `not an origin`).
///
/// Foundation only, in the `TestSupport` target that every test target loading a page in a
/// browser depends on (the package page in LandingTests, the HTML report in CLITests).
public struct Chromium: Sendable {
    /// The browser binary.
    public let executable: String
    /// Seconds after which a load is killed (with its renderer and GPU processes).
    public var timeLimit = 30

    /// What one load of a page showed.
    public struct Load: Sendable {
        /// The screenshot, when one was asked for.
        public var screenshot: String?
        /// Every console message, in order (errors, logs and uncaught exceptions alike).
        public var consoleMessages: [String]
        /// The URLs the page requested, in order, the page itself left out.
        public var requests: [String]
        /// Chromium's stdout: the serialized DOM under `--dump-dom`.
        public var output: String
    }

    /// The installed browser (`$CHROMIUM`, else `chromium` on the usual paths).
    ///
    /// - Throws: `ChromiumError` saying how to install it: a test that needs a browser fails
    ///   without one rather than passing unseen (`scripts/bootstrap --tests` installs it).
    public static func installed() throws -> Chromium {
        let candidates =
            [ProcessInfo.processInfo.environment["CHROMIUM"]].compactMap { $0 }
            + ["/usr/bin/chromium", "/usr/local/bin/chromium", "/usr/bin/chromium-browser"]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ChromiumError(
                "Chromium is not installed (looked for \(candidates.joined(separator: ", "))): "
                    + "run scripts/bootstrap --tests, or apt-get install chromium fonts-wqy-zenhei")
        }
        return Chromium(executable: found)
    }

    /// Loads `url` in a `width` × `height` window; with `screenshot`, writes the window to that PNG.
    ///
    /// - Parameter dumpDOM: prints the DOM after load into `Load.output` instead (Chromium takes
    ///   no screenshot in that mode).
    public func load(
        _ url: URL, width: Int = 375, height: Int = 812, screenshot: String? = nil, dumpDOM: Bool = false
    ) async throws -> Load {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
            "pp-chromium-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let netLog = scratch.appendingPathComponent("net.json").path
        var arguments = [
            "-k", "5", "\(timeLimit)", executable,
            "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--mute-audio",
            "--user-data-dir=\(scratch.appendingPathComponent("profile").path)",
            "--disable-background-networking", "--disable-component-update", "--no-first-run",
            "--disable-default-apps", "--disable-sync", "--disable-extensions", "--no-pings",
            "--disable-domain-reliability", "--disable-client-side-phishing-detection", "--disable-breakpad",
            "--disable-features=NetworkTimeServiceQuerying,Translate,OptimizationHints,MediaRouter",
            "--enable-logging=stderr", "--v=0", "--log-net-log=\(netLog)",
            "--window-size=\(width),\(height)",
        ]
        if dumpDOM { arguments.append("--dump-dom") }
        if let screenshot { arguments.append("--screenshot=\(screenshot)") }
        arguments.append(url.absoluteString)

        let stdout = scratch.appendingPathComponent("stdout").path
        let stderr = scratch.appendingPathComponent("stderr").path
        let status = try await Self.run("/usr/bin/timeout", arguments, stdout: stdout, stderr: stderr)
        let errors = (try? String(contentsOfFile: stderr, encoding: .utf8)) ?? ""
        guard status == 0 else {
            let reason = status == 124 || status == 137 ? "was killed after \(timeLimit) s" : "exited with \(status)"
            throw ChromiumError("chromium \(reason) loading \(url): \(errors.suffix(2000))")
        }
        if let screenshot, !FileManager.default.fileExists(atPath: screenshot) {
            throw ChromiumError("chromium wrote no screenshot to \(screenshot): \(errors.suffix(2000))")
        }
        return Load(
            screenshot: screenshot, consoleMessages: Self.consoleMessages(in: errors),
            requests: try Self.requests(inNetLog: netLog).filter { $0 != url.absoluteString },
            output: (try? String(contentsOfFile: stdout, encoding: .utf8)) ?? "")
    }

    /// The console messages in Chromium's stderr log: the quoted text after `:CONSOLE`.
    public static func consoleMessages(in log: String) -> [String] {
        log.split(separator: "\n").compactMap { line in
            guard let marker = line.range(of: ":CONSOLE"), let close = line[marker.upperBound...].range(of: "] ")
            else { return nil }
            return String(line[close.upperBound...])
        }
    }

    /// The URLs of the requests a page initiated, from a NetLog JSON file.
    ///
    /// - Throws: `ChromiumError` when the file is missing or not the NetLog Chromium writes on a
    ///   clean exit: without it, "no request" could not be told from "no record".
    public static func requests(inNetLog path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path),
            let log = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let constants = log["constants"] as? [String: Any],
            let types = constants["logEventTypes"] as? [String: Int],
            let startJob = types["URL_REQUEST_START_JOB"],
            let events = log["events"] as? [[String: Any]]
        else { throw ChromiumError("no readable NetLog at \(path)") }
        return events.compactMap { event in
            guard event["type"] as? Int == startJob, let parameters = event["params"] as? [String: Any],
                let url = parameters["url"] as? String, parameters["initiator"] as? String != "not an origin"
            else { return nil }
            return url
        }
    }

    /// Runs `executable` to its end off the cooperative pool; returns its exit status.
    private static func run(
        _ executable: String, _ arguments: [String], stdout: String, stderr: String
    ) async throws
        -> Int32
    {
        _ = FileManager.default.createFile(atPath: stdout, contents: nil)
        _ = FileManager.default.createFile(atPath: stderr, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: stdout))
        let errors = try FileHandle(forWritingTo: URL(fileURLWithPath: stderr))
        defer {
            try? output.close()
            try? errors.close()
        }
        process.standardOutput = output
        process.standardError = errors
        return try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try runSerialized(process)
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
    }
}

/// A browser that is missing, failed, timed out or left no record.
public struct ChromiumError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}

/// Figures read from a PNG's header, without decoding its pixels.
public struct PNGInfo: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public let byteCount: Int

    public init(width: Int, height: Int, byteCount: Int) {
        self.width = width
        self.height = height
        self.byteCount = byteCount
    }

    /// - Throws: `ChromiumError` naming the file when it is not a PNG.
    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path), data.count > 24,
            Array(data.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A],
            String(decoding: data[12..<16], as: UTF8.self) == "IHDR"
        else { throw ChromiumError("\(path): not a PNG") }
        let bytes = Array(data[16..<24])
        width = bytes[0..<4].reduce(0) { $0 << 8 | Int($1) }
        height = bytes[4..<8].reduce(0) { $0 << 8 | Int($1) }
        byteCount = data.count
    }
}

/// An HTML file in a fresh temporary directory, loaded by `file://` URL.
public struct TemporaryPage: Sendable {
    public let directory: URL
    public let url: URL

    public init(html: String, name: String = "page.html") throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("pp-page-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        url = directory.appendingPathComponent(name)
        try Data(html.utf8).write(to: url)
    }

    public func remove() { try? FileManager.default.removeItem(at: directory) }
}

extension Chromium {
    /// Without a font that has Chinese glyphs, Chromium draws boxes and a screenshot still
    /// "looks" full: fail instead (`fonts-wqy-zenhei`, installed by `scripts/bootstrap --tests`).
    public static func requireChineseFont() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/fc-list")
        process.arguments = [":lang=zh", "family"]
        let pipe = Pipe()
        process.standardOutput = pipe
        do { try runSerialized(process) } catch {
            throw ChromiumError("fc-list cannot run (\(error)): install fontconfig and fonts-wqy-zenhei")
        }
        let families = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard !families.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw ChromiumError("no font with Chinese glyphs: apt-get install fonts-wqy-zenhei")
        }
    }

    /// `.build/screenshots` of the package, where browser tests keep what a person should look at.
    public static let screenshots = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build/screenshots")
}
