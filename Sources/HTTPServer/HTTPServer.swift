internal import CMicroHTTPD
import Dispatch
import Synchronization

/// A small HTTP/1.1 server over libmicrohttpd, for stub gateways and the receipts listener.
///
/// Each connection is served by its own libmicrohttpd thread; a request's body is read in full
/// (up to ``Configuration/maxBodyBytes``, else `413`) before the async handler runs. Malformed
/// requests are answered `4xx` by libmicrohttpd itself; a handler that throws produces `500`.
///
/// - Important: call ``stop()`` when done; it cancels handlers still running (including
///   scripted delays) and joins the connection threads.
public final class HTTPServer: Sendable {
    /// Listening and resource limits.
    public struct Configuration: Sendable {
        /// Numeric IPv4 or IPv6 address to bind. Default `127.0.0.1`.
        public var host: String
        /// Port to bind; `0` picks an ephemeral port, read it back from ``HTTPServer/port``. Default `0`.
        public var port: Int
        /// Largest request body accepted; larger ones get `413`. Default 1 MiB.
        public var maxBodyBytes: Int
        /// Most simultaneous connections (one thread each). Default 256.
        public var connectionLimit: Int
        /// Seconds of inactivity before an idle connection is closed. Default 30.
        public var connectionTimeout: Int
        /// Memory per connection for the request line and headers. Default 64 KiB.
        public var connectionMemoryLimit: Int

        public init(
            host: String = "127.0.0.1",
            port: Int = 0,
            maxBodyBytes: Int = 1 << 20,
            connectionLimit: Int = 256,
            connectionTimeout: Int = 30,
            connectionMemoryLimit: Int = 64 << 10
        ) {
            self.host = host
            self.port = port
            self.maxBodyBytes = maxBodyBytes
            self.connectionLimit = connectionLimit
            self.connectionTimeout = connectionTimeout
            self.connectionMemoryLimit = connectionMemoryLimit
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
        guard (0...65535).contains(configuration.port), configuration.maxBodyBytes >= 0,
            configuration.connectionLimit > 0, configuration.connectionTimeout >= 0,
            configuration.connectionMemoryLimit >= 1024
        else { throw HTTPServerError(code: .invalidConfiguration) }
        try core.state.withLock { state in
            guard case .idle = state.phase else { throw HTTPServerError(code: .alreadyStarted) }
            let context = Unmanaged.passRetained(core)
            let flags =
                UInt32(MHD_USE_INTERNAL_POLLING_THREAD.rawValue) | UInt32(MHD_USE_THREAD_PER_CONNECTION.rawValue)
                | UInt32(MHD_USE_AUTO.rawValue)
            let daemon = cmhd_start_daemon(
                flags, configuration.host, UInt16(configuration.port),
                UInt32(configuration.connectionLimit), UInt32(configuration.connectionTimeout),
                configuration.connectionMemoryLimit,
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

    /// Stops listening, cancels running handlers and joins the connection threads. Idempotent.
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
        var inFlight: [Int: (task: Task<Void, Never>, rendezvous: Rendezvous)] = [:]
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

    /// Runs the handler for `request` and blocks the calling libmicrohttpd connection thread
    /// (never a cooperative-pool thread) until it has an answer, or until the server stops.
    func respond(to request: HTTPServerRequest) -> HTTPServerResponse {
        let rendezvous = Rendezvous()
        let handler = self.handler
        let task = Task.detached {
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
            rendezvous.deliver(response)
        }
        let id: Int? = state.withLock { state in
            guard case .running = state.phase else { return nil }
            let id = state.nextRequestID
            state.nextRequestID += 1
            state.inFlight[id] = (task, rendezvous)
            return id
        }
        guard let id else {
            task.cancel()
            return .resetConnection
        }
        let response = rendezvous.wait()
        _ = state.withLock { $0.inFlight.removeValue(forKey: id) }
        return response
    }

    /// Releases every connection thread still waiting for a handler, so that stopping never
    /// depends on handler tasks getting a cooperative thread (the caller of `stop` may hold one).
    func abandonInFlight() {
        let inFlight = state.withLock { state in
            let inFlight = Array(state.inFlight.values)
            state.inFlight = [:]
            return inFlight
        }
        for (task, rendezvous) in inFlight {
            task.cancel()
            rendezvous.deliver(.resetConnection)
        }
    }
}

/// Hands one response from a handler task (or from `stop`) to the waiting connection thread;
/// the first delivery wins.
final class Rendezvous: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    private let response = Mutex<HTTPServerResponse?>(nil)

    func deliver(_ value: HTTPServerResponse) {
        let first = response.withLock { response in
            guard response == nil else { return false }
            response = value
            return true
        }
        if first { semaphore.signal() }
    }

    func wait() -> HTTPServerResponse {
        semaphore.wait()
        return response.withLock { $0 } ?? .resetConnection
    }
}
