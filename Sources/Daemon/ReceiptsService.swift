import Config
import Delivery
import Foundation
import HTTPServer
import Kit
import Ops
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
        let metrics = context.metrics, log = context.log, health = context.health, store = context.store
        let now = context.now
        let listener = ReceiptListener(
            configuration: listenerConfiguration, clock: now,
            routes: { request in
                switch request.path {
                case "/metrics":
                    return HTTPServerResponse(
                        status: 200, headers: [("Content-Type", Metrics.contentType)], body: Array(metrics.render().utf8))
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
            consumer: { receipts in
                let at = now()
                let stored = receipts.map {
                    StoredReceipt(
                        gateway: $0.gateway, messageKey: $0.messageID, providerID: $0.providerID,
                        status: $0.status.rawValue, reasonCode: $0.reasonCode, occurredAt: $0.occurredAt, receivedAt: at,
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
                for r in receipts { metrics.countReceipt(r.status == .delivered ? .delivered : .failed, gateway: r.gateway) }
                if outcome.unmatched > 0 { log.info("receipts kept for later matching", ["unmatched": outcome.unmatched]) }
            })
        try listener.start()
        self.listener = listener
    }

    var port: Int? { listener?.port }

    func run() async throws {
        // Serves on libmicrohttpd's threads; this task only waits to be cancelled, last of all.
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
        await listener?.stop(draining: .seconds(2))
    }
}
