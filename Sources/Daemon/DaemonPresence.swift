import Config
import Foundation
import Kit
import Ops
import Planning

#if canImport(Glibc)
    import Glibc
#endif

/// Whether `policypush serve` is running on a state directory, told by its pid file.
///
/// The daemon writes `<stateDirectory>/policypush.pid` (its pid and start time) when it starts
/// and removes it when it exits; commands read it to say whether the daemon will act on what
/// they wrote or whether it waits for `policypush serve`.
public enum DaemonPresence {
    /// The pid file's name inside the state directory.
    public static let fileName = "policypush.pid"

    /// What the pid file says.
    public enum Status: Sendable, Hashable {
        /// The file names a live process whose command line mentions policypush.
        case running(pid: Int32)
        /// There is no pid file (or it cannot be read).
        case notRunning
        /// The file names a process that is gone (or is no longer policypush): the daemon
        /// did not exit cleanly.
        case stale(pid: Int32)

        /// The pid of a running daemon, if any.
        public var runningPID: Int32? {
            if case .running(let pid) = self { return pid }
            return nil
        }
    }

    /// The pid file's path for a state directory.
    public static func path(stateDirectory: String) -> String {
        URL(fileURLWithPath: stateDirectory).appendingPathComponent(fileName).path
    }

    /// Writes this process's pid and start time, replacing any previous file atomically.
    public static func write(stateDirectory: String, now: Date = Date()) throws {
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        let started = ISO8601DateFormatter().string(from: now)
        let text = "\(getpid())\n\(started)\n"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path(stateDirectory: stateDirectory)), options: .atomic)
    }

    /// Removes the pid file if it names this process; a file another daemon wrote is kept.
    public static func remove(stateDirectory: String) {
        let file = path(stateDirectory: stateDirectory)
        guard let pid = readPID(file), pid == getpid() else { return }
        try? FileManager.default.removeItem(atPath: file)
    }

    /// Reads the pid file and checks that the process it names is alive and is policypush.
    public static func check(stateDirectory: String) -> Status {
        guard let pid = readPID(path(stateDirectory: stateDirectory)) else { return .notRunning }
        guard isAlive(pid), commandLine(of: pid).lowercased().contains("policypush") else { return .stale(pid: pid) }
        return .running(pid: pid)
    }

    private static func readPID(_ file: String) -> Int32? {
        guard let data = FileManager.default.contents(atPath: file) else { return nil }
        let firstLine = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).first ?? ""
        guard let pid = Int32(firstLine.trimmingCharacters(in: .whitespaces)), pid > 0 else { return nil }
        return pid
    }

    /// `kill(pid, 0)` succeeds, or fails only because the process belongs to another user.
    private static func isAlive(_ pid: Int32) -> Bool {
        if kill(pid, 0) == 0 { return true }
        return errno == EPERM
    }

    /// The process's arguments joined by spaces, or "" when /proc does not have it.
    private static func commandLine(of pid: Int32) -> String {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return "" }
        return String(decoding: data.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
    }
}
