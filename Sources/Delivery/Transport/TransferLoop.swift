internal import CCurl
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// `curl_global_init` runs once per process, on first use (Swift initializes globals once, thread-safely).
private let curlGlobalInitResult: UInt32 = curl_global_init(Int(CURL_GLOBAL_DEFAULT)).rawValue

/// The hand-over point between `send` callers and the transport thread.
final class TransferLoop: Sendable {
    enum Phase {
        case running
        case shuttingDown
        case finished
    }

    struct State: ~Copyable {
        var phase: Phase = .running
        var incoming: [Transfer] = []
        /// The multi handle's address while it exists, so callers can wake the thread. Kept as an
        /// integer: other threads use it only for `curl_multi_wakeup` (thread-safe by libcurl's
        /// contract), only under this lock, and the thread clears it under the lock before cleanup.
        var multiAddress: UInt = 0
        var wakePending = false
        var cancellationPending = false
        var thread: pthread_t?
        var exitWaiters: [CheckedContinuation<Void, Never>] = []
    }

    let configuration: CurlTransport.Configuration
    let state = Mutex(State())

    init(configuration: CurlTransport.Configuration) {
        self.configuration = configuration
    }

    /// Starts the transport thread; on failure the loop is finished and every send is refused.
    func start() {
        let context = Unmanaged.passRetained(self)
        var thread = pthread_t()
        let started = pthread_create(
            &thread, nil,
            { argument in
                guard let argument else { return nil }
                Unmanaged<TransferLoop>.fromOpaque(argument).takeRetainedValue().run()
                return nil
            },
            context.toOpaque()
        )
        if started == 0 {
            state.withLock { $0.thread = thread }
        } else {
            context.release()
            state.withLock { $0.phase = .finished }
        }
    }

    /// Queues `transfer`; returns `false` if the loop no longer takes work.
    func submit(_ transfer: Transfer) -> Bool {
        state.withLock { state in
            guard case .running = state.phase else { return false }
            state.incoming.append(transfer)
            Self.wake(&state)
            return true
        }
    }

    /// Asks the thread to look for cancelled transfers.
    func requestCancellationCheck() {
        state.withLock { state in
            state.cancellationPending = true
            Self.wake(&state)
        }
    }

    /// Wakes the transport thread from `curl_multi_poll`, once per batch of hand-overs.
    ///
    /// `curl_multi_wakeup` is called with the lock held, deliberately: the thread clears
    /// `state.multiAddress` under the same lock before `curl_multi_cleanup`, so a wake-up can never
    /// reach a freed handle. The call is a non-blocking write to a socket pair, and
    /// `wakePending` limits it to one per loop iteration.
    private static func wake(_ state: inout State) {
        guard !state.wakePending, let multi = UnsafeMutableRawPointer(bitPattern: state.multiAddress) else { return }
        // A failed wake-up only delays the hand-over until the poll's bound; the next call retries.
        state.wakePending = curl_multi_wakeup(multi) == CURLM_OK
    }

    func shutdown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let finished: Bool = state.withLock { state in
                switch state.phase {
                case .finished:
                    return true
                case .running:
                    state.phase = .shuttingDown
                    Self.wake(&state)
                case .shuttingDown:
                    break
                }
                state.exitWaiters.append(continuation)
                return false
            }
            if finished { continuation.resume() }
        }
        // The thread resumed us as its last act, so this join returns at once; only one caller joins.
        let thread: pthread_t? = state.withLock { state in
            defer { state.thread = nil }
            return state.thread
        }
        if let thread { pthread_join(thread, nil) }
    }

    /// The transport thread's body.
    private func run() {
        guard curlGlobalInitResult == CURLE_OK.rawValue, let driver = MultiDriver(configuration: configuration) else {
            finish(driver: nil, failingWith: .other)
            return
        }
        let address = UInt(bitPattern: driver.multi)
        state.withLock { $0.multiAddress = address }
        while true {
            let (incoming, checkCancellation, stopping) = state.withLock { state in
                state.wakePending = false
                let incoming = state.incoming
                state.incoming.removeAll(keepingCapacity: true)
                let check = state.cancellationPending
                state.cancellationPending = false
                let stopping: Bool
                if case .running = state.phase { stopping = false } else { stopping = true }
                return (incoming, check, stopping)
            }
            if stopping {
                for transfer in incoming { transfer.complete(.failure(TransportError(code: .cancelled))) }
                break
            }
            for transfer in incoming { driver.start(transfer) }
            if checkCancellation { driver.abortCancelled() }
            // Wake-ups and libcurl's own timers cut the poll short; the bound only limits how long
            // a lost wake-up could go unnoticed.
            guard driver.perform() == CURLM_OK, driver.poll(timeoutMilliseconds: 1000) == CURLM_OK else {
                finish(driver: driver, failingWith: .other)
                return
            }
        }
        finish(driver: driver, failingWith: .cancelled)
    }

    /// Refuses further work, fails what is queued or attached, frees libcurl's handles and
    /// releases `shutdown` callers.
    private func finish(driver: MultiDriver?, failingWith code: TransportError.Code) {
        let (incoming, waiters) = state.withLock { state in
            state.multiAddress = 0
            state.phase = .finished
            let incoming = state.incoming
            state.incoming = []
            let waiters = state.exitWaiters
            state.exitWaiters = []
            return (incoming, waiters)
        }
        driver?.close(failingWith: code)
        for transfer in incoming { transfer.complete(.failure(TransportError(code: code))) }
        for waiter in waiters { waiter.resume() }
    }
}
