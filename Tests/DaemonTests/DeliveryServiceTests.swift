import Config
import Daemon
import Delivery
import Foundation
import GatewayStub
import Planning
import Registry
import Testing

/// Routing, retries, failover and the ambiguous-send rule, against real stub gateways over loopback.
@Suite("Delivery service")
struct DeliveryServiceTests {
    static let environment = [
        "ALI_ACCESS_KEY_ID": "testId", "ALI_ACCESS_KEY_SECRET": "testSecret",
        "TC_ACCESS_KEY_ID": "AKIDstubSecretId", "TC_ACCESS_KEY_SECRET": "stubSecretKey",
    ]

    /// Starts stubs, writes a config naming them, runs `body`, stops everything.
    func withGateways(
        _ stubs: [(name: String, kind: GatewayKind, faults: StubFaults)], sms: [String], timeoutMS: Int = 10_000,
        _ body: (DeliveryService, [String: StubGateway]) async throws -> Void
    ) async throws {
        var started: [String: StubGateway] = [:]
        var gateways = ""
        for stub in stubs {
            let gateway = StubGateway(
                configuration: StubConfiguration(kind: stub.kind, faults: stub.faults), pushClient: nil)
            let port = try gateway.start()
            started[stub.name] = gateway
            let credentials =
                switch stub.kind {
                case .aliyun: "credentials: { env: \"ALI\" },"
                case .tencent: "credentials: { env: \"TC\" }, options: { sdk_app_id: \"1400006666\" },"
                default: ""
                }
            gateways += """
                \(stub.name): { kind: "\(stub.kind.rawValue)", base_url: "http://127.0.0.1:\(port)", \(credentials)
                  rate: 0, timeout_ms: \(timeoutMS), retry: { max_attempts: 4, base_ms: 10, max_ms: 40 } },

                """
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "pp-delivery-\(UUID().uuidString).json5"
        ).path
        try """
        { gateways: { \(gateways) }, channels: { sms: [\(sms.map { "\"\($0)\"" }.joined(separator: ", "))] } }
        """.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let configuration = try Configuration.load(file: path, environment: ["POLICYPUSH_STATE_DIR": "/tmp/pp-unused"])
        let service = try DeliveryService(configuration: configuration, environment: Self.environment)
        do {
            try await body(service, started)
        } catch {
            await service.shutdown()
            for stub in started.values { await stub.stop() }
            throw error
        }
        await service.shutdown()
        for stub in started.values { await stub.stop() }
    }

    func message(_ id: String) -> (GatewayKind) -> OutboundMessage {
        { kind in
            switch kind {
            case .aliyun:
                OutboundMessage(
                    id: id, recipient: "13800138000", templateID: "SMS_1", signName: "示例",
                    params: [.init(key: "n", value: "3")])
            case .tencent:
                OutboundMessage(
                    id: id, recipient: "13800138000", templateID: "1", signName: "示例",
                    params: [.init(key: "1", value: "3")])
            default:
                OutboundMessage(id: id, recipient: "13800138000", text: "【示例】测试")
            }
        }
    }

    @Test func failsOverWhenTheFirstGatewayIsPaused() async throws {
        try await withGateways(
            [("ali", .aliyun, StubFaults(errorRates: ["isv.AMOUNT_NOT_ENOUGH": 1])), ("tc", .tencent, StubFaults())],
            sms: ["ali", "tc"]
        ) { service, stubs in
            let report = try await service.deliver(on: .sms, build: message("m-failover"))
            guard case .accepted = report.outcome else {
                Issue.record("not accepted: \(report.outcome)")
                return
            }
            #expect(report.gateway == "tc")
            #expect(report.steps.map(\.gateway) == ["ali", "tc"])
            if case .pauseGateway(_, let kind, _) = report.steps[0].outcome {
                #expect(kind == .billing)
            } else {
                Issue.record("first step should pause the gateway: \(report.steps[0].outcome)")
            }
            #expect(stubs["tc"]!.stats.accepted == 1)
        }
    }

    @Test func retriesWithBackoffUntilAccepted() async throws {
        try await withGateways(
            [("gen", .generic, StubFaults(seed: 7, errorRates: ["http:503": 0.6], retryAfter: .seconds(0)))],
            sms: ["gen"]
        ) {
            service, stubs in
            var retried = 0
            for i in 0..<5 {
                let report = try await service.deliver(on: .sms, build: message("m-retry-\(i)"))
                if case .accepted = report.outcome {
                } else if case .failed(let reason, _) = report.outcome {
                    #expect(reason.namespace == "retry", "only exhausted retries may fail here")
                } else {
                    Issue.record("unexpected \(report.outcome)")
                }
                retried += report.attempts - 1
            }
            #expect(retried > 0, "a 60% error rate must cause retries")
            let stats = stubs["gen"]!.stats
            #expect(stats.received == stats.accepted + (stats.rejected.values.reduce(0, +)))
        }
    }

    @Test func anAmbiguousSendToANonDeduplicatingGatewayIsNotRepeated() async throws {
        try await withGateways(
            [("ali", .aliyun, StubFaults(timeoutRate: 1, timeoutDelay: .seconds(5))), ("tc", .tencent, StubFaults())],
            sms: ["ali", "tc"], timeoutMS: 500
        ) { service, stubs in
            let report = try await service.deliver(on: .sms, build: message("m-ambiguous"))
            guard case .ambiguous = report.outcome else {
                Issue.record("expected ambiguous: \(report.outcome)")
                return
            }
            #expect(report.attempts == 1)
            #expect(report.steps.map(\.gateway) == ["ali"], "never another gateway after an ambiguous send")
            #expect(stubs["tc"]!.stats.received == 0)
        }
    }

    @Test func anAmbiguousSendIsRepeatedWithTheSameIDWhereTheGatewayDeduplicates() async throws {
        try await withGateways(
            [("gen", .generic, StubFaults(timeoutRate: 1, timeoutDelay: .seconds(5))), ("tc", .tencent, StubFaults())],
            sms: ["gen", "tc"], timeoutMS: 500
        ) { service, stubs in
            let report = try await service.deliver(on: .sms, build: message("m-dedup"))
            #expect(report.steps.allSatisfy { $0.gateway == "gen" })
            #expect(report.attempts > 1)
            #expect(stubs["tc"]!.stats.received == 0)
            let stats = stubs["gen"]!.stats
            #expect(stats.accepted + stats.deduplicated >= 1)
            #expect((stats.duplicateSends ?? []).isEmpty, "the gateway deduplicated every repeat")
        }
    }

    @Test func aGatewayWithoutItsCredentialsIsAConfigurationError() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "pp-delivery-\(UUID().uuidString).json5"
        ).path
        try
            #"{ gateways: { ali: { kind: "aliyun", base_url: "http://127.0.0.1:1", credentials: { env: "MISSING" } }, tc: { kind: "tencent", base_url: "http://127.0.0.1:1", credentials: { env: "TC" } } } }"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let configuration = try Configuration.load(file: path, environment: ["POLICYPUSH_STATE_DIR": "/tmp/pp-unused"])
        let error = #expect(throws: ConfigurationError.self) {
            _ = try DeliveryService(configuration: configuration, environment: Self.environment)
        }
        let text = error?.description ?? ""
        #expect(text.contains("gateways.ali.credentials"), "\(text)")
        #expect(text.contains("gateways.tc.options.sdk_app_id"), "\(text)")
        #expect(!text.contains("stubSecretKey"), "never a secret")
    }
}
