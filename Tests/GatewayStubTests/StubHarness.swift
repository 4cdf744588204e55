import Delivery
import Foundation
import GatewayStub
import Synchronization

/// A started stub gateway and a real libcurl transport, both torn down by ``withCurlStub(_:_:)``.
struct CurlStubRig {
    let stub: StubGateway
    /// `http://127.0.0.1:<port>`.
    let base: String
    let transport: CurlTransport
}

/// Starts a stub for `configuration`, runs `body` against it through a fresh `CurlTransport`,
/// then stops the stub (cancelling any answer it still holds back) and shuts the transport down.
func withCurlStub<T>(
    _ configuration: StubConfiguration, _ body: (CurlStubRig) async throws -> T
) async throws -> T {
    let transport = CurlTransport(configuration: .init())
    let stub = StubGateway(configuration: configuration, pushClient: nil)
    let port: Int
    do {
        port = try stub.start()
    } catch {
        await transport.shutdown()
        throw error
    }
    let rig = CurlStubRig(stub: stub, base: "http://127.0.0.1:\(port)", transport: transport)
    do {
        let result = try await body(rig)
        await stub.stop()
        await transport.shutdown()
        return result
    } catch {
        await stub.stop()
        await transport.shutdown()
        throw error
    }
}

/// A stub configuration whose every send meets `code` (`CODE` or `CODE|message`).
func stubAlways(_ kind: GatewayKind, _ code: String) -> StubConfiguration {
    StubConfiguration(kind: kind, faults: StubFaults(errorRates: [code: 1.0]))
}

/// The start of the UTC+8 period of `unit` seconds after the one holding `date` (minute, hour, day).
func nextChinaBoundary(after date: Date, unit: Int64) -> Date {
    let offset: Int64 = 8 * 3600
    let local = Int64(date.timeIntervalSince1970.rounded(.down)) + offset
    return Date(timeIntervalSince1970: TimeInterval((local / unit + 1) * unit - offset))
}

/// The first UTC+8 midnight of the month after the one holding `date`.
func nextChinaMonth(after date: Date) -> Date {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(secondsFromGMT: 8 * 3600) ?? .gmt
    let start = calendar.dateInterval(of: .month, for: date)?.start ?? date
    return calendar.date(byAdding: .month, value: 1, to: start) ?? date
}

/// A stub clock that runs with the system clock plus an offset tests can move forward
/// (a token issued "before" the jump is expired after it). Sleeping uses real time.
final class ShiftableStubClock: StubClock {
    private let offset = Mutex<TimeInterval>(0)

    func now() -> Date { Date().addingTimeInterval(offset.withLock { $0 }) }

    func sleep(until deadline: Date) async throws {
        let seconds = deadline.timeIntervalSince(now())
        if seconds > 0 { try await Task.sleep(for: .nanoseconds(Int64(seconds * 1e9))) }
    }

    /// Moves the stub's time forward by `seconds`.
    func advance(by seconds: TimeInterval) { offset.withLock { $0 += seconds } }
}

/// Bridges a gateway adapter to the dispatcher, as the engine does.
struct AdapterSender: MessageSender {
    let adapter: any GatewayAdapter
    let client: any HTTPClient

    nonisolated(nonsending) func send(_ message: OutboundMessage) async -> DeliveryOutcome {
        await adapter.send(message, using: client)
    }
}

/// The pollers' signers now live in Delivery; these names keep the tests short.
func aliyunV2QuerySigner(
    credentials: Credentials, regionID: String = "cn-hangzhou", clock: @escaping @Sendable () -> Date = { Date() }
) -> AliyunReceiptPoller.Signer {
    AliyunReceiptPoller.v2Signer(credentials: credentials, regionID: regionID, clock: clock)
}

func tencentTC3PollSigner(
    credentials: Credentials, clock: @escaping @Sendable () -> Date = { Date() }
) -> TencentReceiptPoller.Signer {
    TencentReceiptPoller.tc3Signer(credentials: credentials, clock: clock)
}
