import Foundation
import Synchronization

/// A long-running part of a program (a listener, a loop), run by a ``ServiceGroup``.
public protocol Service: Sendable {
    /// Does the work until done, or until the task is cancelled.
    func run() async throws
    /// Asked to finish: stop taking new work and let `run()` return once what is in hand is
    /// done. Returns when it has. The default does nothing (cancellation ends the service).
    func shutdownGracefully() async
}

extension Service {
    public func shutdownGracefully() async {}
}

/// Runs services together, the way swift-service-lifecycle's `ServiceGroup` does.
///
/// Every service runs in one task group. A stop signal starts the graceful shutdown: each
/// service's ``Service/shutdownGracefully()`` is awaited in the reverse order of the list (so the
/// first one listed, say a listener, serves until the last); when they are done, or when the grace
/// period is over, the rest is cancelled. A service that fails ends the group the same way and its
/// error is thrown, unless it is allowed to restart (then it is logged and run again after a pause).
/// Other signals go to `onSignal` (a reload).
public struct ServiceGroup: Sendable {
    public struct Member: Sendable {
        public var name: String
        public var service: any Service
        /// Run again after this pause when it fails (a loop that must survive a store hiccup);
        /// `nil`: a failure ends the group.
        public var restartAfter: Duration?

        public init(_ name: String, _ service: any Service, restartAfter: Duration? = nil) {
            self.name = name
            self.service = service
            self.restartAfter = restartAfter
        }
    }

    /// Why the group ended.
    public enum Ending: Sendable, Equatable {
        case signal(Int32)
        /// Every service returned on its own, or the signal sequence ended.
        case finished
    }

    public var members: [Member]
    public var gracePeriod: Duration
    public var log: Log

    public init(_ members: [Member], gracePeriod: Duration, log: Log) {
        self.members = members
        self.gracePeriod = gracePeriod
        self.log = log
    }

    private enum Event: Sendable {
        case stop(Int32)
        case ended(String)
        case failed(String, any Error)
        case signalsEnded
    }

    /// Runs until a signal in `stopSignals` arrives or a service fails; returns why it ended.
    ///
    /// - Returns: whether the graceful shutdown finished within the grace period is logged.
    /// - Throws: the first failure of a service that may not restart.
    @discardableResult
    public func run<Signals: AsyncSequence & Sendable>(
        signals: Signals, stopSignals: Set<Int32> = [SIGTERM, SIGINT],
        onSignal: @escaping @Sendable (Int32) async -> Void = { _ in },
        onShutdown: @escaping @Sendable () -> Void = {}
    ) async throws -> Ending where Signals.Element == Int32 {
        try await withThrowingTaskGroup(of: Event.self) { group in
            for member in members { group.addTask { await self.runMember(member) } }
            group.addTask {
                do {
                    for try await signo in signals {
                        if stopSignals.contains(signo) { return .stop(signo) }
                        await onSignal(signo)
                    }
                } catch {}
                return .signalsEnded
            }
            var running = members.count
            var ending = Ending.finished
            var failure: (any Error)?
            loop: while let event = try await group.next() {
                switch event {
                case .stop(let signo):
                    ending = .signal(signo)
                    log.notice("stopping", ["signal": signo])
                    break loop
                case .failed(let name, let error):
                    log.error("service failed; stopping", ["service": name, "error": "\(error)"])
                    failure = error
                    break loop
                case .ended:
                    running -= 1
                    if running == 0 { break loop }
                case .signalsEnded:
                    continue
                }
            }
            // Graceful shutdown in reverse order, bounded by the grace period.
            onShutdown()
            let members = self.members
            let graceful = await withTaskGroup(of: Bool.self) { race in
                race.addTask {
                    for member in members.reversed() { await member.service.shutdownGracefully() }
                    return true
                }
                race.addTask {
                    try? await Task.sleep(for: self.gracePeriod)
                    return false
                }
                let first = await race.next() ?? false
                race.cancelAll()
                return first
            }
            if !graceful {
                log.warning(
                    "grace period over; cancelling what is still running",
                    ["grace_s": Int(gracePeriod.components.seconds)])
            }
            group.cancelAll()
            while let event = try await group.next() {
                if case .failed(let name, let error) = event, failure == nil, !Task.isCancelled {
                    log.error("service failed while stopping", ["service": name, "error": "\(error)"])
                }
            }
            if let failure { throw failure }
            return ending
        }
    }

    private func runMember(_ member: Member) async -> Event {
        while !Task.isCancelled {
            do {
                try await member.service.run()
                return .ended(member.name)
            } catch {
                if Task.isCancelled || error is CancellationError { return .ended(member.name) }
                guard let pause = member.restartAfter else { return .failed(member.name, error) }
                log.error(
                    "service failed; restarting",
                    ["service": member.name, "error": "\(error)", "after_s": Int(pause.components.seconds)])
                try? await Task.sleep(for: pause)
            }
        }
        return .ended(member.name)
    }
}

/// Something that happens once (a service has stopped), awaited by any number of tasks.
public final class Completion: Sendable {
    private let state = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    public init() {}

    /// Marks it done and resumes every waiter; later calls do nothing.
    public func complete() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard !state.done else { return [] }
            state.done = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    public var isComplete: Bool { state.withLock { $0.done } }

    /// Returns once ``complete()`` was called (at once if it was).
    public func wait() async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Bool in
                if state.done { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }
}
