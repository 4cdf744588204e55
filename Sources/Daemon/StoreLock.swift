import Config
import Foundation
import Kit
import Ops
import Planning

#if canImport(Glibc)
    import Glibc
#endif

/// One daemon per store: an exclusive `flock` on `<store>.lock`, held for the daemon's life.
///
/// A second `policypush serve` on the same store would recover the first one's sends in flight as
/// if it had crashed (making them ambiguous) and both would claim; the lock makes it exit instead,
/// naming the pid that holds the store. The kernel releases the lock when the process dies, so a
/// crash never leaves it behind.
public final class StoreLock: Sendable {
    /// Another process holds the lock.
    public struct Held: Error, CustomStringConvertible {
        public var path: String
        /// The holder's pid, as it wrote it in the file (nil when unreadable).
        public var pid: Int32?
        public var description: String {
            "another policypush serve\(pid.map { " (pid \($0))" } ?? "") holds \(path); stop it first"
        }
    }

    public let path: String
    private let descriptor: Int32

    /// The lock file of the store at `storePath`.
    public static func path(forStore storePath: String) -> String { storePath + ".lock" }

    /// Takes the lock without waiting, and writes this process's pid into the file.
    ///
    /// - Throws: ``Held`` when another process holds it; a POSIX error when the file cannot be opened.
    public init(storePath: String) throws {
        let path = Self.path(forStore: storePath)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = Self.readPID(fd)
            close(fd)
            throw Held(path: path, pid: holder)
        }
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        self.path = path
        self.descriptor = fd
    }

    /// Releases the lock (closing the file releases it).
    deinit { close(descriptor) }

    private static func readPID(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        let text = String(decoding: buffer.prefix(count), as: UTF8.self)
        return Int32(text.split(whereSeparator: \.isNewline).first ?? "")
    }
}
