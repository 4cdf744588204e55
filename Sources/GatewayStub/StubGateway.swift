import Delivery
import Foundation
import HTTPServer
import Synchronization

/// A loopback HTTP server that imitates one SMS or WeChat provider closely enough for the
/// official SDKs and PolicyPush's adapters: same paths, bodies, error shapes and signature
/// checks, scripted faults, and delivery receipts pushed in the provider's format.
///
/// `GET /_stub/stats` reports ``StubStats`` as JSON; add `?ids=1` for the id lists and the
/// witness lists (every (our id, recipient) accepted more than once), which let a crash or fault
/// test see a message delivered twice.
///
/// - Important: call ``stop()`` when done; it ends the receipt pusher and the server.
public final class StubGateway: Sendable {
    /// The configuration the stub runs with.
    public var configuration: StubConfiguration { core.configuration }
    let core: StubCore
    let server: HTTPServer
    private let pusher = Mutex<Task<Void, Never>?>(nil)

    /// Creates a stopped stub; ``start()`` listens.
    ///
    /// - Parameter pushClient: sends receipt pushes; required when `receipts.url` is set.
    public init(configuration: StubConfiguration, pushClient: (any HTTPClient)?) {
        let core = StubCore(configuration: configuration, pushClient: pushClient)
        self.core = core
        self.server = HTTPServer(
            // Every client of a stub connects from 127.0.0.1, and SDKs keep connections idle
            // between calls: no per-address limit, the long idle timeout they were built against.
            configuration: .init(
                host: "127.0.0.1", port: configuration.port, perIPConnectionLimit: 0, connectionTimeout: 30),
            handler: { request in await core.handle(request) }
        )
    }

    /// Starts listening on `127.0.0.1` and, when receipts are pushed, the pusher task.
    ///
    /// A stub runs once: after ``stop()`` create a new one.
    ///
    /// - Returns: the bound port.
    /// - Throws: ``StubError`` when the port cannot be bound, the stub already ran, or receipts
    ///   are configured without a push client.
    @discardableResult
    public func start() throws -> Int {
        let pushes = core.configuration.receipts.url != nil || core.configuration.replies.url != nil
        if pushes, core.pushClient == nil {
            throw StubError(code: .noPushClient, message: "receipts.url or replies.url")
        }
        do {
            try server.start()
        } catch {
            throw StubError(code: .cannotStart, message: "\(error)")
        }
        if pushes {
            let core = self.core
            pusher.withLock { $0 = Task { await core.runPusher() } }
        }
        return server.port
    }

    /// The bound port while running, else `0`.
    public var port: Int { server.port }

    /// Stops the pusher (after the push in flight, if any) and the server. Idempotent.
    public func stop() async {
        let task = pusher.withLock { task -> Task<Void, Never>? in
            defer { task = nil }
            return task
        }
        core.stopPusher()
        await task?.value
        let server = self.server
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            // HTTPServer.stop() joins libmicrohttpd threads: keep it off the cooperative pool.
            Thread.detachNewThread {
                server.stop()
                continuation.resume()
            }
        }
    }

    /// Counters and the id lists (as `GET /_stub/stats?ids=1`).
    public var stats: StubStats { core.snapshot(includingIDs: true) }
}

/// Who owns what: all mutable stub state lives in ``state`` behind one mutex; handlers run on
/// detached tasks of the HTTP server and the pusher on its own task.
final class StubCore: Sendable {
    let configuration: StubConfiguration
    let pushClient: (any HTTPClient)?
    let state: Mutex<StubState>

    init(configuration: StubConfiguration, pushClient: (any HTTPClient)?) {
        self.configuration = configuration
        self.pushClient = pushClient
        self.state = Mutex(StubState(seed: configuration.faults.seed))
    }

    var clock: any StubClock { configuration.clock }
    var kind: GatewayKind { configuration.kind }

    func handle(_ request: HTTPServerRequest) async -> HTTPServerResponse {
        if request.path == "/_stub/stats" {
            let ids = request.queryValue("ids").map { $0 == "1" || $0 == "true" } ?? false
            return statsResponse(includingIDs: ids)
        }
        switch kind {
        case .aliyun: return await handleAliyun(request)
        case .tencent: return await handleTencent(request)
        case .wechat: return await handleWeChat(request)
        case .generic: return await handleGeneric(request)
        }
    }

    func statsResponse(includingIDs: Bool) -> HTTPServerResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = (try? encoder.encode(snapshot(includingIDs: includingIDs))).map { Array($0) } ?? Array("{}".utf8)
        return HTTPServerResponse(status: 200, headers: [("Content-Type", "application/json")], body: body)
    }

    func snapshot(includingIDs: Bool) -> StubStats {
        state.withLock { state in
            var stats = state.stats
            if includingIDs {
                stats.acceptedIds = state.acceptedIDs
                var listed = Set<String>()
                stats.duplicateSends = state.acceptedIDs.filter { id in
                    state.idCounts[id, default: 0] > 1 && listed.insert(id).inserted
                }
                stats.duplicateDeliveries = state.pairOrder.compactMap { pair in
                    let count = state.pairCounts[pair, default: 0]
                    return count > 1 ? StubDuplicateDelivery(id: pair.id, recipient: pair.recipient, count: count) : nil
                }
                // pairOrder holds each pair once, so grouping it gives each recipient's distinct ids in order.
                var idsByRecipient: [String: [String]] = [:]
                var recipients: [String] = []
                for pair in state.pairOrder {
                    if idsByRecipient[pair.recipient] == nil { recipients.append(pair.recipient) }
                    idsByRecipient[pair.recipient, default: []].append(pair.id)
                }
                stats.duplicateRecipients = recipients.compactMap { recipient in
                    let ids = idsByRecipient[recipient] ?? []
                    return ids.count > 1 ? StubRepeatedRecipient(recipient: recipient, ids: ids) : nil
                }
                stats.receivedBySecond = Dictionary(
                    uniqueKeysWithValues: state.receivedBySecond.map { (String($0.key), $0.value) })
            }
            return stats
        }
    }

    // MARK: Faults

    /// Draws the faults for one send request.
    func drawPlan() -> RequestPlan {
        let faults = configuration.faults
        return state.withLock { state in
            var plan = RequestPlan()
            let jitter = faults.jitter.seconds
            plan.latency =
                faults.latency + (jitter > 0 ? .nanoseconds(Int64(state.random.unit() * jitter * 1e9)) : .zero)
            if state.random.chance(faults.resetRate) {
                plan.fault = .reset
            } else if state.random.chance(faults.rateLimitRate) {
                plan.fault = .rateLimited
            } else if !faults.errorRates.isEmpty {
                let draw = state.random.unit()
                var cumulative = 0.0
                for key in faults.errorRates.keys.sorted() {
                    cumulative += faults.errorRates[key] ?? 0
                    if draw < cumulative {
                        let parts = key.split(separator: "|", maxSplits: 1).map(String.init)
                        plan.fault = .error(code: parts[0], message: parts.count > 1 ? parts[1] : nil)
                        break
                    }
                }
            }
            if state.random.chance(faults.timeoutRate) {
                plan.lateness = .timeout
            } else if state.random.chance(faults.slowDeliveredRate) {
                plan.lateness = .slow
            } else if state.random.chance(faults.dropAfterAcceptRate) {
                plan.lateness = .dropped
            }
            return plan
        }
    }

    /// The `429` answer's `Retry-After` value.
    func retryAfterValue() -> String {
        switch configuration.faults.retryAfter {
        case .seconds(let seconds): return String(seconds)
        case .httpDate(let offset): return httpDate(clock.now().addingTimeInterval(TimeInterval(offset)))
        }
    }

    /// Waits out the plan's latency (and its scripted lateness when the send was accepted), then
    /// answers, or closes the connection without an answer when the plan drops accepted sends.
    func answer(_ response: HTTPServerResponse, plan: RequestPlan, accepted: Bool) async -> HTTPServerResponse {
        var delay = plan.latency
        if accepted {
            switch plan.lateness {
            case .onTime, .dropped: break
            case .timeout: delay += configuration.faults.timeoutDelay
            case .slow: delay += configuration.faults.slowDelay
            }
        }
        if delay > .zero {
            do {
                try await clock.sleep(until: clock.now().addingTimeInterval(delay.seconds))
            } catch {
                return .resetConnection
            }
        }
        if accepted, plan.lateness == .dropped {
            state.withLock { $0.stats.droppedAfterAccept += 1 }
            return .resetConnection
        }
        return response
    }

    // MARK: Counting

    func countReceived() {
        let second = Int64(clock.now().timeIntervalSince1970.rounded(.down))
        state.withLock {
            $0.stats.received += 1
            $0.receivedBySecond[second, default: 0] += 1
        }
    }

    func reject(_ reason: String) { state.withLock { $0.stats.rejected[reason, default: 0] += 1 } }

    /// Records an accepted send of `recipients` and schedules their receipts.
    ///
    /// - Returns: the receipts, for the provider's query and pull APIs.
    @discardableResult
    func accept(
        ourID: String?, providerIDs: [String], recipients: [String], forceDelivered: Bool,
        extra: [String] = []
    ) -> [Receipt] {
        let now = clock.now()
        let receiptSettings = configuration.receipts
        let due = now.addingTimeInterval(receiptSettings.delay.seconds)
        let pushing = receiptSettings.url != nil
        let replies = configuration.replies
        let replying = replies.rate > 0 && (kind == .wechat ? receiptSettings.url : replies.url) != nil
        let codes = receiptSettings.failureCodes.isEmpty ? kind.defaultFailureCodes : receiptSettings.failureCodes
        let (receipts, wake) = state.withLock { state -> ([Receipt], CheckedContinuation<Void, Never>?) in
            var receipts: [Receipt] = []
            for (index, recipient) in recipients.enumerated() {
                let failed = !forceDelivered && state.random.chance(receiptSettings.failureRate)
                let code = failed ? codes[state.random.index(below: codes.count)] : kind.deliveredCode
                if failed { state.stats.failed += 1 } else { state.stats.delivered += 1 }
                receipts.append(
                    Receipt(
                        providerID: providerIDs[min(index, providerIDs.count - 1)], ourID: ourID,
                        recipient: recipient, sentAt: now, reportAt: due, delivered: !failed, code: code,
                        extra: index < extra.count ? extra[index] : nil
                    )
                )
            }
            state.stats.accepted += recipients.count
            if let ourID {
                state.acceptedIDs.append(ourID)
                state.idCounts[ourID, default: 0] += 1
                for recipient in recipients { state.witness(ourID, recipient) }
            }
            var wake: CheckedContinuation<Void, Never>?
            // A reply comes a receipt delay after its delivery: replies are pushed as they are
            // drawn (attempt 1), never lost, doubled or batched.
            for receipt in receipts where receipt.delivered && replying && state.random.chance(replies.rate) {
                state.sequence += 1
                let job = PushJob(
                    due: due.addingTimeInterval(receiptSettings.delay.seconds), sequence: state.sequence,
                    receipts: [receipt], isReply: true, attempt: 1)
                wake = state.schedule(job) ?? wake
            }
            guard pushing, !receipts.isEmpty else { return (receipts, wake) }
            state.sequence += 1
            let job = PushJob(due: due, sequence: state.sequence, receipts: receipts, attempt: 0)
            return (receipts, state.schedule(job) ?? wake)
        }
        wake?.resume()
        return receipts
    }

    func nextSequence() -> Int {
        state.withLock { state in
            state.sequence += 1
            return state.sequence
        }
    }
}

/// The faults drawn for one request.
struct RequestPlan: Sendable {
    enum Fault: Sendable {
        case none, reset, rateLimited
        case error(code: String, message: String?)
    }
    /// What becomes of an accepted send's answer: on time, late, or never (connection dropped).
    enum Lateness: Sendable { case onTime, timeout, slow, dropped }
    var fault: Fault = .none
    var lateness: Lateness = .onTime
    var latency: Duration = .zero
}

/// One message's receipt.
struct Receipt: Sendable {
    /// BizId, SerialNo, msgid or the generic id.
    var providerID: String
    /// Our id as the send carried it.
    var ourID: String?
    /// Mobile number (as normalised by the stub) or openid.
    var recipient: String
    var sentAt: Date
    var reportAt: Date
    var delivered: Bool
    /// `DELIVERED`, `DELIVRD`, `success` or the failure code.
    var code: String
    /// Provider detail: Tencent `SessionContext`, Aliyun template code.
    var extra: String?
}

/// One push (or re-push) waiting for its time.
struct PushJob: Sendable {
    var due: Date
    var sequence: Int
    /// The receipts of a receipt push, or the one delivered receipt a reply answers.
    var receipts: [Receipt]
    /// Whether this pushes a reply to ``receipts`` rather than the receipts themselves.
    var isReply = false
    /// 0 for receipts not yet batched; n ≥ 1 for the n-th push of a batch.
    var attempt: Int
    var firstFailure: Date?
}

/// All mutable state of one stub, guarded by ``StubCore/state``.
struct StubState: ~Copyable {
    var random: StubRandom
    var stats = StubStats()
    var acceptedIDs: [String] = []
    var idCounts: [String: Int] = [:]
    /// Acceptances per (our id, recipient), and the pairs in order of first acceptance.
    var pairCounts: [AcceptedPair: Int] = [:]
    var pairOrder: [AcceptedPair] = []
    var receivedBySecond: [Int64: Int] = [:]
    var sequence = 0

    // Receipt pusher.
    var heap = PushHeap()
    var waiter: CheckedContinuation<Void, Never>?
    var waiting = false
    var waitingUntil: Date?
    var stopping = false

    // Aliyun.
    var nonces: Set<String> = []
    var aliyunSends: [String: [Date]] = [:]
    var aliyunRecords: [String: [Receipt]] = [:]
    var nextBizID: UInt64 = 900_619_746_936_498_440

    // Tencent.
    var tencentLastSend: [String: Date] = [:]
    var tencentDaily: [String: [Date]] = [:]
    var tencentUnpulled: [Receipt] = []
    /// Every accepted send's receipt by mobile number, for PullSmsSendStatusByPhoneNumber (never consumed).
    var tencentRecords: [String: [Receipt]] = [:]
    var nextSerial: UInt64 = 1_045_710_669_157_053_657

    // WeChat.
    var tokens: [String: TokenRecord] = [:]
    var classicToken: String?
    var stableToken: String?
    var wechatSent: [String: (msgid: Int64, at: Date)] = [:]
    var nextMsgID: Int64 = 3_147_483_648

    // Generic.
    var idempotency: [String: IdempotencyEntry] = [:]

    init(seed: UInt64) { random = StubRandom(seed: seed) }

    /// Records one acceptance of message `id` for `recipient`.
    mutating func witness(_ id: String, _ recipient: String) {
        let pair = AcceptedPair(id: id, recipient: recipient)
        pairCounts[pair, default: 0] += 1
        if pairCounts[pair] == 1 { pairOrder.append(pair) }
    }

    /// Queues a job; returns the pusher's continuation when it must wake earlier than planned.
    mutating func schedule(_ job: PushJob) -> CheckedContinuation<Void, Never>? {
        heap.insert(job)
        guard waiting, waitingUntil.map({ job.due < $0 }) ?? true, let waiter else { return nil }
        self.waiter = nil
        waiting = false
        return waiter
    }
}

/// One message (our id) for one recipient.
struct AcceptedPair: Hashable, Sendable {
    var id: String
    var recipient: String
}

/// A WeChat access token.
struct TokenRecord: Sendable {
    var expires: Date
    var sends = 0
    var stable: Bool
}

/// A generic-gateway idempotency key's state.
struct IdempotencyEntry: Sendable {
    var bodyDigest: [UInt8]
    /// The id answered once the send was accepted; `nil` while it is in flight.
    var providerID: String?
}

extension GatewayKind {
    var deliveredCode: String {
        switch self {
        case .aliyun: "DELIVERED"
        case .tencent, .generic: "DELIVRD"
        case .wechat: "success"
        }
    }

    var defaultFailureCodes: [String] {
        switch self {
        case .wechat: ["failed:user block", "failed: system failed"]
        default: ["UNDELIV", "MBBLACK"]
        }
    }
}

/// An IMF-fixdate (`Wed, 21 Oct 2015 07:28:00 GMT`).
func httpDate(_ date: Date) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "GMT")
    formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
    return formatter.string(from: date)
}

/// Formats `date` in `zone` with `format` (POSIX locale).
func formatDate(_ date: Date, _ format: String, zone: String = "Asia/Shanghai") -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: zone)
    formatter.dateFormat = format
    return formatter.string(from: date)
}

/// Mainland mobile number without `+86`/`0086`/`86`, or `nil` when it is not 11 digits from `1`.
func normalisedMobile(_ raw: String) -> String? {
    var number = raw.trimmingCharacters(in: .whitespaces)
    for prefix in ["+86", "0086", "86"] where number.hasPrefix(prefix) && number.count == prefix.count + 11 {
        number.removeFirst(prefix.count)
        break
    }
    guard number.count == 11, number.hasPrefix("1"), number.allSatisfy({ $0.isASCII && $0.isNumber }) else {
        return nil
    }
    return number
}
