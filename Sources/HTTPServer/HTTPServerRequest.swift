/// A request as the server received it, with its body fully read.
public struct HTTPServerRequest: Sendable {
    /// The method as sent (`GET`, `POST`, ...).
    public var method: String
    /// The path, percent-decoded, without the query string.
    public var path: String
    /// Query arguments in the order they were sent, percent-decoded; an argument without `=` has an empty value.
    public var query: [(name: String, value: String)]
    /// Header fields in the order they were sent; names are lowercased.
    public var headers: [(name: String, value: String)]
    /// The request body.
    public var body: [UInt8]
    /// The client's numeric IP address, when the socket reports one.
    public var remoteAddress: String?

    public init(
        method: String,
        path: String,
        query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = [],
        body: [UInt8] = [],
        remoteAddress: String? = nil
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
    }

    /// The first value of the header `name` (case-insensitive), if present.
    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name == lowered }?.value
    }

    /// The first value of the query argument `name`, if present.
    public func queryValue(_ name: String) -> String? {
        query.first { $0.name == name }?.value
    }

    /// The body decoded as UTF-8 (invalid sequences repaired).
    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}
