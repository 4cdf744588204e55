import Synchronization

/// At most `limit` holders at a time; further callers wait in arrival order.
///
/// ``release()`` hands the slot straight to the longest waiter, so a newcomer never overtakes a
/// waiter. A waiter whose task is cancelled leaves the queue and throws `CancellationError`
/// without taking a slot.
public final class InFlightLimiter: Sendable {
    private struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var limit: Int
        var inUse = 0
        var nextID: UInt64 = 0
        var waiters: [Waiter] = []
        var head = 0
        /// Ids handed out whose continuation is not registered yet.
        var pending: Set<UInt64> = []
        /// Pending ids whose task was cancelled before registering.
        var cancelled: Set<UInt64> = []

        var waiting: Int { waiters.count - head }

        mutating func popWaiter() -> Waiter? {
            guard head < waiters.count else { return nil }
            let waiter = waiters[head]
            head += 1
            if head >= 64 && head * 2 >= waiters.count {
                waiters.removeFirst(head)
                head = 0
            }
            return waiter
        }
    }

    private let state: Mutex<State>

    /// Creates a limiter with `limit` slots (at least 1).
    public init(limit: Int) {
        precondition(limit > 0, "InFlightLimiter needs at least one slot")
        state = Mutex(State(limit: limit))
    }

    /// The slot count.
    public var limit: Int { state.withLock { $0.limit } }
    /// Slots held now.
    public var inUse: Int { state.withLock { $0.inUse } }
    /// Callers waiting for a slot.
    public var waiting: Int { state.withLock { $0.waiting } }

    /// Takes a slot without waiting, if one is free and nobody waits.
    public func tryAcquire() -> Bool {
        state.withLock { state in
            guard state.inUse < state.limit, state.waiting == 0 else { return false }
            state.inUse += 1
            return true
        }
    }

    /// Takes a slot, waiting behind earlier callers. Pair every successful call with ``release()``.
    ///
    /// - Throws: `CancellationError` when the task is cancelled before it got a slot.
    public func acquire() async throws(CancellationError) {
        if Task.isCancelled { throw CancellationError() }
        let id: UInt64? = state.withLock { state in
            if state.inUse < state.limit, state.waiting == 0 {
                state.inUse += 1
                return nil
            }
            let id = state.nextID
            state.nextID &+= 1
            state.pending.insert(id)
            return id
        }
        guard let id else { return }
        let granted = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let immediate: Bool? = state.withLock { state in
                    state.pending.remove(id)
                    if state.cancelled.remove(id) != nil { return false }
                    if state.inUse < state.limit, state.waiting == 0 {
                        state.inUse += 1
                        return true
                    }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let continuation: CheckedContinuation<Bool, Never>? = state.withLock { state in
                if let index = state.waiters[state.head...].firstIndex(where: { $0.id == id }) {
                    return state.waiters.remove(at: index).continuation
                }
                if state.pending.remove(id) != nil { state.cancelled.insert(id) }
                return nil
            }
            continuation?.resume(returning: false)
        }
        if !granted { throw CancellationError() }
    }

    /// Returns a slot, handing it to the longest waiter if there is one.
    public func release() {
        let next: Waiter? = state.withLock { state in
            if let waiter = state.popWaiter() { return waiter }
            precondition(state.inUse > 0, "InFlightLimiter released more often than acquired")
            state.inUse -= 1
            return nil
        }
        next?.continuation.resume(returning: true)
    }
}
