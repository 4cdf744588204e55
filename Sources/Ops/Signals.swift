import Dispatch
import Foundation
import Synchronization

/// Waits for termination signals without a MainActor-isolated handler.
///
/// The handlers are `@Sendable` closures on a global queue; the first signal resumes the waiter.
public final class SignalWaiter: Sendable {
    /// Set once in `init`, then only cancelled in `deinit`; dispatch sources are thread-safe.
    nonisolated(unsafe) private let sources: [any DispatchSourceSignal]
    /// Guards the continuation and whether a signal already arrived.
    private let state = Mutex<(continuation: CheckedContinuation<Int32, Never>?, pending: [Int32])>((nil, []))

    /// - Parameter signals: e.g. `[SIGTERM, SIGINT]`; their default action is disabled.
    public init(_ signals: [Int32]) {
        var sources: [any DispatchSourceSignal] = []
        for signo in signals {
            signal(signo, SIG_IGN)
            sources.append(DispatchSource.makeSignalSource(signal: signo, queue: .global()))
        }
        self.sources = sources
        for (source, signo) in zip(sources, signals) {
            source.setEventHandler { [weak self] in self?.deliver(signo) }
            source.resume()
        }
    }

    private func deliver(_ signo: Int32) {
        let continuation = state.withLock { s -> CheckedContinuation<Int32, Never>? in
            guard let waiting = s.continuation else {
                s.pending.append(signo)
                return nil
            }
            s.continuation = nil
            return waiting
        }
        continuation?.resume(returning: signo)
    }

    /// Returns the next signal (immediately if one arrived while nobody waited). One waiter at a time.
    public func wait() async -> Int32 {
        await withCheckedContinuation { continuation in
            let received = state.withLock { s -> Int32? in
                if !s.pending.isEmpty { return s.pending.removeFirst() }
                s.continuation = continuation
                return nil
            }
            if let received { continuation.resume(returning: received) }
        }
    }

    deinit {
        for source in sources { source.cancel() }
    }
}
