import Glibc
import Synchronization

/// One line per event on stderr: `level=info msg="campaign started" campaign=c-17 count=1200`.
///
/// Under systemd (stderr is the journal stream named by `$JOURNAL_STREAM`) each line starts with the
/// `<N>` syslog priority, so journald keeps the level (`journalctl -p warning`). Values with spaces,
/// quotes, `=` or control characters are quoted and escaped, as logfmt does. Contacts are masked by the
/// caller (`Mask` in Registry); secrets are wrapped in `Secret`, which prints `****`.
///
/// ```swift
/// let log = Log(environment: ProcessInfo.processInfo.environment)
/// log.info("campaign started", ["campaign": id, "recipients": count])
/// ```
///
/// - Important: Thread-safe. Each line is written with one `write(2)` under a `Mutex`, so lines from
///   concurrent tasks never interleave.
public struct Log: Sendable {
    /// Severity, mapped to syslog priorities for journald.
    public enum Level: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
        case debug, info, notice, warning, error

        /// The syslog priority journald reads from the `<N>` prefix.
        public var priority: Int {
            switch self {
            case .debug: 7
            case .info: 6
            case .notice: 5
            case .warning: 4
            case .error: 3
            }
        }

        /// `debug`, `info`, `notice`, `warning`, `error`.
        public var description: String {
            switch self {
            case .debug: "debug"
            case .info: "info"
            case .notice: "notice"
            case .warning: "warning"
            case .error: "error"
            }
        }

        /// Parses a level name (`warn` is accepted for `warning`).
        public init?(name: String) {
            switch name.lowercased() {
            case "debug": self = .debug
            case "info": self = .info
            case "notice": self = .notice
            case "warning", "warn": self = .warning
            case "error": self = .error
            default: return nil
            }
        }

        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// Key-value fields of one event, in the order given.
    public typealias Fields = KeyValuePairs<String, any CustomStringConvertible>

    /// Events below this level are dropped.
    public let threshold: Level
    /// Whether lines start with the `<N>` priority prefix.
    public let priorityPrefix: Bool
    /// Fields appended to every line (see `with(_:)`), already formatted.
    private let context: String
    private let output: Output

    /// A log writing to `fileDescriptor` (stderr by default).
    ///
    /// - Parameters:
    ///   - threshold: The lowest level written.
    ///   - priorityPrefix: Forces the `<N>` prefix on or off; `nil` turns it on when `$JOURNAL_STREAM`
    ///     names the device and inode of `fileDescriptor`, i.e. when it really is connected to journald.
    ///   - environment: The process environment (for `$JOURNAL_STREAM`).
    ///   - fileDescriptor: Where lines go; the log does not own or close it.
    public init(
        threshold: Level = .info, priorityPrefix: Bool? = nil, environment: [String: String] = [:],
        fileDescriptor: Int32 = STDERR_FILENO
    ) {
        self.threshold = threshold
        self.priorityPrefix =
            priorityPrefix ?? Self.isJournalStream(environment["JOURNAL_STREAM"], fileDescriptor: fileDescriptor)
        self.context = ""
        self.output = Output(fileDescriptor: fileDescriptor)
    }

    private init(copying log: Log, context: String) {
        threshold = log.threshold
        priorityPrefix = log.priorityPrefix
        output = log.output
        self.context = context
    }

    /// A log that appends `fields` to every line (e.g. `["gateway": "aliyun"]`), sharing this one's output.
    public func with(_ fields: Fields) -> Log {
        Log(copying: self, context: context + Self.formatFields(fields))
    }

    /// Whether events at `level` are written.
    public func isEnabled(_ level: Level) -> Bool { level >= threshold }

    /// Writes one event. `message` should be constant; variable parts belong in `fields`.
    public func log(_ level: Level, _ message: String, _ fields: Fields = [:]) {
        guard isEnabled(level) else { return }
        output.write(line(level, message, fields))
    }

    /// Writes a `debug` event.
    public func debug(_ message: String, _ fields: Fields = [:]) { log(.debug, message, fields) }
    /// Writes an `info` event.
    public func info(_ message: String, _ fields: Fields = [:]) { log(.info, message, fields) }
    /// Writes a `notice` event.
    public func notice(_ message: String, _ fields: Fields = [:]) { log(.notice, message, fields) }
    /// Writes a `warning` event.
    public func warning(_ message: String, _ fields: Fields = [:]) { log(.warning, message, fields) }
    /// Writes an `error` event.
    public func error(_ message: String, _ fields: Fields = [:]) { log(.error, message, fields) }

    /// The line `log(_:_:_:)` writes, newline included.
    public func line(_ level: Level, _ message: String, _ fields: Fields = [:]) -> String {
        var line = priorityPrefix ? "<\(level.priority)>" : ""
        line += "level=\(level) msg=" + Self.quoteIfNeeded(message)
        line += Self.formatFields(fields) + context + "\n"
        return line
    }

    // MARK: - Formatting

    /// ` key=value` for each field; keys keep only `[A-Za-z0-9_.-]`.
    static func formatFields(_ fields: Fields) -> String {
        var text = ""
        for (key, value) in fields {
            text += " " + sanitizeKey(key) + "=" + quoteIfNeeded(value.description)
        }
        return text
    }

    static func sanitizeKey(_ key: String) -> String {
        let allowed = key.unicodeScalars.map { scalar -> Character in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "_", ".", "-": Character(scalar)
            default: "_"
            }
        }
        return allowed.isEmpty ? "_" : String(allowed)
    }

    /// The value as is when it is a plain token; otherwise in double quotes with `\\`, `\"`, `\n`, `\r`,
    /// `\t` and other control characters (`\u{1b}`) escaped.
    static func quoteIfNeeded(_ value: String) -> String {
        let needsQuotes =
            value.isEmpty
            || value.unicodeScalars.contains {
                $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\\" || $0.value < 0x20 || $0.value == 0x7F
            }
        guard needsQuotes else { return value }
        var quoted = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": quoted += "\\\\"
            case "\"": quoted += "\\\""
            case "\n": quoted += "\\n"
            case "\r": quoted += "\\r"
            case "\t": quoted += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                quoted += "\\u{" + String(scalar.value, radix: 16) + "}"
            default: quoted.unicodeScalars.append(scalar)
            }
        }
        return quoted + "\""
    }

    /// `$JOURNAL_STREAM` is `<device>:<inode>` of the journal socket systemd connected to stdout/stderr;
    /// a child that redirected stderr inherits the variable, so compare it with the descriptor.
    static func isJournalStream(_ value: String?, fileDescriptor: Int32) -> Bool {
        guard let value else { return false }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var status = stat()
        guard fstat(fileDescriptor, &status) == 0 else { return false }
        return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
    }

    /// Serialises writes to one descriptor.
    private final class Output: Sendable {
        let fileDescriptor: Int32
        private let lock = Mutex(())

        init(fileDescriptor: Int32) { self.fileDescriptor = fileDescriptor }

        /// One `write(2)` per line; a short write (a full pipe) continues with the rest under the same lock.
        func write(_ line: String) {
            var bytes = Array(line.utf8)
            lock.withLock { _ in
                bytes.withUnsafeMutableBytes { buffer in
                    guard let base = buffer.baseAddress else { return }
                    var offset = 0
                    while offset < buffer.count {
                        let written = Glibc.write(fileDescriptor, base + offset, buffer.count - offset)
                        if written > 0 {
                            offset += written
                        } else if written < 0 && errno == EINTR {
                            continue
                        } else {
                            return  // stderr is gone: nothing left to tell
                        }
                    }
                }
            }
        }
    }
}

/// A secret (token, key, password) that never shows in logs: `description`, `debugDescription` and
/// `dump()` all print `****`. Read the value with `reveal()` where it is used.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let value: String

    /// Wraps `value`.
    public init(_ value: String) { self.value = value }

    /// The secret itself, for the one place that needs it (signing a request).
    public func reveal() -> String { value }

    /// Always `****`.
    public var description: String { "****" }
    /// Always `****`.
    public var debugDescription: String { "****" }
    /// An empty mirror, so `dump()` and reflection show nothing either.
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
