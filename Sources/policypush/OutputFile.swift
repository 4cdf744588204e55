import Config
import Daemon
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A file the CLI writes at an operator's request (`--csv`, `--errors`, `--out`).
///
/// It is written beside the target under a temporary name and renamed over the target only once
/// complete, so a full disk or an error never leaves a partial file and never damages what was
/// there. The target must be absent or a regular file — not a symbolic link, a device or a
/// directory — and an existing file inside the state directory (the store, its WAL, the lock)
/// is never replaced.
enum OutputFile {
    /// Writes `path` through `body`, atomically.
    ///
    /// - Throws: `CommandFailure` naming the path and the reason; the target is left as it was.
    static func write(to path: String, configuration: Configuration?, _ body: (FileHandle) throws -> Void) throws {
        let target = URL(fileURLWithPath: path).standardizedFileURL
        let directory = target.deletingLastPathComponent().path
        try checkTarget(target.path, stateDirectory: configuration?.stateDirectory, storePath: configuration?.storePath)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CommandFailure("cannot write \(path): no directory \(directory)")
        }
        let temporary =
            directory + "/." + target.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CommandFailure("cannot write \(path): \(String(cString: strerror(errno)))") }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        do {
            try body(handle)
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            unlink(temporary)
            throw CommandFailure("cannot write \(path): \(Self.reason(error)); nothing was written")
        }
        guard rename(temporary, target.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw CommandFailure("cannot write \(path): \(reason); nothing was written")
        }
    }

    /// Writes `text` to `path`, atomically.
    static func write(_ text: String, to path: String, configuration: Configuration?) throws {
        try write(to: path, configuration: configuration) { try $0.write(contentsOf: Data(text.utf8)) }
    }

    /// Refuses a target that is not a plain file, or one inside the state directory.
    static func checkTarget(_ path: String, stateDirectory: String?, storePath: String?) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }  // absent: fine
        let kind = info.st_mode & S_IFMT
        if kind == S_IFLNK { throw CommandFailure("refusing to write \(path): it is a symbolic link") }
        guard kind == S_IFREG else {
            throw CommandFailure(
                "refusing to write \(path): it is not a regular file (a device, a directory or a pipe)")
        }
        guard let stateDirectory, let storePath else { return }
        let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let state = URL(fileURLWithPath: stateDirectory).resolvingSymlinksInPath().path
        let store = URL(fileURLWithPath: storePath).resolvingSymlinksInPath().path
        if real.hasPrefix(state + "/") || [store, store + "-wal", store + "-shm", store + ".lock"].contains(real) {
            throw CommandFailure(
                "refusing to replace \(path): it is in the state directory \(stateDirectory) (the store lives there); choose another path"
            )
        }
    }

    private static func reason(_ error: any Error) -> String {
        if let failure = error as? CommandFailure { return failure.description }
        let ns = error as NSError
        if let posix = ns.userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(posix.code)))
        }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        return ns.localizedDescription
    }
}
