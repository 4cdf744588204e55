import Config
import Delivery
import Foundation
import Testing

/// A client that must not be used: building an adapter sends nothing.
private struct UnusedClient: HTTPClient {
    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        Issue.record("unexpected request to \(request.url)")
        return HTTPResponse(status: 500)
    }
}

@Suite struct GatewayFactoryTests {
    func generic(options: [String: String]) -> GatewaySettings {
        var settings = GatewaySettings.defaults(name: "gen", kind: .generic)
        settings.baseURL = "http://127.0.0.1:1"
        settings.options = options
        return settings
    }

    @Test(arguments: [(nil, true), ("true", true), ("false", false)] as [(String?, Bool)])
    func genericDeduplicatesOption(value: String?, expected: Bool) throws {
        let options = value.map { ["deduplicates": $0] } ?? [:]
        let built = try GatewayFactory.build(generic(options: options), client: UnusedClient(), environment: [:])
        #expect(built.adapter.deduplicates == expected)
        let adapter = try #require(built.adapter as? GenericJSONAdapter)
        let request = try adapter.request(for: OutboundMessage(id: "m-1", recipient: "13800000000"), at: Date())
        #expect(request.allowsTransportResend == expected)
    }

    @Test func genericDeduplicatesOptionMustBeABoolean() {
        let error = #expect(throws: ConfigurationError.self) {
            try GatewayFactory.build(
                generic(options: ["deduplicates": "sometimes"]), client: UnusedClient(), environment: [:])
        }
        #expect(error?.problems == ["gateways.gen.options.deduplicates: expected true or false"])
    }
}
