/// What a handler answers: a status, header fields and a body, or a scripted fault.
public struct HTTPServerResponse: Sendable {
    /// The status code.
    public var status: Int
    /// Header fields to send; `Content-Length` is computed by the server.
    public var headers: [(name: String, value: String)]
    /// The body.
    public var body: [UInt8]

    /// How long to wait before answering (fault scripting for stubs).
    public internal(set) var delay: Duration?
    /// Whether to close the connection without any answer (fault scripting for stubs).
    public internal(set) var resetsConnection: Bool

    public init(status: Int = 200, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
        self.delay = nil
        self.resetsConnection = false
    }

    /// A JSON body with `Content-Type: application/json; charset=utf-8`.
    public static func json(_ text: String, status: Int = 200) -> HTTPServerResponse {
        HTTPServerResponse(
            status: status,
            headers: [("Content-Type", "application/json; charset=utf-8")],
            body: Array(text.utf8)
        )
    }

    /// A plain-text body with `Content-Type: text/plain; charset=utf-8`.
    public static func text(_ text: String, status: Int = 200) -> HTTPServerResponse {
        HTTPServerResponse(
            status: status,
            headers: [("Content-Type", "text/plain; charset=utf-8")],
            body: Array(text.utf8)
        )
    }

    /// `404 Not Found`, the answer for any route a handler does not know.
    public static var notFound: HTTPServerResponse { .text("not found\n", status: 404) }

    /// Closes the connection without answering, as a crashed or reset gateway would.
    public static var resetConnection: HTTPServerResponse {
        var response = HTTPServerResponse(status: 0)
        response.resetsConnection = true
        return response
    }

    /// The same response (or reset), sent only after `duration`.
    ///
    /// The wait ends early when the server stops.
    public func delayed(by duration: Duration) -> HTTPServerResponse {
        var response = self
        response.delay = duration
        return response
    }
}
