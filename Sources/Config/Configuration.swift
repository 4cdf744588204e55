import Delivery
import Foundation
import Kit
import Registry

/// The daemon's and the CLI's settings, read from `policypush.json5`.
///
/// Every key has a documented default, so an empty file (or none at all) is a valid
/// configuration. Relative paths are resolved against the directory of the config file.
public struct Configuration: Sendable {
    /// Where the config was read from, or `nil` for the embedded defaults.
    public var file: String?
    /// Directory for the store and other state. Default: `$POLICYPUSH_STATE_DIR`, then systemd's
    /// `$STATE_DIRECTORY`, then `$XDG_STATE_HOME/policypush`, then `~/.local/state/policypush`.
    public var stateDirectory: String
    /// SQLite store. Default: `<stateDirectory>/policypush.sqlite`.
    public var storePath: String
    /// A PostgreSQL store shared by several daemons (`store.url`, `store.password_file`; default
    /// `$POLICYPUSH_STORE_URL` when the file sets neither `store.url` nor `store.path`); `nil` for
    /// the SQLite store at ``storePath``.
    public var storeConnection: StoreConnection?
    /// Policy profiles. Default: `policies/` beside the config file.
    public var policiesDirectory: String
    /// Message templates. Default: `templates/` beside the config file's directory.
    public var templatesDirectory: String
    /// Number of `EnterpriseShard` actors; default: the number of cores.
    public var shards: Int
    /// Custom attributes that rules and templates may use, with their types.
    public var customAttributes: [String: AttributeType]
    /// Channel preference when an enterprise can be reached on several (default: WeChat, then SMS).
    public var channelPreference: [Channel]
    /// Time zone of the campaign date (`--on`, validity windows) and quiet hours.
    public var timeZone: TimeZone
    /// Configured gateways, by name.
    public var gateways: [GatewaySettings]
    /// Gateway names per channel, in failover order.
    public var channelGateways: [Channel: [String]]
    /// Address of the receipts (and metrics) listener, `host:port`; `nil` when not configured.
    public var receiptsListen: (host: String, port: Int)?
    /// How long a receipt that matches no message is kept for a message not yet acknowledged
    /// (`receipts.unmatched_ttl_min`, default 60 minutes), and how many are kept at most
    /// (`receipts.unmatched_max`, default 100,000): the rest is noise, or planted.
    public var unmatchedReceiptTTL: TimeInterval = 3600
    public var unmatchedReceiptMax = 100_000
    /// The receipts listener's limits (`receipts.max_connections`, `receipts.per_address_connections`,
    /// `receipts.idle_timeout_s`): 1024, 32 (0 = none; behind a reverse proxy every client is one
    /// address) and 10 s by default.
    public var receiptsMaxConnections = 1024
    public var receiptsPerAddressConnections = 32
    public var receiptsIdleTimeoutSeconds = 10
    /// The HTTP client's settings (`transport` in the file): connections per host, CA bundle,
    /// proxy, response cap, TLS verification, HTTP/2.
    public var transport: CurlTransport.Configuration
    /// Quiet hours, frequency caps and de-duplication for campaign planning (`planning`).
    public var planning: PlanningPolicy
    /// The daemon's own settings (`daemon`).
    public var daemon: DaemonSettings
    /// Settling ambiguous sends and missing receipts with the providers (`reconcile`).
    public var reconcile: ReconcileSettings
    /// Four-eyes approval of campaigns (`approval`).
    public var approval = ApprovalSettings()
    /// The package landing page and its link tokens (`landing`).
    public var landing = LandingSettings()

    public var schema: AttributeSchema { AttributeSchema(custom: customAttributes) }

    /// What `Store.open(url:)` opens: the PostgreSQL connection, else the SQLite path.
    public var storeLocation: String { storeConnection?.location ?? storePath }

    /// The config file used when none is named: `$POLICYPUSH_CONFIG`, else `config/policypush.json5`
    /// under the current directory, else `/etc/policypush/policypush.json5`.
    public static func defaultFile(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let path = environment["POLICYPUSH_CONFIG"], !path.isEmpty { return path }
        if let dir = environment["CONFIGURATION_DIRECTORY"], !dir.isEmpty {
            let path = dir + "/policypush.json5"
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        for candidate in ["config/policypush.json5", "/etc/policypush/policypush.json5"]
        where FileManager.default.fileExists(atPath: candidate) {
            return candidate
        }
        return nil
    }

    /// Reads and validates a configuration.
    ///
    /// - Throws: `ConfigurationError` listing every problem with its key path.
    public static func load(
        file: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> Configuration {
        var raw: [String: JSONValue] = [:]
        var base = FileManager.default.currentDirectoryPath
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ConfigurationError(file: file, problems: ["cannot read the file"])
            }
            // Foundation's JSON5 reader traps on invalid UTF-8 in an unquoted key (swift-foundation 6.3).
            guard String(data: data, encoding: .utf8) != nil else {
                throw ConfigurationError(file: file, problems: ["not valid JSON5: the file is not UTF-8"])
            }
            do {
                guard case .object(let object) = try JSONDecoder.json5(JSONValue.self, from: data)
                else { throw ConfigurationError(file: file, problems: ["the top level must be an object"]) }
                raw = object
            } catch let error as ConfigurationError {
                throw error
            } catch {
                throw ConfigurationError(
                    file: file, problems: ["not valid JSON5: \(JSON5Locator.describe(error, in: data))"])
            }
            base = (URL(fileURLWithPath: file).deletingLastPathComponent().path)
        }
        var reader = KeyReader(raw: raw)
        var config = Configuration(
            file: file,
            stateDirectory: "",
            storePath: "",
            policiesDirectory: "",
            templatesDirectory: "",
            shards: max(1, ProcessInfo.processInfo.activeProcessorCount),
            customAttributes: [:],
            channelPreference: [.wechat, .sms],
            timeZone: TimeZone(identifier: "Asia/Shanghai")!,
            gateways: [],
            channelGateways: [:],
            receiptsListen: nil,
            transport: CurlTransport.Configuration(),
            planning: PlanningPolicy(),
            daemon: DaemonSettings(),
            reconcile: ReconcileSettings()
        )
        // `$CREDENTIALS_DIRECTORY` (systemd's LoadCredential=) and `$STATE_DIRECTORY` may start a path.
        func resolve(_ path: String) -> String {
            var path = path
            for variable in ["CREDENTIALS_DIRECTORY", "STATE_DIRECTORY", "CONFIGURATION_DIRECTORY"] {
                for form in ["${\(variable)}", "$\(variable)"] where path.hasPrefix(form) {
                    if let value = environment[variable]?.split(separator: ":").first {
                        path = String(value) + path.dropFirst(form.count)
                    }
                }
            }
            return path.hasPrefix("/")
                ? path : URL(fileURLWithPath: base).appendingPathComponent(path).standardizedFileURL.path
        }
        let defaultState: String = {
            if let dir = environment["POLICYPUSH_STATE_DIR"], !dir.isEmpty { return dir }
            if let dir = environment["STATE_DIRECTORY"], !dir.isEmpty {
                return dir.split(separator: ":").first.map(String.init) ?? dir
            }
            if let dir = environment["XDG_STATE_HOME"], !dir.isEmpty { return dir + "/policypush" }
            let home = environment["HOME"] ?? NSHomeDirectory()
            return home + "/.local/state/policypush"
        }()
        config.stateDirectory = reader.string("state_dir").map(resolve) ?? defaultState
        config.storePath =
            reader.string("store.path").map { path in
                path.hasPrefix("/") ? path : config.stateDirectory + "/" + path
            } ?? config.stateDirectory + "/policypush.sqlite"
        let environmentURL = reader.has("store.path") ? nil : environment["POLICYPUSH_STORE_URL"]
        config.storeConnection = reader.storeConnection(environment: environmentURL, resolve: resolve)
        config.policiesDirectory = resolve(reader.string("policies_dir") ?? "policies")
        config.templatesDirectory = resolve(reader.string("templates_dir") ?? "../templates")
        if let shards = reader.number("shards", in: 1...1024, integer: true) { config.shards = Int(shards) }
        if let zone = reader.string("time_zone") {
            if let tz = TimeZone(identifier: zone) {
                config.timeZone = tz
            } else {
                reader.problem("time_zone", "unknown time zone '\(zone)'")
            }
        }
        if let channels = reader.stringArray("channels.preference") {
            var parsed: [Channel] = []
            for (i, name) in channels.enumerated() {
                if let channel = Channel(rawValue: name) {
                    parsed.append(channel)
                } else {
                    reader.problem("channels.preference[\(i)]", "expected \"wechat\" or \"sms\", got \"\(name)\"")
                }
            }
            if !parsed.isEmpty { config.channelPreference = parsed }
        }
        config.gateways = reader.gateways().map { g in
            var g = g
            if case .file(let path) = g.credentials { g.credentials = .file(resolve(path)) }
            if case .file(let path) = g.receiptToken { g.receiptToken = .file(resolve(path)) }
            return g
        }
        if let n = reader.number("transport.max_connections_per_host", in: 1...10_000, integer: true) {
            config.transport.maxConnectionsPerHost = Int(n)
        }
        if let n = reader.number("transport.max_connections", in: 1...10_000, integer: true) {
            config.transport.maxConnections = Int(n)
        }
        if let path = reader.string("transport.ca_bundle") { config.transport.caBundlePath = resolve(path) }
        if let proxy = reader.string("transport.proxy") { config.transport.proxy = proxy }
        if let n = reader.number("transport.max_response_bytes", in: 1024...104_857_600, integer: true) {
            config.transport.maxResponseBytes = Int(n)
        }
        if let verify = reader.bool("transport.verify_tls") { config.transport.verifyTLS = verify }
        if let h2 = reader.bool("transport.http2") { config.transport.allowHTTP2 = h2 }
        for problem in config.transport.validate() { reader.problem("transport", problem) }
        config.planning.quietHours.timeZone = config.timeZone
        for (key, keyPath) in [("start", \QuietHours.opensAt), ("end", \QuietHours.closesAt)] {
            if let text = reader.string("planning.quiet_hours.\(key)") {
                if let minutes = QuietHours.minutes(text) {
                    config.planning.quietHours[keyPath: keyPath] = minutes
                } else {
                    reader.problem("planning.quiet_hours.\(key)", "expected HH:MM, got \"\(text)\"")
                }
            }
        }
        for channel in Channel.allCases {
            let path = "planning.frequency_caps.\(channel.rawValue)"
            let present = [reader.has("\(path).max"), reader.has("\(path).days")]
            let max = reader.number("\(path).max", in: 1...1000, integer: true)
            let days = reader.number("\(path).days", in: 1...3650, integer: true)
            if let max, let days {
                config.planning.frequencyCaps[channel] = .init(max: Int(max), days: Int(days))
            } else if present == [true, false] || present == [false, true] {
                reader.problem(path, "give both max and days")
            }
            if reader.bool("\(path).off") == true { config.planning.frequencyCaps[channel] = nil }
        }
        if let days = reader.number("planning.dedupe_days", in: 0...3650, integer: true) {
            config.planning.dedupeDays = Int(days)
        }
        if let required = reader.bool("approval.required") { config.approval.required = required }
        if let s = reader.number("daemon.grace_s", in: 1...3600, integer: true) {
            config.daemon.grace = .seconds(Int64(s))
        }
        if let h = reader.number("daemon.expire_after_h", in: 1...720) { config.daemon.expireAfter = h * 3600 }
        if let n = reader.number("daemon.max_in_flight", in: 1...10_000, integer: true) {
            config.daemon.maxInFlight = Int(n)
        }
        if let n = reader.number("daemon.claim_batch", in: 1...10_000, integer: true) {
            config.daemon.claimBatch = Int(n)
        }
        if let s = reader.number("daemon.heartbeat_s", in: 1...60, integer: true) {
            config.daemon.heartbeat = .seconds(Int64(s))
        }
        if let s = reader.number("daemon.node_lease_s", in: 3...600, integer: true) {
            config.daemon.nodeLease = .seconds(Int64(s))
        }
        if config.daemon.nodeLease <= config.daemon.heartbeat * 2 {
            reader.problem("daemon.node_lease_s", "must be longer than twice daemon.heartbeat_s")
        }
        func minutes(_ key: String, _ range: ClosedRange<Double>, _ apply: (TimeInterval) -> Void) {
            guard let value = reader.double(key) else { return }
            if value.isFinite, range.contains(value) {
                apply(value * 60)
            } else {
                reader.problem(
                    key,
                    "expected a number of minutes from \(range.lowerBound.formatted()) to \(range.upperBound.formatted())"
                )
            }
        }
        minutes("reconcile.settle_min", 0.01...1440) { config.reconcile.settle = $0 }
        minutes("reconcile.receipt_check_min", 0.01...1440) { config.reconcile.receiptCheck = $0 }
        if let hours = reader.double("reconcile.deadline_h") {
            if hours.isFinite, (0.0001...720).contains(hours) {
                config.reconcile.deadline = hours * 3600
            } else {
                reader.problem("reconcile.deadline_h", "expected a number of hours from 0.0001 to 720")
            }
        }
        if let seconds = reader.double("reconcile.interval_s") {
            if seconds.isFinite, (0.05...3600).contains(seconds) {
                config.reconcile.interval = .milliseconds(Int64(seconds * 1000))
            } else {
                reader.problem("reconcile.interval_s", "expected a number of seconds from 0.05 to 3600")
            }
        }
        if config.reconcile.deadline < config.reconcile.settle {
            reader.problem("reconcile.deadline_h", "must be longer than reconcile.settle_min")
        }
        minutes("receipts.unmatched_ttl_min", 1...10_080) { config.unmatchedReceiptTTL = $0 }
        if let n = reader.number("receipts.unmatched_max", in: 0...10_000_000, integer: true) {
            config.unmatchedReceiptMax = Int(n)
        }
        if let n = reader.number("receipts.max_connections", in: 16...65_536, integer: true) {
            config.receiptsMaxConnections = Int(n)
        }
        if let n = reader.number("receipts.per_address_connections", in: 0...65_536, integer: true) {
            config.receiptsPerAddressConnections = Int(n)
        }
        if let n = reader.number("receipts.idle_timeout_s", in: 1...600, integer: true) {
            config.receiptsIdleTimeoutSeconds = Int(n)
        }
        if let path = reader.string("landing.secret_file") {
            config.landing.secretFile = resolve(path)
            config.landing.secretFileConfigured = true
        } else {
            config.landing.secretFile = config.stateDirectory + "/landing.secret"
        }
        if let n = reader.number("landing.ttl_days", in: 1...3650, integer: true) { config.landing.ttlDays = Int(n) }
        if let n = reader.number("landing.rate_per_minute", in: 0...6000, integer: true) {
            config.landing.ratePerMinute = Int(n)
        }
        if let n = reader.number("landing.rate_burst", in: 1...1000, integer: true) {
            config.landing.rateBurst = Int(n)
        }
        if let proxies = reader.stringArray("landing.trusted_proxies") {
            var canonical: [String] = []
            for (i, proxy) in proxies.enumerated() {
                guard let address = LandingSettings.canonicalAddress(proxy) else {
                    reader.problem("landing.trusted_proxies[\(i)]", "expected a numeric IPv4 or IPv6 address")
                    continue
                }
                canonical.append(address)
            }
            config.landing.trustedProxies = canonical
        }
        if let listen = reader.string("landing.listen") {
            let parts = listen.split(separator: ":")
            if parts.count == 2, let port = Int(parts[1]), (0...65535).contains(port) {
                config.landing.listen = (String(parts[0]), port)
            } else {
                reader.problem("landing.listen", "expected host:port, e.g. 127.0.0.1:18091")
            }
        }
        if let listen = reader.string("receipts.listen") {
            let parts = listen.split(separator: ":")
            if parts.count == 2, let port = Int(parts[1]), (0...65535).contains(port) {
                config.receiptsListen = (String(parts[0]), port)
            } else {
                reader.problem("receipts.listen", "expected host:port, e.g. 127.0.0.1:18090")
            }
        }
        for channel in Channel.allCases {
            guard let names = reader.stringArray("channels.\(channel.rawValue)") else { continue }
            for (i, name) in names.enumerated() where !config.gateways.contains(where: { $0.name == name }) {
                reader.problem("channels.\(channel.rawValue)[\(i)]", "no gateway named \"\(name)\" in gateways")
            }
            config.channelGateways[channel] = names
        }
        if let attributes = reader.object("attributes") {
            for (name, value) in attributes {
                guard case .string(let text) = value, let type = AttributeType(rawValue: text) else {
                    reader.problem("attributes.\(name)", "expected \"string\", \"number\", \"bool\" or \"date\"")
                    continue
                }
                if AttributeSchema.builtins.contains(where: { $0.name == name })
                    || AttributeSchema.identityColumns.contains(name)
                {
                    reader.problem("attributes.\(name)", "is a built-in attribute")
                } else if name.range(of: "^[a-z][a-z0-9_]*$", options: .regularExpression) == nil {
                    reader.problem("attributes.\(name)", "names are lowercase letters, digits and _")
                } else {
                    config.customAttributes[name] = type
                }
            }
        }
        if let problems = reader.finish(), !problems.isEmpty {
            throw ConfigurationError(file: file ?? "(defaults)", problems: problems)
        }
        return config
    }
}

/// Problems in a config file, each with its key path.
public struct ConfigurationError: Error, CustomStringConvertible {
    public var file: String
    public var problems: [String]

    public init(file: String, problems: [String]) {
        self.file = file
        self.problems = problems
    }

    public var description: String { problems.map { "\(file): \($0)" }.joined(separator: "\n") }
}

/// Reads typed values by dotted key path and remembers problems and unknown keys.
struct KeyReader {
    let raw: [String: JSONValue]
    private var problems: [String] = []
    private var seen: Set<String> = []

    init(raw: [String: JSONValue]) { self.raw = raw }

    mutating func problem(_ path: String, _ message: String) { problems.append("\(path): \(message)") }

    /// Whether `path` is present (without marking it read).
    func has(_ path: String) -> Bool {
        var node: JSONValue? = .object(raw)
        for part in path.split(separator: ".") {
            guard case .object(let o)? = node else { return false }
            node = o[String(part)]
        }
        if case .null? = node { return false }
        return node != nil
    }

    private mutating func value(_ path: String) -> JSONValue? {
        seen.insert(path)
        var node: JSONValue? = .object(raw)
        for part in path.split(separator: ".") {
            seen.insert(String(path[..<(part.endIndex)]))
            guard case .object(let o)? = node else { return nil }
            node = o[String(part)]
        }
        if case .null? = node { return nil }
        return node
    }

    mutating func string(_ path: String) -> String? {
        guard let v = value(path) else { return nil }
        if case .string(let s) = v { return s }
        problem(path, "expected a string")
        return nil
    }

    mutating func int(_ path: String) -> Int? {
        guard let v = value(path) else { return nil }
        if case .number(let n) = v, n == n.rounded(), abs(n) < 1e15 { return Int(n) }
        problem(path, "expected an integer")
        return nil
    }

    /// A number within `range` (an integer when `integer`), checked before anything computes with
    /// it: outside the range is a problem at `path`, never a trap.
    mutating func number(_ path: String, in range: ClosedRange<Double>, integer: Bool = false) -> Double? {
        guard let v = value(path) else { return nil }
        guard case .number(let n) = v, n.isFinite, range.contains(n), !integer || n == n.rounded() else {
            let kind = integer ? "an integer" : "a number"
            problem(path, "expected \(kind) from \(Self.format(range.lowerBound)) to \(Self.format(range.upperBound))")
            return nil
        }
        return n
    }

    /// `range`'s bound as written in config: `1000000`, `0.5`.
    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    mutating func double(_ path: String) -> Double? {
        guard let v = value(path) else { return nil }
        if case .number(let n) = v { return n }
        problem(path, "expected a number")
        return nil
    }

    mutating func bool(_ path: String) -> Bool? {
        guard let v = value(path) else { return nil }
        if case .bool(let b) = v { return b }
        problem(path, "expected true or false")
        return nil
    }

    mutating func stringArray(_ path: String) -> [String]? {
        guard let v = value(path) else { return nil }
        if case .array(let a) = v {
            let strings = a.compactMap { if case .string(let s) = $0 { s } else { nil } }
            if strings.count == a.count { return strings }
        }
        problem(path, "expected an array of strings")
        return nil
    }

    mutating func array(_ path: String) -> [JSONValue]? {
        guard let v = value(path) else { return nil }
        if case .array(let a) = v { return a }
        problem(path, "expected an array")
        return nil
    }

    mutating func object(_ path: String) -> [String: JSONValue]? {
        guard let v = value(path) else { return nil }
        if case .object(let o) = v { return o }
        problem(path, "expected an object")
        return nil
    }

    /// `store.url` and `store.password_file`, or `environmentURL` when the file has no `store.url`.
    mutating func storeConnection(environment environmentURL: String?, resolve: (String) -> String) -> StoreConnection?
    {
        let fromFile = string("store.url")
        let passwordFile = string("store.password_file")
        if fromFile != nil, has("store.path") {
            problem("store", "give store.url (PostgreSQL) or store.path (SQLite), not both")
        }
        let key = fromFile != nil ? "store.url" : "store.url (from $POLICYPUSH_STORE_URL)"
        guard let url = fromFile ?? environmentURL.flatMap({ $0.isEmpty ? nil : $0 }) else {
            if passwordFile != nil { problem("store.password_file", "only used with store.url") }
            return nil
        }
        if let reason = StoreConnection.problem(url) {
            problem(key, reason)
            return nil
        }
        return StoreConnection(url: url.trimmingCharacters(in: .whitespaces), passwordFile: passwordFile.map(resolve))
    }

    /// All problems, including keys nobody asked for (typos).
    mutating func finish() -> [String]? {
        func walk(_ node: [String: JSONValue], prefix: String) {
            for key in node.keys.sorted() {
                let path = prefix.isEmpty ? key : prefix + "." + key
                if seen.contains(path) {
                    if case .object(let child)? = node[key], !isLeafObject(path) { walk(child, prefix: path) }
                } else {
                    problems.append("\(path): unknown key")
                }
            }
        }
        walk(raw, prefix: "")
        return problems
    }

    /// Objects whose keys are data (names), not settings.
    private func isLeafObject(_ path: String) -> Bool {
        path == "attributes" || (path.hasPrefix("gateways.") && path.hasSuffix(".options"))
    }
}
