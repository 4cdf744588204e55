internal import CPostgreSQL
import Foundation

#if canImport(Glibc)
    internal import Glibc
#endif

/// A `NOTIFY` another session sent to a channel this connection listens on.
struct PGNotification: Sendable, Hashable {
    var channel: String
    var payload: String
    /// The server process of the session that sent it.
    var senderPID: Int32
}

extension PGConnection {
    /// Starts receiving notifications sent to `channel` (case-sensitive, as quoted).
    func listen(_ channel: String) throws {
        try execute("LISTEN \(PGText.identifier(channel))")
    }

    func unlisten(_ channel: String) throws {
        try execute("UNLISTEN \(PGText.identifier(channel))")
    }

    /// Sends `payload` to `channel`'s listeners, when the current transaction commits (at once
    /// outside one).
    func notify(_ channel: String, payload: String = "") throws {
        try query("SELECT pg_notify($1, $2)", channel, payload)
    }

    /// The next notification, waiting up to `timeout` for one; `nil` when none came in time.
    ///
    /// Waits in poll(2) on the connection's socket, reading what arrives with `PQconsumeInput`.
    /// - Important: Blocks the calling thread for up to `timeout`.
    func nextNotification(timeout: Duration) throws -> PGNotification? {
        let deadline = ContinuousClock.now + timeout
        while true {
            guard PQconsumeInput(handle) == 1 else { throw connectionError(sql: nil) }
            if let notification = takeNotification() { return notification }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { return nil }
            let socket = PQsocket(handle)
            guard socket >= 0 else { throw connectionError(sql: nil) }
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let (seconds, attoseconds) = remaining.components
            // Rounded up, so a wait never ends a moment before the deadline and spins.
            let milliseconds = Int32(
                clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
            if poll(&descriptor, 1, milliseconds) < 0, errno != EINTR {
                throw StorageError(
                    code: .cantOpen, message: "\(target): poll failed: \(String(cString: strerror(errno)))")
            }
        }
    }

    private func takeNotification() -> PGNotification? {
        guard let notify = PQnotifies(handle) else { return nil }
        defer { PQfreemem(notify) }
        return PGNotification(
            channel: String(cString: notify.pointee.relname), payload: String(cString: notify.pointee.extra),
            senderPID: notify.pointee.be_pid)
    }
}

extension PGText {
    /// `name` as a quoted SQL identifier: any name, spelled exactly, never SQL.
    static func identifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
