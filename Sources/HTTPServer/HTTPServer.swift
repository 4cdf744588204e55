internal import CMicroHTTPD
import Dispatch
import Synchronization

/// A small HTTP/1.1 server over libmicrohttpd, for stub gateways and the receipts listener.
///
/// A few libmicrohttpd threads (``Configuration/threadPoolSize``) poll every connection with
/// epoll; no thread belongs to a connection. A request's body is read in full (up to
/// ``Configuration/maxBodyBytes``, else `413`), then its connection is suspended while the async
/// handler runs on a Swift task, and resumed with the answer: a slow handler (or a scripted
/// delay) holds no thread. Malformed requests are answered `4xx` by libmicrohttpd itself or by
/// the server (ambiguous body framing: `400`); a handler that throws produces `500`.
///
/// Against slow or abusive clients: a connection idle for ``Configuration/connectionTimeout``
/// is closed (not while its handler runs), one address holds at most
/// ``Configuration/perIPConnectionLimit`` connections, all addresses together at most
/// ``Configuration/connectionLimit``; connections beyond a limit are closed at once.
///
/// - Important: call ``stop()`` when done; it cancels handlers still running (including
///   scripted delays), closes their connections and joins libmicrohttpd's threads.
public final class HTTPServer: Sendable {
    /// Listening and resource limits. The defaults suit a listener exposed to the Internet, such
    /// as the receipts listener; a loopback test server raises ``perIPConnectionLimit``.
    public struct Configuration: Sendable {
        /// Numeric IPv4 or IPv6 address to bind. Default `127.0.0.1`.
        public var host: String
        /// Port to bind; `0` picks an ephemeral port, read it back from ``HTTPServer/port``. Default `0`.
        public var port: Int
        /// Largest request body accepted; larger ones get `413`. Default 1 MiB.
        public var maxBodyBytes: Int
        /// Most simultaneous connections, all addresses together (each costs a socket, not a
        /// thread); more are closed at once. Default 1024.
        public var connectionLimit: Int
        /// Most simultaneous connections from one IP address; more are closed at once. `0` means
        /// no limit: for loopback test servers, or behind a proxy that connects from one address.
        /// Default 32.
        public var perIPConnectionLimit: Int
        /// Seconds without a byte from the client before its connection is closed: a request
        /// whose headers or body trickle in, or an idle keep-alive connection. The time a handler
        /// takes does not count. `0` means never. Default 10.
        public var connectionTimeout: Int
        /// Memory per connection for the request line and headers. Default 64 KiB.
        public var connectionMemoryLimit: Int
        /// libmicrohttpd threads polling the connections (epoll); handlers run on Swift tasks, so
        /// a few suffice. Default 2.
        public var threadPoolSize: Int

        public init(
            host: String = "127.0.0.1",
            port: Int = 0,
            maxBodyBytes: Int = 1 << 20,
            connectionLimit: Int = 1024,
            perIPConnectionLimit: Int = 32,
            connectionTimeout: Int = 10,
            connectionMemoryLimit: Int = 64 << 10,
            threadPoolSize: Int = 2
        ) {
            self.host = host
            self.port = port
            self.maxBodyBytes = maxBodyBytes
            self.connectionLimit = connectionLimit
            self.perIPConnectionLimit = perIPConnectionLimit
            self.connectionTimeout = connectionTimeout
            self.connectionMemoryLimit = connectionMemoryLimit
            self.threadPoolSize = threadPoolSize
        }

        /// Reports every problem at once, each with its key path.
        public func validate() -> [String] {
            var problems: [String] = []
            if !(0...65535).contains(port) { problems.append("port: must be 0-65535") }
            if maxBodyBytes < 0 { problems.append("maxBodyBytes: must not be negative") }
            if !(1...1_000_000).contains(connectionLimit) { problems.append("connectionLimit: must be 1-1000000") }
            if !(0...connectionLimit).contains(perIPConnectionLimit) {
                problems.append("perIPConnectionLimit: must be 0 (no limit) up to connectionLimit")
            }
            if !(0...86_400).contains(connectionTimeout) { problems.append("connectionTimeout: must be 0-86400 s") }
            if connectionMemoryLimit < 1024 { problems.append("connectionMemoryLimit: must be at least 1024") }
            if !(1...64).contains(threadPoolSize) { problems.append("threadPoolSize: must be 1-64") }
            return problems
        }
    }

    /// The handler type: answers one request.
    public typealias Handler = @Sendable (HTTPServerRequest) async throws -> HTTPServerResponse

    public let configuration: Configuration
    let core: ServerCore

    /// Creates a stopped server; call ``start()`` to listen.
    public init(configuration: Configuration = Configuration(), handler: @escaping Handler) {
        self.configuration = configuration
        self.core = ServerCore(maxBodyBytes: configuration.maxBodyBytes, handler: handler)
    }

    /// Binds and starts serving.
    ///
    /// - Throws: ``HTTPServerError`` if the configuration is invalid, the server was already
    ///   started, or the address cannot be bound.
    public func start() throws {
        let configuration = self.configuration
        guard configuration.validate().isEmpty else { throw HTTPServerError(code: .invalidConfiguration) }
        try core.state.withLock { state in
            guard case .idle = state.phase else { throw HTTPServerError(code: .alreadyStarted) }
            let context = Unmanaged.passRetained(core)
            // Internal polling threads with the best poller (epoll on Linux), no thread per
            // connection, and suspend/resume so that a connection waits for its handler parked.
            let flags =
                UInt32(MHD_USE_INTERNAL_POLLING_THREAD.rawValue) | UInt32(MHD_USE_AUTO.rawValue)
                | UInt32(MHD_ALLOW_SUSPEND_RESUME.rawValue)
            let daemon = cmhd_start_daemon(
                flags, configuration.host, UInt16(configuration.port),
                UInt32(configuration.connectionLimit), UInt32(configuration.perIPConnectionLimit),
                UInt32(configuration.connectionTimeout), configuration.connectionMemoryLimit,
                UInt32(configuration.threadPoolSize),
                ServerCallbacks.access, context.toOpaque(),
                ServerCallbacks.completed, context.toOpaque(),
                ServerCallbacks.connection, context.toOpaque()
            )
            guard let daemon else {
                context.release()
                throw HTTPServerError(code: .bindFailed)
            }
            state.phase = .running(daemon: daemon, port: Int(cmhd_daemon_bind_port(daemon)))
        }
    }

    /// The bound port while running (the real one when configured with `0`), else `0`.
    public var port: Int {
        core.state.withLock { state in
            if case .running(_, let port) = state.phase { return port }
            return 0
        }
    }

    /// Connections accepted since start: lets tests prove that clients reuse connections.
    public var connectionsAccepted: Int { core.connectionsAccepted.load(ordering: .relaxed) }

    /// Requests received and not yet completed: their handler is running, or their answer is
    /// not yet written (or their connection not yet closed).
    public var requestsInProgress: Int { core.activity.withLock { $0.requests } }

    /// Lets the requests already received finish (handler returned and answer written) for at
    /// most `timeout`, then stops like ``stop()``. Idempotent.
    ///
    /// Use it where a peer must get its answer before the server goes away, such as a receipt
    /// listener that has just handed a pushed receipt to its consumer: ``stop()`` would close that
    /// push's connection without an answer, and the provider would push again. Requests that
    /// arrive while draining are served too.
    public func stop(draining timeout: Duration) async {
        let core = self.core
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await core.waitUntilIdle() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            // stop() joins libmicrohttpd's threads: keep that off the cooperative pool.
            DispatchQueue.global().async {
                self.stop()
                continuation.resume()
            }
        }
    }

    /// Stops listening, cancels running handlers and joins libmicrohttpd's threads. Idempotent.
    ///
    /// Requests still in a handler get their connection closed without an answer; the handler
    /// tasks are cancelled and their results dropped.
    ///
    /// - Important: blocks the calling thread while libmicrohttpd joins its threads (they do not
    ///   depend on the cooperative pool, so this is brief).
    public func stop() {
        let daemon: OpaquePointer? = core.state.withLock { state in
            guard case .running(let daemon, _) = state.phase else {
                if case .idle = state.phase { state.phase = .stopped }
                return nil
            }
            state.phase = .stopped
            return daemon
        }
        guard let daemon else { return }
        // libmicrohttpd aborts when stopped with a suspended connection: resume them all first.
        core.abandonInFlight()
        MHD_stop_daemon(daemon)
        // No callback can run any more: drop the reference libmicrohttpd held.
        Unmanaged.passUnretained(core).release()
    }
}

/// Why the server could not start.
public struct HTTPServerError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case invalidConfiguration = "invalid configuration"
            case alreadyStarted = "already started"
            case bindFailed = "cannot bind"
        }
        fileprivate let base: Base

        /// A port, limit or timeout is out of range.
        public static let invalidConfiguration = Code(base: .invalidConfiguration)
        /// ``HTTPServer/start()`` was called twice, or after ``HTTPServer/stop()``.
        public static let alreadyStarted = Code(base: .alreadyStarted)
        /// The host is not a numeric address, or the port is taken.
        public static let bindFailed = Code(base: .bindFailed)

        public var description: String { base.rawValue }
    }

    public let code: Code

    public var description: String { "HTTP server: \(code)" }
}

/// State shared between the server object and libmicrohttpd's threads.
final class ServerCore: Sendable {
    enum Phase {
        case idle
        case running(daemon: OpaquePointer, port: Int)
        case stopped
    }

    struct State: ~Copyable {
        var phase: Phase = .idle
        var nextRequestID = 0
        /// Requests whose handler runs, and its task once created.
        var inFlight: [Int: (request: RequestState, task: Task<Void, Never>?)] = [:]
    }

    /// Requests between the access handler's first call and the request-completed callback, and
    /// the tasks waiting for there to be none. Touched from libmicrohttpd's threads.
    struct Activity: ~Copyable {
        var requests = 0
        var nextWaiter = 0
        var idleWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    let maxBodyBytes: Int
    let handler: HTTPServer.Handler
    let state = Mutex(State())
    let activity = Mutex(Activity())
    let connectionsAccepted = Atomic<Int>(0)

    func requestStarted() { activity.withLock { $0.requests += 1 } }

    func requestCompleted() {
        let waiters = activity.withLock { activity -> [CheckedContinuation<Void, Never>] in
            activity.requests -= 1
            guard activity.requests == 0 else { return [] }
            defer { activity.idleWaiters = [:] }
            return Array(activity.idleWaiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once no request is in progress, or when the waiting task is cancelled.
    func waitUntilIdle() async {
        let id = activity.withLock { activity -> Int in
            defer { activity.nextWaiter += 1 }
            return activity.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = activity.withLock { activity -> Bool in
                    if activity.requests == 0 || Task.isCancelled { return true }
                    activity.idleWaiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = activity.withLock { $0.idleWaiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }

    init(maxBodyBytes: Int, handler: @escaping HTTPServer.Handler) {
        self.maxBodyBytes = maxBodyBytes
        self.handler = handler
    }

    /// Parks the connection of a complete `request` and runs the handler on a task, which
    /// resumes the connection with the answer. Returns false when the connection must close at
    /// once (the server is stopping).
    ///
    /// - Important: call it only from the access handler, on the connection's libmicrohttpd thread.
    func dispatch(_ request: HTTPServerRequest, state pending: RequestState, connection: OpaquePointer) -> Bool {
        // Registered first, so that `abandonInFlight` either sees this request or it sees the stop.
        let id: Int? = state.withLock { state in
            guard case .running = state.phase else { return nil }
            let id = state.nextRequestID
            state.nextRequestID += 1
            state.inFlight[id] = (pending, nil)
            return id
        }
        guard let id else { return false }
        let parked = RequestState.Suspended(connection: connection)
        let suspended = pending.phase.withLock { phase -> Bool in
            guard case .reading = phase else { return false }  // abandoned meanwhile
            MHD_suspend_connection(parked.connection)
            phase = .suspended(parked)
            return true
        }
        guard suspended else {
            _ = state.withLock { $0.inFlight.removeValue(forKey: id) }
            return false
        }
        let handler = self.handler
        let task = Task.detached { [self] in
            var response: HTTPServerResponse
            do {
                response = try await handler(request)
            } catch {
                response = .text("internal error\n", status: 500)
            }
            if let delay = response.delay {
                do {
                    try await Task.sleep(for: delay)
                } catch {
                    response = .resetConnection
                }
            }
            self.answer(id: id, request: pending, with: response)
        }
        let running = state.withLock { state -> Bool in
            guard state.inFlight[id] != nil else { return false }
            state.inFlight[id]?.task = task
            return true
        }
        if !running { task.cancel() }  // already answered (no harm) or abandoned by `stop`
        return true
    }

    /// Resumes the connection of request `id` with `response`, unless `stop` abandoned it.
    private func answer(id: Int, request: RequestState, with response: HTTPServerResponse) {
        request.phase.withLock { phase in
            guard case .suspended(let parked) = phase else { return }
            phase = .answered(response)
            MHD_resume_connection(parked.connection)
        }
        _ = state.withLock { $0.inFlight.removeValue(forKey: id) }
    }

    /// Cancels every running handler and resumes its connection to be closed without an answer,
    /// so that stopping never waits for handler tasks (the caller of `stop` may hold the last
    /// cooperative thread) and libmicrohttpd stops with no connection suspended.
    ///
    /// - Important: call it after the phase left `.running`, before `MHD_stop_daemon`.
    func abandonInFlight() {
        let inFlight = state.withLock { state in
            let inFlight = Array(state.inFlight.values)
            state.inFlight = [:]
            return inFlight
        }
        for (request, task) in inFlight {
            task?.cancel()
            request.phase.withLock { phase in
                switch phase {
                case .reading:
                    phase = .abandoned
                case .suspended(let parked):
                    phase = .abandoned
                    MHD_resume_connection(parked.connection)
                case .answered, .abandoned:
                    break
                }
            }
        }
    }
}
