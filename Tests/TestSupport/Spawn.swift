import Foundation

/// Starts `process` while holding a lock every test module of this process shares (an `flock` on
/// one file: two descriptors of one process exclude each other too), so children start one at a
/// time.
///
/// Foundation's `Process.run()` crashed in CI twice, in memcpy: to close the parent's descriptors
/// in the child it reads `/proc/self/fd` and copies each entry's whole 256-byte `d_name`, which
/// runs past the end of the directory buffer once more than about 1,300 descriptors are open.
/// `scripts/test` keeps the parallel run under that (its parallelization width); this lock keeps
/// concurrent spawns from adding to it, and costs nothing since spawning is quick.
public func runSerialized(_ process: Process) throws {
    let fd = open("/tmp/policypush-tests-spawn.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
    if fd >= 0 { _ = flock(fd, LOCK_EX) }
    defer {
        if fd >= 0 {
            _ = flock(fd, LOCK_UN)
            close(fd)
        }
    }
    try process.run()
}
