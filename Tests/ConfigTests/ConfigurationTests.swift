import Config
import Foundation
import Registry
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    func load(_ text: String) throws -> Configuration {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pp-config-\(UUID().uuidString).json5")
            .path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try Configuration.load(file: path, environment: ["POLICYPUSH_STATE_DIR": "/tmp/pp-state"])
    }

    @Test func emptyFileGivesTheDocumentedDefaults() throws {
        let config = try load("{}")
        #expect(config.storePath == "/tmp/pp-state/policypush.sqlite")
        #expect(config.channelPreference == [.wechat, .sms])
        #expect(config.timeZone.identifier == "Asia/Shanghai")
        #expect(config.shards >= 1)
        #expect(config.gateways.isEmpty)
    }

    @Test func theShippedConfigIsValid() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let config = try Configuration.load(file: root.appendingPathComponent("config/policypush.json5").path)
        #expect(config.policiesDirectory.hasSuffix("config/policies"))
        #expect(config.customAttributes["export_share"] == .number)
    }

    @Test func theLandingRateLimitIsConfigurable() throws {
        let defaults = try load("{}").landing
        #expect(defaults.ratePerMinute == 30 && defaults.rateBurst == 10 && defaults.trustedProxies.isEmpty)
        let set = try load(
            #"{ landing: { rate_per_minute: 0, rate_burst: 3, trusted_proxies: ["127.0.0.1", "0:0::1"] } }"#
        ).landing
        #expect(set.ratePerMinute == 0 && set.rateBurst == 3 && set.trustedProxies == ["127.0.0.1", "::1"])
        let error = #expect(throws: ConfigurationError.self) {
            try load(#"{ landing: { rate_per_minute: -1, rate_burst: 0, trusted_proxies: ["proxy.local"] } }"#)
        }
        for expected in [
            "landing.rate_per_minute: expected an integer from 0 to 6000",
            "landing.rate_burst: expected an integer from 1 to 1000",
            "landing.trusted_proxies[0]: expected a numeric IPv4 or IPv6 address",
        ] {
            #expect(error?.description.contains(expected) == true, "missing: \(expected)")
        }
    }

    @Test func aNodesLeaseMustOutlastTwoHeartbeats() throws {
        let defaults = try load("{}").daemon
        #expect(defaults.heartbeat == .seconds(2) && defaults.nodeLease == .seconds(10))
        let set = try load("{ daemon: { heartbeat_s: 5, node_lease_s: 11 } }").daemon
        #expect(set.heartbeat == .seconds(5) && set.nodeLease == .seconds(11))
        let error = #expect(throws: ConfigurationError.self) {
            try load("{ daemon: { heartbeat_s: 5, node_lease_s: 10 } }")
        }
        #expect(error?.problems == ["daemon.node_lease_s: must be longer than twice daemon.heartbeat_s"])
        let bounds = #expect(throws: ConfigurationError.self) {
            try load("{ daemon: { heartbeat_s: 0, node_lease_s: 601 } }")
        }
        #expect(bounds?.problems.count == 2)
    }

    @Test func everyProblemIsReportedWithItsKeyPath() throws {
        let error = #expect(throws: ConfigurationError.self) {
            try load(
                """
                {
                  shardz: 4,
                  shards: 0,
                  time_zone: "Mars/Olympus",
                  attributes: { employees: "number", Bad: "number", score: "float" },
                  gateways: {
                    main: { kind: "aliyun", base_url: "ftp://x", rate: -1, colour: "red" },
                    other: { kind: "pigeon", base_url: "http://127.0.0.1:1" },
                  },
                  channels: { sms: ["main", "missing"] },
                }
                """)
        }
        let text = error?.description ?? ""
        for expected in [
            "shardz: unknown key", "shards: expected an integer from 1 to 1024", "time_zone: unknown time zone",
            "attributes.employees: is a built-in attribute", "attributes.Bad: names are lowercase",
            "attributes.score: expected", "gateways.main.base_url: expected an http",
            "gateways.main.rate: expected a number from 0 to 100000",
            "gateways.main.colour: unknown key", "gateways.other.kind: expected aliyun",
            "channels.sms[1]: no gateway named \"missing\"",
        ] {
            #expect(text.contains(expected), "missing: \(expected)\n\(text)")
        }
    }

    /// Foundation's JSON5 reader trapped on invalid UTF-8 in an unquoted key.
    @Test func invalidUTF8IsAProblemNotACrash() throws {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("pp-config-\(UUID().uuidString).json5").path
        let bytes = [UInt8(ascii: "{")] + [UInt8](repeating: 0xFF, count: 8) + Array(": 1}".utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: ConfigurationError.self) {
            try Configuration.load(file: path, environment: [:])
        }
        #expect(error?.problems == ["not valid JSON5: the file is not UTF-8"])
    }

    /// Foundation's JSONDecoder names no position; the JSON5 scanner does, in characters (UTF-8 bytes would say 23).
    @Test func syntaxErrorIsLocated() throws {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("pp-config-\(UUID().uuidString).json5").path
        try "{\n  // 朝阳\n  state_dir: \"税务\" x,\n}".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: ConfigurationError.self) {
            try Configuration.load(file: path, environment: [:])
        }
        #expect(error?.problems == ["not valid JSON5: line 3, column 19: expected ',' or '}'; found 'x'"])
    }

    /// Gateway numbers become Ints and millisecond Durations: 1e300 and 1e19 used to trap.
    @Test func hugeGatewayNumbersAreProblemsNotCrashes() throws {
        let error = #expect(throws: ConfigurationError.self) {
            try load(
                """
                { gateways: { a: {
                  kind: "aliyun", base_url: "http://127.0.0.1:1", burst: 1e300, timeout_ms: 1e300, weight: 1e19,
                  retry: { max_age_s: 1e300 }, recipient_limits: [{ limit: 1e300, per_s: 1 }, { limit: 1, per_s: 1e300 }],
                  options: { big: 1e19, infinite: Infinity, whole: 7 },
                } } }
                """)
        }
        let text = error?.description ?? ""
        for expected in [
            "gateways.a.burst: expected an integer from 1 to 100000",
            "gateways.a.timeout_ms: expected an integer from 100 to 600000",
            "gateways.a.weight: expected an integer from 1 to 1000",
            "gateways.a.retry.max_age_s: expected an integer from 1 to 2592000",
            "gateways.a.recipient_limits[0]: expected", "gateways.a.recipient_limits[1]: expected",
        ] {
            #expect(text.contains(expected), "missing: \(expected)\n\(text)")
        }
        #expect(!text.contains("options"), "\(text)")
    }

    @Test func credentialPathsMayStartWithSystemdDirectories() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pp-config-\(UUID().uuidString).json5")
            .path
        try
            #"{ gateways: { a: { kind: "aliyun", base_url: "http://127.0.0.1:1", credentials: { file: "$CREDENTIALS_DIRECTORY/aliyun.json" } } } }"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let config = try Configuration.load(
            file: path, environment: ["CREDENTIALS_DIRECTORY": "/run/credentials/policypush.service"])
        #expect(config.gateways.first?.credentials == .file("/run/credentials/policypush.service/aliyun.json"))
    }

    @Test func gatewaysAndChannelsAreRead() throws {
        let config = try load(
            """
            {
              gateways: {
                ali: { kind: "aliyun", base_url: "http://127.0.0.1:18081/", credentials: { env: "ALI" },
                       rate: 200, burst: 5, daily_cap: 1000, max_in_flight: 8, weight: 3,
                       retry: { max_attempts: 3, base_ms: 50 }, options: { region: "cn-hangzhou" },
                       recipient_limits: [{ limit: 10, per_s: 86400 }, { limit: 1, per_s: 60 }] },
              },
              channels: { sms: ["ali"] },
            }
            """)
        let g = try #require(config.gateways.first)
        #expect(g.kind == .aliyun)
        #expect(g.baseURL == "http://127.0.0.1:18081")
        #expect(g.credentials == .environment(prefix: "ALI"))
        #expect(g.rate == 200 && g.burst == 5 && g.dailyCap == 1000 && g.maxInFlight == 8 && g.weight == 3)
        #expect(g.retry.maxAttempts == 3 && g.retry.baseDelay == .milliseconds(50))
        #expect(g.options["region"] == "cn-hangzhou")
        #expect(g.recipientLimits?.map(\.limit) == [10, 1])
        #expect(g.recipientLimits?.map(\.period) == [.seconds(86400), .seconds(60)])
        #expect(config.channelGateways[.sms] == ["ali"])
    }

    /// Numbers that once trapped the daemon at start and on SIGHUP, and one that expired every
    /// accepted message: each is a problem at its key path now.
    @Test(arguments: [
        ("daily_cap: 1e300", "gateways.g.daily_cap: expected an integer from 0 to 100000000"),
        ("rate: 1e19", "gateways.g.rate: expected a number from 0 to 100000"),
        ("timeout_ms: 1e300", "gateways.g.timeout_ms: expected an integer from 100 to 600000"),
        ("burst: 2.5", "gateways.g.burst: expected an integer from 1 to 100000"),
        ("retry: { max_age_s: 1e18 }", "gateways.g.retry.max_age_s: expected an integer from 1 to 2592000"),
        ("breaker: { cool_down_ms: -5 }", "gateways.g.breaker.cool_down_ms: expected an integer from 1 to 3600000"),
        ("recipient_limits: [{ limit: 1e300, per_s: 60 }]", "gateways.g.recipient_limits[0]: expected"),
    ])
    func hostileGatewayNumbersAreProblemsNotTraps(_ setting: String, _ expected: String) {
        let error = #expect(throws: ConfigurationError.self) {
            try load("{ gateways: { g: { kind: \"generic\", base_url: \"http://127.0.0.1:1\", \(setting) } } }")
        }
        #expect(error?.description.contains(expected) == true, "\(error?.description ?? "")")
    }

    @Test(arguments: [
        ("daemon: { expire_after_h: 1e13 }", "daemon.expire_after_h: expected a number from 1 to 720"),
        ("daemon: { expire_after_h: -1 }", "daemon.expire_after_h: expected a number from 1 to 720"),
        ("daemon: { grace_s: 1e300 }", "daemon.grace_s: expected an integer from 1 to 3600"),
        ("daemon: { max_in_flight: 0 }", "daemon.max_in_flight: expected an integer from 1 to 10000"),
        ("planning: { dedupe_days: 1e16 }", "planning.dedupe_days: expected an integer from 0 to 3650"),
        (
            "planning: { frequency_caps: { sms: { max: 1e300, days: 7 } } }",
            "planning.frequency_caps.sms.max: expected an integer"
        ),
        ("transport: { max_response_bytes: 1e300 }", "transport.max_response_bytes: expected an integer"),
        ("reconcile: { settle_min: 1e300 }", "reconcile.settle_min: expected a number of minutes"),
        ("shards: 1e300", "shards: expected an integer from 1 to 1024"),
    ])
    func hostileDaemonNumbersAreProblemsNotTraps(_ setting: String, _ expected: String) {
        let error = #expect(throws: ConfigurationError.self) { try load("{ \(setting) }") }
        #expect(error?.description.contains(expected) == true, "\(error?.description ?? "")")
    }
}
