import Config
import Daemon
import Delivery
import Foundation
import GatewayStub
import Kit
import Planning
import Storage
import Synchronization
import Testing

/// Wall-clock time a test controls: it runs at real speed from a chosen start and can jump.
final class TestWallClock: Sendable {
    /// `since` is nil while the clock stands still.
    private let state: Mutex<(base: Date, since: ContinuousClock.Instant?)>

    init(start: Date, running: Bool = true) { state = Mutex((start, running ? ContinuousClock.now : nil)) }

    var now: Date {
        state.withLock { state in
            state.since.map { state.base.addingTimeInterval((ContinuousClock.now - $0).seconds) } ?? state.base
        }
    }

    /// From now on the clock reads `date` and, when `running`, runs on from there.
    func jump(to date: Date, running: Bool = true) {
        state.withLock { $0 = (date, running ? ContinuousClock.now : nil) }
    }
}

/// The daemon's dispatch path in process: stub gateways on loopback, a store on a temporary
/// file, the group-commit writer, a `DeliveryService` from a written config, and an
/// `OutboxDispatcher` and `Reconciler` over them, with an injectable wall clock.
final class DispatchRig {
    struct Gateway {
        var name: String
        var kind: GatewayKind
        var faults = StubFaults()
        /// Extra JSON5 keys for the gateway (`breaker: {...}, options: {...}`).
        var extra = ""
        var timeoutMS = 1000
        /// Messages a second; 0 = unlimited.
        var rate = 0
    }

    static let environment = [
        "ALI_ACCESS_KEY_ID": "testId", "ALI_ACCESS_KEY_SECRET": "testSecret",
        "TC_ACCESS_KEY_ID": "AKIDstubSecretId", "TC_ACCESS_KEY_SECRET": "stubSecretKey",
    ]

    let directory: String
    let stubs: [String: StubGateway]
    let configuration: Configuration
    let store: StoreWorker
    let writer: GroupCommitWriter
    let delivery: DeliveryService
    let clock: TestWallClock
    let campaignID: Int64
    private let quiet = QuietBox()

    init(
        gateways: [Gateway], sms: [String], messages: Int, start: Date = Date(), quietHours: QuietHours? = nil,
        reconcile: String = "settle_min: 0.01, deadline_h: 0.001, interval_s: 0.1"
    ) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("pp-rig-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        clock = TestWallClock(start: start)
        quiet.value.withLock { $0 = quietHours }
        var started: [String: StubGateway] = [:]
        var entries = ""
        for gateway in gateways {
            let stub = StubGateway(
                configuration: StubConfiguration(kind: gateway.kind, faults: gateway.faults), pushClient: nil)
            let port = try stub.start()
            started[gateway.name] = stub
            let credentials =
                switch gateway.kind {
                case .aliyun: "credentials: { env: \"ALI\" },"
                case .tencent: "credentials: { env: \"TC\" }, options: { sdk_app_id: \"1400006666\" },"
                default: ""
                }
            entries += """
                \(gateway.name): { kind: "\(gateway.kind.rawValue)", base_url: "http://127.0.0.1:\(port)", \(credentials)
                  rate: \(gateway.rate), burst: 5, max_in_flight: 32, timeout_ms: \(gateway.timeoutMS), connect_timeout_ms: 500,
                  retry: { max_attempts: 6, base_ms: 10, max_ms: 50 }, \(gateway.extra) },

                """
        }
        stubs = started
        let file = directory + "/policypush.json5"
        try """
        { gateways: { \(entries) }, channels: { sms: [\(sms.map { "\"\($0)\"" }.joined(separator: ", "))] },
          reconcile: { \(reconcile) } }
        """.write(toFile: file, atomically: true, encoding: .utf8)
        configuration = try Configuration.load(file: file, environment: ["POLICYPUSH_STATE_DIR": directory])
        let path = directory + "/store.sqlite"
        store = try StoreWorker(path: path)
        writer = try GroupCommitWriter(path: path)
        let clock = self.clock
        delivery = try DeliveryService(configuration: configuration, environment: Self.environment, now: { clock.now })

        let spec = CampaignSpec(
            name: "rig", policyIDs: ["p"], channels: [.sms], fallback: false, startAt: start,
            campaignDate: "2026-12-03",
            policyVersions: [:], templateVersion: "t")
        let payload = Self.payload
        let at = start
        campaignID = try await store.run { store in
            let id = try store.createCampaign(spec)
            try store.applyCampaignState(id: id, .planning, at: at)
            try store.applyCampaignState(id: id, .running, at: at)
            try store.insertMessages(
                (0..<messages).map { n in
                    NewMessage(
                        campaignID: id, creditCode: String(format: "91350100M%09d", n), channel: .sms,
                        recipient: String(format: "139%08d", n), policyIDs: ["p"], payload: payload,
                        idempotencyKey: "rig-\(n)", notBefore: at)
                })
            return id
        }
    }

    /// A payload rendered for every SMS gateway kind.
    static let payload: [UInt8] = {
        let json = """
            {"aliyun":{"params":[{"key":"n","value":"3"}],"signName":"示例","templateCode":"SMS_1"},
             "sms":{"includedPolicies":1,"length":8,"segments":1,"text":"【示例】政策测试"},
             "tencent":{"params":["3"],"signName":"示例","templateID":"1"}}
            """
        // Decoded and encoded again, so the bytes are what the planner writes.
        return (try? MessagePayload.decode(Array(json.utf8)).encoded()) ?? []
    }()

    func setQuietHours(_ hours: QuietHours?) { quiet.value.withLock { $0 = hours } }

    func dispatcher(maxInFlight: Int = 64, storeBudget: Bool? = nil) -> OutboxDispatcher {
        var settings = OutboxDispatcher.Settings()
        settings.storeBudget = storeBudget
        settings.maxInFlight = maxInFlight
        settings.claimBatch = maxInFlight
        settings.idlePoll = .milliseconds(20)
        settings.unavailableDelay = 0.2
        let clock = self.clock
        let quiet = self.quiet
        return OutboxDispatcher(
            store: store, writer: writer, delivery: delivery, settings: settings, reconcile: configuration.reconcile,
            now: { clock.now }, quietHours: { quiet.value.withLock { $0 } })
    }

    func reconciler() -> Reconciler {
        let clock = self.clock
        return Reconciler(
            store: store, writer: writer, lookups: delivery.lookups, settings: configuration.reconcile,
            now: { clock.now })
    }

    func counts() async throws -> [MessageState: Int] {
        let id = campaignID
        return try await store.run { try $0.campaignCounts(id: id) }
    }

    func messages() async throws -> [(message: OutboxMessage, events: [MessageEvent])] {
        let id = campaignID
        return try await store.run { store in
            var all: [(OutboxMessage, [MessageEvent])] = []
            try store.forEachMessage(campaignID: id) { m, events in all.append((m, events ?? [])) }
            return all
        }
    }

    /// Polls every 20 ms until `condition` holds; records an issue and throws after `timeout`.
    func wait(_ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        let counts = try await self.counts()
        Issue.record("timed out waiting until \(what); counts \(counts)")
        throw CancellationError()
    }

    func close() async {
        await writer.flush()
        writer.close()
        await delivery.shutdown()
        store.close()
        for stub in stubs.values { await stub.stop() }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

final class QuietBox: Sendable {
    let value = Mutex<QuietHours?>(nil)
}

extension Dictionary where Key == MessageState, Value == Int {
    /// Messages dispatch or reconciliation still has to act on (neither final nor accepted).
    var open: Int { filter { !$0.key.isFinal && $0.key != .accepted }.values.reduce(0, +) }
}
