import Delivery
import Foundation
import GatewayStub
import Testing

@Suite(.timeLimit(.minutes(1))) struct GenericStubTests {
    let client = URLSessionClient()

    func send(
        _ base: String, key: String?, body: String = #"{"to":"13800138000","text":"hi"}"#, token: String? = nil
    )
        async throws -> HTTPResponse
    {
        var headers: HTTPHeaders = ["Content-Type": "application/json"]
        if let key { headers.add(name: "Idempotency-Key", value: "\"\(key)\"") }
        if let token { headers.add(name: "Authorization", value: "Bearer \(token)") }
        return try await client.send(
            HTTPRequest(method: .post, url: base + "/sms/send", headers: headers, body: Array(body.utf8)))
    }

    @Test func idempotencyKeyReplayMismatchAndMissing() async throws {
        try await withStub(StubConfiguration(kind: .generic)) { stub, base in
            let first = try await send(base, key: "k-1")
            #expect(first.status == 200)
            #expect(jsonObject(first)["code"] as? String == "OK")
            let id = jsonObject(first)["id"] as? String
            #expect(id != nil)
            let replay = try await send(base, key: "k-1")
            #expect(replay.status == 200)
            #expect(jsonObject(replay)["id"] as? String == id)
            #expect(try await send(base, key: "k-1", body: #"{"to":"13900139000"}"#).status == 422)
            #expect(try await send(base, key: nil).status == 400)
            let stats = stub.stats
            #expect(stats.accepted == 1)
            #expect(stats.deduplicated == 1)
            #expect(stats.acceptedIds == ["k-1"])
            #expect(stats.rejected == ["http:422": 1, "http:400": 1])
        }
    }

    @Test func inFlightDuplicateGets409() async throws {
        var configuration = StubConfiguration(kind: .generic)
        configuration.faults.latency = .milliseconds(300)
        try await withStub(configuration) { _, base in
            async let slow = send(base, key: "k-1")
            // The first request holds the key for 300 ms; the concurrent one arrives within it.
            let racing = try await send(base, key: "k-1")
            let first = try await slow
            #expect(Set([first.status, racing.status]) == [200, 409])
        }
    }

    @Test func bearerTokenIsChecked() async throws {
        let configuration = StubConfiguration(kind: .generic, credentials: StubCredentials(bearerToken: "s3cret"))
        try await withStub(configuration) { _, base in
            let refused = try await send(base, key: "k", token: "wrong")
            let allowed = try await send(base, key: "k", token: "s3cret")
            #expect(refused.status == 401)
            #expect(allowed.status == 200)
        }
    }

    @Test func statsEndpointServesJSONWithIds() async throws {
        try await withStub(StubConfiguration(kind: .generic)) { _, base in
            _ = try await send(base, key: "k-1")
            let plain = try await client.send(HTTPRequest(method: .get, url: base + "/_stub/stats"))
            let decoded = try JSONDecoder().decode(StubStats.self, from: Data(plain.body))
            #expect(decoded.accepted == 1)
            #expect(decoded.acceptedIds == nil)
            let withIDs = try await client.send(HTTPRequest(method: .get, url: base + "/_stub/stats?ids=1"))
            let object = jsonObject(withIDs)
            #expect(object["acceptedIds"] as? [String] == ["k-1"])
            #expect(object["duplicateSends"] as? [String] == [])
            #expect(object["receiptsPushed"] as? Int == 0)
        }
    }
}
