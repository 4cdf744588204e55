internal import CMicroHTTPD
import Synchronization

/// One request, from the access handler's first call to the request-completed callback, which
/// releases the reference libmicrohttpd holds in `*con_cls`; the handler task holds another.
final class RequestState: Sendable {
    /// The body read so far. Only the libmicrohttpd thread serving the connection touches it, so
    /// the lock is never contended.
    struct Upload {
        var body: [UInt8] = []
        /// Over the body limit, or refused on its headers: the body is dropped, not kept.
        var refused = false
    }

    /// A suspended connection, as the handler task and `stop` see it.
    ///
    /// `@unchecked Sendable`: the pointer is only passed to `MHD_resume_connection`, which
    /// libmicrohttpd allows from any thread, once, under ``RequestState/phase``'s lock.
    struct Suspended: @unchecked Sendable {
        let connection: OpaquePointer
    }

    /// Where the answer stands.
    enum Phase: Sendable {
        /// Headers and body arriving; no handler yet.
        case reading
        /// Parked by `MHD_suspend_connection` while the handler task runs. The connection stays
        /// valid until it is resumed, and a suspended connection must be resumed exactly once.
        case suspended(Suspended)
        /// Resumed with this answer; the access handler queues it on its next call.
        case answered(HTTPServerResponse)
        /// The server is stopping: close without an answer.
        case abandoned
    }

    let upload = Mutex(Upload())
    /// Suspending and resuming happen while this lock is held, so a resume never precedes its
    /// suspension and happens once. Lock order: this lock, then libmicrohttpd's own mutexes;
    /// libmicrohttpd never calls back into PolicyPush while holding one for a plain connection.
    let phase = Mutex(Phase.reading)
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
                state.upload.withLock { $0.refused = true }  // the body, if any, is never read
                return queue(refusal, on: connection)
            }
            if let length = lookup(connection, "Content-Length").flatMap({ Int($0) }), length > core.maxBodyBytes {
                state.upload.withLock { $0.refused = true }
                return queue(.text("request body too large\n", status: 413), on: connection)
            }
            return .YES
        }
        let state = Unmanaged<RequestState>.fromOpaque(pointer).takeUnretainedValue()

        let count = uploadDataSize.pointee
        if count > 0 {
            state.upload.withLock { upload in
                guard !upload.refused, let uploadData else { return }
                if upload.body.count + count > core.maxBodyBytes {
                    upload.refused = true
                    upload.body = []
                } else {
                    upload.body.append(
                        contentsOf: UnsafeRawBufferPointer(start: UnsafeRawPointer(uploadData), count: count))
                }
            }
            uploadDataSize.pointee = 0
            return .YES
        }

        // The request is complete: either the first such call, or the one after a resume.
        enum Next: Sendable {
            case start
            case answer(HTTPServerResponse)
            case close
            case wait
        }
        let next = state.phase.withLock { phase -> Next in
            switch phase {
            case .reading: return .start
            case .answered(let response): return .answer(response)
            case .abandoned: return .close
            case .suspended: return .wait  // libmicrohttpd does not call a suspended connection; be safe
            }
        }
        switch next {
        case .start: break
        case .answer(let response): return response.resetsConnection ? .NO : queue(response, on: connection)
        case .close: return .NO
        case .wait: return .YES
        }
        let (body, refused) = state.upload.withLock { upload in
            defer { upload.body = [] }
            return (upload.body, upload.refused)
        }
        if refused { return queue(.text("request body too large\n", status: 413), on: connection) }

        let request = HTTPServerRequest(
            method: method.map { String(cString: $0) } ?? "",
            path: url.map { String(cString: $0) } ?? "/",
            query: values(connection, .GET_ARGUMENT_KIND, lowercased: false),
            headers: values(connection, .HEADER_KIND, lowercased: true),
            body: body,
            remoteAddress: clientAddress(connection)
        )
        return core.dispatch(request, state: state, connection: connection) ? .YES : .NO
    }

    /// Runs once the answer was written (or the connection closed) for every request the access
    /// handler saw.
    static let completed: MHD_RequestCompletedCallback = { cls, _, conCls, _ in
        guard let conCls, let pointer = conCls.pointee else { return }
        // Never takes a request's lock: see `RequestState.phase`.
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
