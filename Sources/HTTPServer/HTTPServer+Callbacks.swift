internal import CMicroHTTPD

/// Per-request upload state, owned by the one connection thread serving the request; libmicrohttpd
/// holds it (retained) in `*con_cls` until the request-completed callback releases it.
final class RequestState {
    var body: [UInt8] = []
    var tooLarge = false
}

/// libmicrohttpd callbacks. They run on libmicrohttpd's threads, so they are nonisolated C
/// functions that reach Swift state only through their `void *` context.
enum ServerCallbacks {
    static let access: MHD_AccessHandlerCallback = {
        cls, connection, url, method, _, uploadData, uploadDataSize, conCls in
        guard let cls, let connection, let uploadDataSize, let conCls else { return .NO }
        let core = Unmanaged<ServerCore>.fromOpaque(cls).takeUnretainedValue()

        guard let pointer = conCls.pointee else {
            // First call: headers only. Refuse an announced oversized body before it is sent.
            let state = RequestState()
            conCls.pointee = Unmanaged.passRetained(state).toOpaque()
            core.requestStarted()
            if let refusal = framingRefusal(values(connection, .HEADER_KIND, lowercased: true)) {
                state.tooLarge = true  // the body, if any, is never read
                return queue(refusal, on: connection)
            }
            if let length = lookup(connection, "Content-Length").flatMap({ Int($0) }), length > core.maxBodyBytes {
                state.tooLarge = true
                return queue(.text("request body too large\n", status: 413), on: connection)
            }
            return .YES
        }
        let state = Unmanaged<RequestState>.fromOpaque(pointer).takeUnretainedValue()

        let count = uploadDataSize.pointee
        if count > 0 {
            if !state.tooLarge, let uploadData {
                if state.body.count + count > core.maxBodyBytes {
                    state.tooLarge = true
                    state.body = []
                } else {
                    state.body.append(
                        contentsOf: UnsafeRawBufferPointer(start: UnsafeRawPointer(uploadData), count: count)
                    )
                }
            }
            uploadDataSize.pointee = 0
            return .YES
        }
        if state.tooLarge {
            return queue(.text("request body too large\n", status: 413), on: connection)
        }

        let request = HTTPServerRequest(
            method: method.map { String(cString: $0) } ?? "",
            path: url.map { String(cString: $0) } ?? "/",
            query: values(connection, .GET_ARGUMENT_KIND, lowercased: false),
            headers: values(connection, .HEADER_KIND, lowercased: true),
            body: state.body,
            remoteAddress: clientAddress(connection)
        )
        state.body = []
        let response = core.respond(to: request)
        if response.resetsConnection { return .NO }
        return queue(response, on: connection)
    }

    /// Runs once the answer was written (or the connection closed) for every request the access
    /// handler saw.
    static let completed: MHD_RequestCompletedCallback = { cls, _, conCls, _ in
        guard let conCls, let pointer = conCls.pointee else { return }
        Unmanaged<RequestState>.fromOpaque(pointer).release()
        conCls.pointee = nil
        guard let cls else { return }
        Unmanaged<ServerCore>.fromOpaque(cls).takeUnretainedValue().requestCompleted()
    }

    static let connection: MHD_NotifyConnectionCallback = { cls, _, _, code in
        guard let cls, code == .CONNECTION_NOTIFY_STARTED else { return }
        Unmanaged<ServerCore>.fromOpaque(cls).takeUnretainedValue().connectionsAccepted.add(1, ordering: .relaxed)
    }

    /// The answer to a request whose body framing is ambiguous, or nil when it is sound.
    ///
    /// libmicrohttpd 0.9.75 frames the body by the first `Content-Length` and ignores the rest,
    /// reads an unknown `Transfer-Encoding` until the connection closes, and lets
    /// `Transfer-Encoding` override `Content-Length` silently: each is how request smuggling
    /// starts (RFC 9112 §6.1, §6.3). Such a request is refused and its connection closed.
    static func framingRefusal(_ headers: [(name: String, value: String)]) -> HTTPServerResponse? {
        let lengths = Set(
            headers.filter { $0.name == "content-length" }
                .flatMap { $0.value.split(separator: ",", omittingEmptySubsequences: false) }
                .map(trimmed))
        let codings = headers.filter { $0.name == "transfer-encoding" }.map(\.value)
        var refusal: HTTPServerResponse?
        if lengths.count > 1 {
            refusal = .text("conflicting Content-Length\n", status: 400)
        } else if !codings.isEmpty, !lengths.isEmpty {
            refusal = .text("Content-Length with Transfer-Encoding\n", status: 400)
        } else if !codings.isEmpty, codings.count > 1 || trimmed(codings[0]).lowercased() != "chunked" {
            refusal = .text("unsupported Transfer-Encoding\n", status: 501)
        }
        refusal?.headers.append(("Connection", "close"))
        return refusal
    }

    /// `value` without leading and trailing spaces and tabs (optional whitespace, RFC 9110 §5.6.3).
    private static func trimmed(_ value: some StringProtocol) -> String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = value.firstIndex(where: { !blank($0) }), let last = value.lastIndex(where: { !blank($0) })
        else { return "" }
        return String(value[first...last])
    }

    private static func queue(_ response: HTTPServerResponse, on connection: OpaquePointer) -> MHD_Result {
        let created = response.body.withUnsafeBytes { raw in
            MHD_create_response_from_buffer(
                raw.count, UnsafeMutableRawPointer(mutating: raw.baseAddress), .RESPMEM_MUST_COPY
            )
        }
        guard let created else { return .NO }
        defer { MHD_destroy_response(created) }
        for (name, value) in response.headers {
            // A header libmicrohttpd refuses (bad characters, Content-Length) is dropped, not fatal.
            _ = MHD_add_response_header(created, name, value)
        }
        let status = (100...999).contains(response.status) ? response.status : 500
        return MHD_queue_response(connection, UInt32(status), created)
    }

    private static func lookup(_ connection: OpaquePointer, _ name: String) -> String? {
        MHD_lookup_connection_value(connection, .HEADER_KIND, name).map { String(cString: $0) }
    }

    private final class Collector {
        var values: [(name: String, value: String)] = []
        let lowercased: Bool
        init(lowercased: Bool) { self.lowercased = lowercased }
    }

    private static func values(
        _ connection: OpaquePointer, _ kind: MHD_ValueKind, lowercased: Bool
    ) -> [(name: String, value: String)] {
        let collector = Collector(lowercased: lowercased)
        withExtendedLifetime(collector) {
            _ = MHD_get_connection_values(
                connection, kind,
                { cls, _, key, value in
                    guard let cls, let key else { return .YES }
                    let collector = Unmanaged<Collector>.fromOpaque(cls).takeUnretainedValue()
                    let name = String(cString: key)
                    collector.values.append(
                        (collector.lowercased ? name.lowercased() : name, value.map { String(cString: $0) } ?? "")
                    )
                    return .YES
                },
                Unmanaged.passUnretained(collector).toOpaque()
            )
        }
        return collector.values
    }

    private static func clientAddress(_ connection: OpaquePointer) -> String? {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer in
            guard let base = buffer.baseAddress, cmhd_connection_client_address(connection, base, 64) == 0 else {
                return nil
            }
            return String(cString: base)
        }
    }
}
