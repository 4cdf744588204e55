import Delivery
import Foundation
import GatewayStub
import Testing

@Suite(.timeLimit(.minutes(1))) struct FaultTests {
    let client = URLSessionClient()

    func generic(_ base: String, key: String, timeout: Duration = .seconds(5)) async throws -> HTTPResponse {
        try await client.send(
            HTTPRequest(
                method: .post, url: base + "/sms/send",
                headers: ["Content-Type": "application/json", "Idempotency-Key": "\"\(key)\""],
                body: Array(#"{"to":"13800138000"}"#.utf8), timeout: timeout))
    }

    @Test func errorRateProducesTheProviderCode() async throws {
        let aliyun = StubConfiguration(kind: .aliyun, faults: StubFaults(errorRates: ["isv.BUSINESS_LIMIT_CONTROL": 1]))
        try await withStub(aliyun) { stub, base in
            let params = AliyunSigner.params(AliyunStubTests.sms("m-1"))
            let response = try await client.send(
                HTTPRequest(method: .get, url: base + "/?" + AliyunSigner.query(params)))
            #expect(response.status == 200)
            #expect(jsonObject(response)["Code"] as? String == "isv.BUSINESS_LIMIT_CONTROL")
            #expect(jsonObject(response)["Message"] as? String == "触发分钟级流控Permits:1")
            #expect(stub.stats.rejected == ["isv.BUSINESS_LIMIT_CONTROL": 1])
            #expect(stub.stats.accepted == 0)
        }
        let wechat = StubConfiguration(kind: .wechat, faults: StubFaults(errorRates: ["45009": 1]))
        try await withStub(wechat) { _, base in
            let token = try await WeChatStubTests().classicToken(base)
            #expect(try await WeChatStubTests().send(base, token: token)["errcode"] as? Int == 45009)
        }
        let failing = StubConfiguration(kind: .generic, faults: StubFaults(errorRates: ["http:503": 1]))
        try await withStub(failing) { stub, base in
            let response = try await generic(base, key: "k")
            #expect(response.status == 503)
            #expect(stub.stats.rejected == ["http:503": 1])
        }
    }

    @Test func errorRatesAreDeterministicForASeed() async throws {
        func run() async throws -> [Int] {
            let configuration = StubConfiguration(
                kind: .generic, faults: StubFaults(seed: 42, errorRates: ["http:500": 0.5]))
            return try await withStub(configuration) { _, base in
                var statuses: [Int] = []
                for index in 0..<20 { statuses.append(try await generic(base, key: "k\(index)").status) }
                return statuses
            }
        }
        let first = try await run()
        #expect(first.contains(500) && first.contains(200))
        #expect(try await run() == first)
    }

    @Test func rateLimitAnswersRetryAfterInBothForms() async throws {
        let seconds = StubConfiguration(kind: .generic, faults: StubFaults(rateLimitRate: 1, retryAfter: .seconds(7)))
        try await withStub(seconds) { stub, base in
            let response = try await generic(base, key: "k")
            #expect(response.status == 429)
            #expect(response.headers.first(name: "retry-after") == "7")
            #expect(stub.stats.rejected == ["429": 1])
        }
        let date = StubConfiguration(
            kind: .generic, faults: StubFaults(rateLimitRate: 1, retryAfter: .httpDate(secondsFromNow: 120)))
        try await withStub(date) { _, base in
            let response = try await generic(base, key: "k")
            let value = response.headers.first(name: "retry-after") ?? ""
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
            let parsed = try #require(formatter.date(from: value))
            #expect(abs(parsed.timeIntervalSinceNow - 120) < 5)
        }
    }

    @Test func resetClosesTheConnectionWithoutAnswer() async throws {
        let configuration = StubConfiguration(kind: .generic, faults: StubFaults(resetRate: 1))
        try await withStub(configuration) { stub, base in
            await #expect(throws: TransportError.self) { try await generic(base, key: "k") }
            #expect(stub.stats.rejected == ["reset": 1])
            #expect(stub.stats.accepted == 0)
        }
    }

    @Test func timeoutModeCountsTheSendButAnswersTooLate() async throws {
        let configuration = StubConfiguration(
            kind: .generic, faults: StubFaults(timeoutRate: 1, timeoutDelay: .seconds(20)))
        try await withStub(configuration) { stub, base in
            do {
                _ = try await generic(base, key: "k", timeout: .seconds(2))
                Issue.record("the stub answered in time")
            } catch let error as TransportError {
                #expect(error.code == .timeoutAfterSend)
            }
            #expect(stub.stats.accepted == 1)
            #expect(stub.stats.acceptedIds == ["k"])
        }
    }

    @Test func slowModeDeliversWhatTheClientGaveUpOn() async throws {
        var configuration = StubConfiguration(
            kind: .aliyun,
            faults: StubFaults(slowDeliveredRate: 1, slowDelay: .seconds(20)))
        configuration.receipts.failureRate = 1
        try await withStub(configuration) { stub, base in
            let params = AliyunSigner.params(AliyunStubTests.sms("m-1"))
            await #expect(throws: TransportError.self) {
                try await client.send(
                    HTTPRequest(
                        method: .get, url: base + "/?" + AliyunSigner.query(params), timeout: .seconds(2)))
            }
            #expect(stub.stats.accepted == 1)
            #expect(stub.stats.delivered == 1)
            #expect(stub.stats.failed == 0)
        }
    }

    @Test func parseOptionsReadsTheCommandLine() throws {
        let configuration = try StubGateway.parseOptions([
            "--kind", "aliyun", "--port", "18081", "--error-rate", "isv.BUSINESS_LIMIT_CONTROL=0.1",
            "--error-rate", "http:503=0.2", "--latency-ms", "5", "--receipts-url", "http://127.0.0.1:9/r",
            "--receipt-delay-ms", "100", "--duplicate-rate", "0.1", "--loss-rate", "0.05", "--retry-after-date", "30",
            "--reorder", "--time-scale", "0.01",
        ])
        #expect(configuration.kind == .aliyun)
        #expect(configuration.port == 18081)
        #expect(configuration.faults.errorRates == ["isv.BUSINESS_LIMIT_CONTROL": 0.1, "http:503": 0.2])
        #expect(configuration.faults.latency == .milliseconds(5))
        #expect(configuration.faults.retryAfter == .httpDate(secondsFromNow: 30))
        #expect(configuration.receipts.url == "http://127.0.0.1:9/r")
        #expect(configuration.receipts.delay == .milliseconds(100))
        #expect(configuration.receipts.duplicateRate == 0.1)
        #expect(configuration.receipts.lossRate == 0.05)
        #expect(configuration.receipts.reorder)
        #expect(configuration.timeScale == 0.01)
        #expect(throws: StubError.self) { try StubGateway.parseOptions(["--kind", "aliyun", "--bogus"]) }
        #expect(throws: StubError.self) { try StubGateway.parseOptions(["--port", "1"]) }
        #expect(throws: StubError.self) { try StubGateway.parseOptions(["--kind", "generic", "--loss-rate", "2"]) }
        #expect(StubGateway.optionsHelp.contains("--receipts-url"))
    }

    @Test func credentialsFileOverridesOnlyTheKeysItNames() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("stub-credentials-\(UUID()).json")
        try Data(#"{"accessKeyId":"LTAIfile","bearerToken":"t0k"}"#.utf8).write(to: path)
        defer { try? FileManager.default.removeItem(at: path) }
        let configuration = try StubGateway.parseOptions(["--kind", "generic", "--credentials", path.path])
        #expect(configuration.credentials.accessKeyId == "LTAIfile")
        #expect(configuration.credentials.accessKeySecret == "testSecret")
        #expect(configuration.credentials.bearerToken == "t0k")
        #expect(throws: StubError.self) {
            try StubGateway.parseOptions(["--kind", "generic", "--credentials", path.path + ".missing"])
        }
    }
}
