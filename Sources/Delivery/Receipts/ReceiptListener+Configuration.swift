import HTTPServer

extension ReceiptListener {
    /// How a push proves it comes from the provider.
    ///
    /// Aliyun and Tencent sign nothing: give them a long random token in the path (the URL is
    /// entered in their console) and, where possible, an IP allowlist in front. WeChat signs
    /// every request with the console token.
    public enum Authentication: Sendable, Hashable {
        /// A secret last path segment: `POST /receipts/{gateway}/{token}`.
        case pathToken(String)
        /// A secret header (``Configuration/tokenHeader``) on `POST /receipts/{gateway}`.
        case headerToken(String)
        /// WeChat's query signature with the console `token`; timestamps further than `maxAge` from
        /// now are refused (nil turns the window off).
        case wechatSignature(token: String, maxAge: Duration? = WeChatReceiptParser.defaultMaxAge)
    }

    /// One receipt endpoint, named in the path.
    public struct Gateway: Sendable, Hashable {
        /// The push format.
        public var kind: GatewayKind
        /// How pushes authenticate.
        public var authentication: Authentication

        public init(kind: GatewayKind, authentication: Authentication) {
            self.kind = kind
            self.authentication = authentication
        }
    }

    /// Where the listener binds and which gateways it serves.
    public struct Configuration: Sendable {
        /// The HTTP server's address and limits; `maxBodyBytes` (default 1 MiB) is the largest push accepted.
        public var server: HTTPServer.Configuration
        /// Endpoints by gateway name (`/receipts/{name}`).
        public var gateways: [String: Gateway]
        /// The header carrying a ``Authentication/headerToken(_:)``. Default `X-PolicyPush-Token`.
        public var tokenHeader: String
        /// How many recent dedupe keys are remembered to recognise re-pushes. Default 100,000.
        public var dedupeCapacity: Int
        /// Most receipts accepted in one push, whatever the provider; more is refused with `413`.
        /// Tencent's own limit of 100 applies below it. Default 1,000.
        public var maxReceiptsPerPush: Int
        /// Most signed WeChat `(timestamp, nonce)` pairs remembered, each for its freshness window,
        /// to refuse a signature replayed with another body. Default 10,000 (WeChat's own rate is
        /// about one push a second).
        public var replayCapacity: Int

        public init(
            server: HTTPServer.Configuration = .init(),
            gateways: [String: Gateway] = [:],
            tokenHeader: String = "X-PolicyPush-Token",
            dedupeCapacity: Int = 100_000,
            maxReceiptsPerPush: Int = 1000,
            replayCapacity: Int = 10_000
        ) {
            self.server = server
            self.gateways = gateways
            self.tokenHeader = tokenHeader
            self.dedupeCapacity = dedupeCapacity
            self.maxReceiptsPerPush = maxReceiptsPerPush
            self.replayCapacity = replayCapacity
        }

        /// Reports every problem at once, each with its key path.
        public func validate() throws(ConfigurationError) {
            var problems: [String] = []
            if tokenHeader.isEmpty { problems.append("tokenHeader: must not be empty") }
            if dedupeCapacity < 1 { problems.append("dedupeCapacity: must be at least 1") }
            if maxReceiptsPerPush < 1 { problems.append("maxReceiptsPerPush: must be at least 1") }
            if replayCapacity < 1 { problems.append("replayCapacity: must be at least 1") }
            if server.maxBodyBytes < 1 { problems.append("server.maxBodyBytes: must be at least 1") }
            for (name, gateway) in gateways.sorted(by: { $0.key < $1.key }) {
                let path = "gateways.\(name)"
                if name.isEmpty || name.contains("/") || name.contains(where: \.isWhitespace) {
                    problems.append("\(path): a gateway name is one non-empty path segment")
                }
                switch gateway.authentication {
                case .pathToken(let token), .headerToken(let token):
                    if token.count < 16 { problems.append("\(path).authentication: token shorter than 16 characters") }
                    if token.contains("/") { problems.append("\(path).authentication: token must not contain '/'") }
                    if gateway.kind == .wechat {
                        problems.append("\(path).authentication: WeChat pushes authenticate by signature")
                    }
                case .wechatSignature(let token, let maxAge):
                    if gateway.kind != .wechat {
                        problems.append("\(path).authentication: only WeChat sends a signature")
                    }
                    if token.isEmpty { problems.append("\(path).authentication: empty WeChat token") }
                    if let maxAge, maxAge <= .zero {
                        problems.append("\(path).authentication: maxAge must be positive")
                    }
                }
            }
            if !problems.isEmpty { throw ConfigurationError(problems: problems) }
        }
    }

    /// Every problem ``Configuration/validate()`` found.
    public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
        /// One line per problem, starting with its key path; never a token.
        public var problems: [String]

        public var description: String { "receipt listener configuration: " + problems.joined(separator: "; ") }
    }

    /// Why a request was refused.
    public enum Rejection: String, Sendable, Hashable, CaseIterable {
        case malformed, unauthenticated, tooLarge, unsupported, unknownGateway, methodNotAllowed, consumerFailed
        /// A signed WeChat `(timestamp, nonce)` already seen with another body.
        case replayed
    }

    /// Counters since start.
    public struct Stats: Sendable, Hashable {
        /// Receipts parsed from authenticated, well-formed pushes.
        public var received = 0
        /// Receipts handed to the consumer, which returned.
        public var accepted = 0
        /// Receipts recognised as re-pushes (acknowledged, not handed on).
        public var duplicates = 0
        /// Signed WeChat pushes recognised as retries of one already stored (same timestamp, nonce
        /// and body): acknowledged without being parsed again.
        public var repeatedPushes = 0
        /// Replies and unsubscribes parsed from authenticated, well-formed pushes.
        public var inboundReceived = 0
        /// Replies and unsubscribes handed to the inbound consumer, which returned.
        public var inboundAccepted = 0
        /// Replies and unsubscribes recognised as re-pushes.
        public var inboundDuplicates = 0
        /// Refused requests by reason.
        public var rejected: [Rejection: Int] = [:]

        public init() {}
    }
}
