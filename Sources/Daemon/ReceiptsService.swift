import Config
import Delivery
import Foundation
import HTTPServer
import Kit
import Ops
import Registry
import Storage

/// The receipts listener (and `/metrics`, `/healthz`) as a service: listening from `init` (so the
/// daemon is ready only once it listens) until cancelled.
final class ReceiptsService: Service {
    let listener: ReceiptListener?

    /// Starts listening when `receipts.listen` is configured.
    init(context: DaemonContext, environment: [String: String]) throws {
        let configuration = context.inputs.configuration
        guard configuration.receiptsListen != nil else {
            listener = nil
            return
        }
        let listenerConfiguration = try DeliveryService.receiptListenerConfiguration(
            configuration, environment: environment)
        let metrics = context.metrics
        let log = context.log
        let health = context.health
        let store = context.store
        let now = context.now
        let keywords = Dictionary(
            configuration.gateways.map { ($0.name, OptOutKeywords($0.optOutKeywords)) }, uniquingKeysWith: { a, _ in a }
        )
        let listener = ReceiptListener(
            configuration: listenerConfiguration, clock: now,
            routes: { request in
                switch request.path {
                case "/metrics":
                    return HTTPServerResponse(
                        status: 200, headers: [("Content-Type", Metrics.contentType)],
                        body: Array(metrics.render().utf8))
                case "/healthz":
                    if let problem = health.problem {
                        return HTTPServerResponse(
                            status: 503, headers: [("Content-Type", "text/plain; charset=utf-8")],
                            body: Array("store unavailable: \(problem)\n".utf8))
                    }
                    return .text("ok\n")
                default:
                    return nil
                }
            },
            inbound: { messages in
                try await Self.store(messages, context: context, keywords: keywords)
            },
            consumer: { receipts in
                let at = now()
                let stored = receipts.map {
                    StoredReceipt(
                        gateway: $0.gateway, messageKey: $0.messageID, providerID: $0.providerID,
                        status: $0.status.rawValue, reasonCode: $0.reasonCode, occurredAt: $0.occurredAt,
                        receivedAt: at,
                        dedupeKey: $0.dedupeKey, raw: [])
                }
                let outcome: ReceiptOutcome
                do {
                    outcome = try await store.run { try $0.recordReceipts(stored) }
                } catch {
                    // The provider pushes again later; meanwhile /healthz says why.
                    if health.failed(error) { log.error("the store cannot be written", ["error": "\(error)"]) }
                    throw error
                }
                for r in receipts {
                    metrics.countReceipt(r.status == .delivered ? .delivered : .failed, gateway: r.gateway)
                }
                if outcome.unmatched > 0 {
                    log.info("receipts kept for later matching", ["unmatched": outcome.unmatched])
                }
            })
        try listener.start()
        self.listener = listener
    }

    /// Stores replies and unsubscribes; an opt-out keyword or an unsubscribe suppresses the sender.
    private static func store(
        _ messages: [InboundMessage], context: DaemonContext, keywords: [String: OptOutKeywords]
    ) async throws {
        let replies = messages.map { m in
            let kind: ReplyKind =
                switch m.kind {
                case .smsReply: .smsReply
                case .wechatText: .wechatText
                case .wechatUnsubscribe: .wechatUnsubscribe
                }
            // WeChat texts are read by people; only the unsubscribe event opts a follower out.
            let optOut =
                m.kind == .wechatUnsubscribe
                || (m.kind == .smsReply && (keywords[m.gateway] ?? OptOutKeywords()).matches(m.text))
            return NewReply(
                gateway: m.gateway, kind: kind, sender: m.sender, text: m.text, sentAt: m.sentAt,
                dedupeKey: m.dedupeKey, raw: m.raw, optOut: optOut)
        }
        let at = context.now()
        let outcome: ReplyOutcome
        do {
            outcome = try await context.store.run { try $0.recordReplies(replies, at: at) }
        } catch {
            if context.health.failed(error) { context.log.error("the store cannot be written", ["error": "\(error)"]) }
            throw error
        }
        for (message, reply) in zip(messages, replies) {
            context.log.info(
                reply.optOut ? "opt-out received" : "reply received",
                [
                    "gateway": message.gateway, "kind": reply.kind.rawValue,
                    "sender": reply.kind == .smsReply ? Mask.mobile(message.sender) : Mask.openID(message.sender),
                ])
        }
        context.metrics.countReplies(outcome)
        if outcome.messagesSuppressed > 0 {
            context.log.notice("queued messages suppressed by opt-outs", ["count": outcome.messagesSuppressed])
        }
    }

    var port: Int? { listener?.port }

    func run() async throws {
        // Serves on libmicrohttpd's threads; this task only waits to be cancelled, last of all.
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
        await listener?.stop(draining: .seconds(2))
    }
}
