internal import CCurl

/// The transport thread's libcurl state: the multi handle, attached easy handles and a pool of
/// idle ones. Created, used and closed on that thread only, hence not `Sendable`.
final class MultiDriver {
    let multi: UnsafeMutableRawPointer
    private let configuration: CurlTransport.Configuration
    private var active: [UnsafeMutableRawPointer: Transfer] = [:]
    private var idle: [UnsafeMutableRawPointer] = []
    private let idleLimit: Int

    init?(configuration: CurlTransport.Configuration) {
        guard let multi = curl_multi_init() else { return nil }
        self.multi = multi
        self.configuration = configuration
        self.idleLimit = min(max(configuration.maxConnections, 8), 512)
        let perHost = max(configuration.maxConnectionsPerHost, 1)
        let total = max(configuration.maxConnections, perHost)
        let results = [
            ccurl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, perHost),
            ccurl_multi_setopt_long(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, total),
            ccurl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, total),
            ccurl_multi_setopt_long(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX),
        ]
        guard results.allSatisfy({ $0 == CURLM_OK }) else {
            curl_multi_cleanup(multi)
            return nil
        }
    }

    /// Configures an easy handle for `transfer` and attaches it; fails the transfer on any error.
    func start(_ transfer: Transfer) {
        if transfer.cancelled.load(ordering: .relaxed) {
            transfer.complete(.failure(TransportError(code: .cancelled)))
            return
        }
        guard let easy = idle.popLast() ?? curl_easy_init() else {
            transfer.complete(.failure(TransportError(code: .other)))
            return
        }
        let configured = configure(easy, for: transfer)
        guard configured == CURLE_OK else {
            recycle(easy, transfer)
            transfer.complete(.failure(TransportError(code: .other, curlCode: Int(configured.rawValue))))
            return
        }
        let added = curl_multi_add_handle(multi, easy)
        guard added == CURLM_OK else {
            recycle(easy, transfer)
            transfer.complete(.failure(TransportError(code: .other)))
            return
        }
        active[easy] = transfer
    }

    /// Drives transfers and completes the finished ones; returns libcurl's error if the multi
    /// handle itself failed (out of memory, internal error), after which the loop must stop.
    func perform() -> CURLMcode {
        var running: Int32 = 0
        let performed = curl_multi_perform(multi, &running)
        var easy: UnsafeMutableRawPointer?
        var result = CURLE_OK
        while ccurl_multi_next_done(multi, &easy, &result) == 1 {
            guard let handle = easy, let transfer = active.removeValue(forKey: handle) else { continue }
            let outcome = self.outcome(of: handle, transfer, result: result)
            detach(handle, transfer)
            transfer.complete(outcome)
        }
        return performed
    }

    /// Waits for socket activity, libcurl's next timer, a wake-up, or `timeoutMilliseconds`.
    func poll(timeoutMilliseconds: Int32) -> CURLMcode {
        var ready: Int32 = 0
        return curl_multi_poll(multi, nil, 0, timeoutMilliseconds, &ready)
    }

    /// Detaches and fails every transfer whose task was cancelled.
    func abortCancelled() {
        for (easy, transfer) in active where transfer.cancelled.load(ordering: .relaxed) {
            active[easy] = nil
            let sent = requestSent(easy, transfer)
            detach(easy, transfer)
            transfer.complete(.failure(TransportError(code: .cancelled, requestSent: sent)))
        }
    }

    /// Fails what is still attached with `code` and frees every handle. The driver is unusable afterwards.
    func close(failingWith code: TransportError.Code) {
        for (easy, transfer) in active {
            let sent = requestSent(easy, transfer)
            // Whatever removal answers, cleanup detaches the handle from the multi handle itself.
            _ = curl_multi_remove_handle(multi, easy)
            transfer.easy = nil
            curl_easy_cleanup(easy)
            curl_slist_free_all(transfer.headerList)
            transfer.headerList = nil
            transfer.complete(.failure(TransportError(code: code, requestSent: sent)))
        }
        active = [:]
        for easy in idle { curl_easy_cleanup(easy) }
        idle = []
        curl_multi_cleanup(multi)
    }

    // MARK: - Per transfer

    private func configure(_ easy: UnsafeMutableRawPointer, for transfer: Transfer) -> CURLcode {
        let request = transfer.request
        let user = Unmanaged.passUnretained(transfer).toOpaque()
        var code = CURLE_OK
        func set(_ result: CURLcode) { if code == CURLE_OK { code = result } }

        set(ccurl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1))
        set(ccurl_easy_setopt_string(easy, CURLOPT_URL, request.url))
        set(ccurl_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(request.connectTimeout)))
        set(ccurl_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, Self.milliseconds(request.timeout)))
        // An empty proxy disables the environment's http_proxy as well.
        set(ccurl_easy_setopt_string(easy, CURLOPT_PROXY, configuration.proxy ?? ""))
        set(ccurl_easy_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1))
        if !configuration.keepAlive { set(ccurl_easy_setopt_long(easy, CURLOPT_FORBID_REUSE, 1)) }
        set(
            ccurl_easy_setopt_long(
                easy, CURLOPT_HTTP_VERSION,
                configuration.allowHTTP2 ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_1_1
            )
        )
        if !configuration.verifyTLS {
            set(ccurl_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 0))
            set(ccurl_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 0))
        }
        if let path = configuration.caBundlePath { set(ccurl_easy_setopt_string(easy, CURLOPT_CAINFO, path)) }
        set(ccurl_easy_setopt_off_t(easy, CURLOPT_MAXFILESIZE_LARGE, Int(configuration.maxResponseBytes)))

        switch request.method {
        case .get where request.body.isEmpty:
            set(ccurl_easy_setopt_long(easy, CURLOPT_HTTPGET, 1))
        case .head:
            set(ccurl_easy_setopt_long(easy, CURLOPT_NOBODY, 1))
        default:
            if request.method != .post {
                set(ccurl_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, request.method.rawValue))
            }
            if request.allowsTransportResend {
                // The size first, so COPYPOSTFIELDS copies exactly that many bytes (binary-safe).
                set(ccurl_easy_setopt_off_t(easy, CURLOPT_POSTFIELDSIZE_LARGE, request.body.count))
                if request.body.isEmpty {
                    set(ccurl_easy_setopt_string(easy, CURLOPT_COPYPOSTFIELDS, ""))
                } else {
                    set(
                        request.body.withUnsafeBytes { bytes in
                            ccurl_easy_setopt_pointer(
                                easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress)
                            )
                        }
                    )
                }
            } else {
                // Streamed from the transfer's copy, with a seek callback that refuses to rewind:
                // libcurl cannot resend a body it cannot rewind (COPYPOSTFIELDS it always can).
                set(ccurl_easy_setopt_long(easy, CURLOPT_POST, 1))
                set(ccurl_easy_setopt_off_t(easy, CURLOPT_POSTFIELDSIZE_LARGE, request.body.count))
                set(ccurl_easy_setopt_readfunction(easy, CURLOPT_READFUNCTION, TransferCallbacks.read))
                set(ccurl_easy_setopt_pointer(easy, CURLOPT_READDATA, user))
                set(ccurl_easy_setopt_seekfunction(easy, CURLOPT_SEEKFUNCTION, TransferCallbacks.seek))
                set(ccurl_easy_setopt_pointer(easy, CURLOPT_SEEKDATA, user))
            }
        }
        if !request.allowsTransportResend {
            // Catches the resend of a request without a body, which needs no rewind.
            transfer.easy = easy
            set(ccurl_easy_setopt_prereqfunction(easy, CURLOPT_PREREQFUNCTION, TransferCallbacks.prerequest))
            set(ccurl_easy_setopt_pointer(easy, CURLOPT_PREREQDATA, user))
        }

        // "Expect:" stops libcurl from waiting for 100-continue on larger bodies.
        var list = curl_slist_append(nil, "Expect:")
        for field in request.headers.fields {
            list = curl_slist_append(list, "\(field.name): \(field.value)")
        }
        transfer.headerList = list
        set(ccurl_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, list))

        set(ccurl_easy_setopt_writefunction(easy, CURLOPT_WRITEFUNCTION, TransferCallbacks.body))
        set(ccurl_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, user))
        set(ccurl_easy_setopt_writefunction(easy, CURLOPT_HEADERFUNCTION, TransferCallbacks.header))
        set(ccurl_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, user))
        return code
    }

    /// Detaches a handle from the multi handle, then pools it; a handle libcurl refuses to
    /// detach is freed instead (`curl_easy_cleanup` detaches it itself).
    private func detach(_ easy: UnsafeMutableRawPointer, _ transfer: Transfer) {
        if curl_multi_remove_handle(multi, easy) == CURLM_OK {
            recycle(easy, transfer)
        } else {
            transfer.easy = nil
            curl_easy_cleanup(easy)
            curl_slist_free_all(transfer.headerList)
            transfer.headerList = nil
        }
    }

    /// Returns a detached handle to the pool (reset, so nothing of this request survives) and
    /// frees the request's header list, which the handle no longer references.
    private func recycle(_ easy: UnsafeMutableRawPointer, _ transfer: Transfer) {
        transfer.easy = nil
        curl_easy_reset(easy)
        if idle.count < idleLimit {
            idle.append(easy)
        } else {
            curl_easy_cleanup(easy)
        }
        curl_slist_free_all(transfer.headerList)
        transfer.headerList = nil
    }

    private func outcome(
        of easy: UnsafeMutableRawPointer, _ transfer: Transfer, result: CURLcode
    ) -> Result<HTTPResponse, TransportError> {
        guard result == CURLE_OK else { return .failure(error(for: result, easy, transfer)) }
        var status = 0
        var total: curl_off_t = 0
        let statusRead = ccurl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        guard statusRead == CURLE_OK, status > 0 else {
            return .failure(TransportError(code: .other, curlCode: Int(statusRead.rawValue), requestSent: true))
        }
        if ccurl_easy_getinfo_off_t(easy, CURLINFO_TOTAL_TIME_T, &total) != CURLE_OK { total = 0 }
        let body = transfer.body
        transfer.body = []
        return .success(
            HTTPResponse(
                status: status, headers: transfer.responseHeaders, body: body, totalSeconds: Double(total) / 1e6
            )
        )
    }

    /// Whether the request line, headers and the whole body were written to the connection.
    private func requestSent(_ easy: UnsafeMutableRawPointer, _ transfer: Transfer) -> Bool {
        var requestSize = 0
        var uploaded: curl_off_t = 0
        guard ccurl_easy_getinfo_long(easy, CURLINFO_REQUEST_SIZE, &requestSize) == CURLE_OK,
            ccurl_easy_getinfo_off_t(easy, CURLINFO_SIZE_UPLOAD_T, &uploaded) == CURLE_OK
        else { return true }  // Unknown: assume the worst, the caller treats it as ambiguous.
        return requestSize > 0 && uploaded >= transfer.request.body.count
    }

    private func error(for result: CURLcode, _ easy: UnsafeMutableRawPointer, _ transfer: Transfer) -> TransportError {
        let curlCode = Int(result.rawValue)
        if transfer.refusedResend || result == CURLE_SEND_FAIL_REWIND {
            // A reused connection closed without an answer after the request was written, and
            // libcurl's resend was refused (HTTPRequest.allowsTransportResend): the gateway may
            // have acted on it.
            return TransportError(code: .reset, curlCode: curlCode, requestSent: true)
        }
        switch result {
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return TransportError(code: .connect, curlCode: curlCode, requestSent: false)
        case CURLE_OPERATION_TIMEDOUT:
            let sent = requestSent(easy, transfer)
            return TransportError(code: sent ? .timeoutAfterSend : .timeout, curlCode: curlCode, requestSent: sent)
        case CURLE_WRITE_ERROR where transfer.exceededLimit, CURLE_FILESIZE_EXCEEDED:
            return TransportError(code: .tooLarge, curlCode: curlCode, requestSent: true)
        case CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_PARTIAL_FILE, CURLE_HTTP2,
            CURLE_HTTP2_STREAM:
            return TransportError(code: .reset, curlCode: curlCode, requestSent: requestSent(easy, transfer))
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
            CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
            CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CRL_BADFILE, CURLE_USE_SSL_FAILED:
            return TransportError(code: .tls, curlCode: curlCode, requestSent: false)
        default:
            return TransportError(code: .other, curlCode: curlCode, requestSent: requestSent(easy, transfer))
        }
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        let total = seconds.multipliedReportingOverflow(by: 1000)
        guard !total.overflow else { return Int.max }
        // At least 1 ms: 0 would mean "no timeout" to libcurl.
        return max(1, Int(total.partialValue) + Int(attoseconds / 1_000_000_000_000_000))
    }
}
