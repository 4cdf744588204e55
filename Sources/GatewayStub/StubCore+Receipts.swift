import Delivery
import Foundation

extension StubCore {
    /// The receipt pusher: takes due jobs off the heap, pushes them, and sleeps on the clock until
    /// the next one is due or an earlier one is queued. Ends after ``stopPusher()``, once the push
    /// in flight (bounded by the push timeout) has finished.
    func runPusher() async {
        while true {
            let now = clock.now()
            let (due, next, stopping) = state.withLock { state -> ([PushJob], Date?, Bool) in
                if state.stopping { return ([], nil, true) }
                var due: [PushJob] = []
                while let first = state.heap.first, first.due <= now, let job = state.heap.popFirst() {
                    due.append(job)
                }
                return (due, state.heap.first?.due, false)
            }
            if stopping { return }
            if due.isEmpty {
                await waitForWork(until: next)
                continue
            }
            for job in batches(of: due, now: now) {
                if state.withLock({ $0.stopping }) { return }
                await push(job)
            }
        }
    }

    /// Sleeps until `deadline` (forever when `nil`), or until ``StubState/schedule(_:)`` wakes it.
    private func waitForWork(until deadline: Date?) async {
        let clock = self.clock
        await withTaskGroup(of: Void.self) { group in
            if let deadline {
                group.addTask { try? await clock.sleep(until: deadline) }
            }
            group.addTask { await self.waitForSignal(until: deadline) }
            await group.next()
            group.cancelAll()
        }
        state.withLock { state in
            state.waiting = false
            state.waitingUntil = nil
        }
    }

    private func waitForSignal(until deadline: Date?) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if Task.isCancelled || state.stopping { return true }
                    if let first = state.heap.first, deadline.map({ first.due < $0 }) ?? true { return true }
                    state.waiter = continuation
                    state.waiting = true
                    state.waitingUntil = deadline
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }

    /// Asks the pusher to end and wakes it.
    ///
    /// The pusher task is never cancelled: cancelling a task inside FoundationNetworking's
    /// `URLSession.data(for:)` can deadlock against the completing transfer, and any push client
    /// bounds a push by its timeout anyway.
    func stopPusher() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.stopping = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Groups fresh receipts into pushes (loss, duplicates and reordering applied); re-pushes keep their batch.
    private func batches(of jobs: [PushJob], now: Date) -> [PushJob] {
        let settings = configuration.receipts
        let size = kind == .wechat ? 1 : max(1, min(settings.batchSize, kind == .tencent ? 100 : settings.batchSize))
        var result = jobs.filter { $0.attempt > 0 }
        let fresh = jobs.filter { $0.attempt == 0 }.flatMap(\.receipts)
        guard !fresh.isEmpty else { return result }
        let prepared = state.withLock { state -> [Receipt] in
            var list: [Receipt] = []
            for receipt in fresh where !state.random.chance(settings.lossRate) {
                list.append(receipt)
                if state.random.chance(settings.duplicateRate) { list.append(receipt) }
            }
            if settings.reorder, list.count > 1 {
                for index in stride(from: list.count - 1, to: 0, by: -1) {
                    list.swapAt(index, state.random.index(below: index + 1))
                }
            }
            return list
        }
        var start = 0
        while start < prepared.count {
            let end = min(start + size, prepared.count)
            result.append(
                PushJob(due: now, sequence: nextSequence(), receipts: Array(prepared[start..<end]), attempt: 1)
            )
            start = end
        }
        return result
    }

    /// Pushes one batch; schedules the provider's re-push when the receiver does not acknowledge it.
    private func push(_ job: PushJob) async {
        let target = job.isReply && kind != .wechat ? configuration.replies.url : configuration.receipts.url
        guard let pushClient, let url = target else { return }
        let request = job.isReply ? replyRequest(to: job.receipts[0], url: url) : pushRequest(job.receipts, url: url)
        var acknowledged = false
        if let request, let response = try? await pushClient.send(request) {
            acknowledged = isAcknowledgement(response)
        }
        if acknowledged {
            state.withLock { state in
                if job.isReply {
                    state.stats.repliesPushed += 1
                } else {
                    state.stats.receiptsPushed += job.receipts.count
                }
            }
            return
        }
        let now = clock.now()
        let firstFailure = job.firstFailure ?? now
        let schedule = configuration.receipts.repushSchedule ?? kind.repushSchedule
        guard job.attempt - 1 < schedule.count else { return }
        let offset = schedule[job.attempt - 1].seconds * configuration.timeScale
        var next = job
        next.attempt += 1
        next.firstFailure = firstFailure
        next.due = max(now, firstFailure.addingTimeInterval(offset))
        next.sequence = nextSequence()
        let wake = state.withLock { $0.schedule(next) }
        wake?.resume()
    }

    private func isAcknowledgement(_ response: HTTPResponse) -> Bool {
        guard (200..<300).contains(response.status) else { return false }
        switch kind {
        case .aliyun:
            return (StubJSON.object(response.body)?["code"] as? NSNumber)?.intValue == 0
        case .tencent:
            return (StubJSON.object(response.body)?["result"] as? NSNumber)?.intValue == 0
        case .wechat:
            let text = response.bodyText.trimmingCharacters(in: .whitespacesAndNewlines)
            return text.isEmpty || text == "success"
        case .generic:
            return true
        }
    }

    private func pushRequest(_ receipts: [Receipt], url: String) -> HTTPRequest? {
        let timeout = configuration.receipts.pushTimeout
        switch kind {
        case .aliyun:
            let items = receipts.map { receipt in
                StubJSON.object([
                    ("phone_number", .string(receipt.recipient)),
                    ("send_time", .string(formatDate(receipt.sentAt, "yyyy-MM-dd HH:mm:ss"))),
                    ("report_time", .string(formatDate(receipt.reportAt, "yyyy-MM-dd HH:mm:ss"))),
                    ("success", .bool(receipt.delivered)),
                    ("err_code", .string(receipt.code)),
                    ("err_msg", .string(receipt.delivered ? "用户接收成功" : "用户接收失败")),
                    ("sms_size", .string("1")),
                    ("biz_id", .string(receipt.providerID)),
                    ("out_id", .string(receipt.ourID ?? "")),
                ])
            }
            return jsonPush(url: url, .array(items), timeout: timeout)
        case .tencent:
            let items = receipts.map { receipt in
                var fields: [(String, StubJSON)] = [
                    ("user_receive_time", .string(formatDate(receipt.reportAt, "yyyy-MM-dd HH:mm:ss"))),
                    ("nationcode", .string("86")),
                    ("mobile", .string(receipt.recipient)),
                    ("report_status", .string(receipt.delivered ? "SUCCESS" : "FAIL")),
                    ("errmsg", .string(receipt.code)),
                    ("description", .string(receipt.delivered ? "用户短信送达成功" : "用户短信送达失败")),
                    ("sid", .string(receipt.providerID)),
                ]
                if let context = receipt.extra { fields.append(("ext", .string(context))) }
                return StubJSON.object(fields)
            }
            return jsonPush(url: url, .array(items), timeout: timeout)
        case .generic:
            let items = receipts.map { receipt in
                StubJSON.object([
                    ("id", .string(receipt.ourID ?? receipt.providerID)),
                    ("provider_id", .string(receipt.providerID)),
                    ("status", .string(receipt.delivered ? "delivered" : "failed")),
                    ("code", .string(receipt.code)),
                    ("time", .string(formatDate(receipt.reportAt, "yyyy-MM-dd'T'HH:mm:ss'Z'", zone: "UTC"))),
                ])
            }
            return jsonPush(url: url, .array(items), timeout: timeout)
        case .wechat:
            guard let receipt = receipts.first else { return nil }
            let xml =
                "<xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName>"
                + "<FromUserName><![CDATA[\(receipt.recipient)]]></FromUserName>"
                + "<CreateTime>\(Int(receipt.reportAt.timeIntervalSince1970))</CreateTime>"
                + "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event>"
                + "<MsgID>\(receipt.providerID)</MsgID><Status><![CDATA[\(receipt.code)]]></Status></xml>"
            return signedWeChatPush(url: url, xml: xml, timeout: timeout)
        }
    }

    /// The recipient's reply to a delivered message, in the provider's inbound format.
    private func replyRequest(to receipt: Receipt, url: String) -> HTTPRequest? {
        let timeout = configuration.receipts.pushTimeout
        let text = configuration.replies.text
        let at = receipt.reportAt.addingTimeInterval(configuration.receipts.delay.seconds)
        let sequence = nextSequence()
        switch kind {
        case .aliyun:
            let item = StubJSON.object([
                ("phone_number", .string(receipt.recipient)),
                ("send_time", .string(formatDate(at, "yyyy-MM-dd HH:mm:ss"))),
                ("content", .string(text)),
                ("sign_name", .string("PolicyPush")),
                ("dest_code", .string("1234")),
                ("sequence_id", .int(sequence)),
            ])
            return jsonPush(url: url, .array([item]), timeout: timeout)
        case .tencent:
            let item = StubJSON.object([
                ("extend", .string("")), ("mobile", .string(receipt.recipient)), ("nationcode", .string("86")),
                ("sign", .string("PolicyPush")), ("text", .string(text)),
                ("time", .int(Int(at.timeIntervalSince1970))),
            ])
            return jsonPush(url: url, item, timeout: timeout)
        case .generic:
            let item = StubJSON.object([
                ("id", .string("reply-\(receipt.providerID)")), ("from", .string(receipt.recipient)),
                ("text", .string(text)), ("time", .string(formatDate(at, "yyyy-MM-dd'T'HH:mm:ss'Z'", zone: "UTC"))),
            ])
            return jsonPush(url: url, .array([item]), timeout: timeout)
        case .wechat:
            let xml =
                "<xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName>"
                + "<FromUserName><![CDATA[\(receipt.recipient)]]></FromUserName>"
                + "<CreateTime>\(Int(at.timeIntervalSince1970))</CreateTime>"
                + "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[unsubscribe]]></Event></xml>"
            return signedWeChatPush(url: url, xml: xml, timeout: timeout)
        }
    }

    private func signedWeChatPush(url: String, xml: String, timeout: Duration) -> HTTPRequest? {
        let timestamp = String(Int(clock.now().timeIntervalSince1970))
        let nonce = String(state.withLock { $0.random.next() % 1_000_000_000 })
        let token = configuration.credentials.pushToken
        guard let digest = try? Digest.sha1([token, timestamp, nonce].sorted().joined()) else { return nil }
        let separator = url.contains("?") ? "&" : "?"
        let signed = url + separator + "signature=\(Digest.hex(digest))&timestamp=\(timestamp)&nonce=\(nonce)"
        return HTTPRequest(
            method: .post, url: signed, headers: ["Content-Type": "text/xml"], body: Array(xml.utf8), timeout: timeout)
    }

    private func jsonPush(url: String, _ body: StubJSON, timeout: Duration) -> HTTPRequest {
        HTTPRequest(
            method: .post, url: url, headers: ["Content-Type": "application/json"], body: Array(body.rendered.utf8),
            timeout: timeout
        )
    }
}

extension GatewayKind {
    /// Re-push delays after the first failed push, before time scaling.
    var repushSchedule: [Duration] {
        switch self {
        case .aliyun: [.seconds(60), .seconds(300), .seconds(600)]
        case .tencent: [.seconds(60), .seconds(120)]
        case .wechat: [.seconds(5), .seconds(10)]
        case .generic: [.seconds(10), .seconds(60), .seconds(300)]
        }
    }
}
