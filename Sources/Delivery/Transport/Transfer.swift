internal import CCurl
import Synchronization

/// One request in flight, from `send` to the resumed continuation.
///
// @unchecked Sendable: `request` and `maxResponseBytes` are immutable; `cancelled` is atomic;
// `continuation` is written by `send` before the transfer is queued under the loop's mutex and
// afterwards touched only by the transport thread; every other field is touched only by the
// transport thread (in its loop and in libcurl callbacks it drives).
final class Transfer: @unchecked Sendable {
    let request: HTTPRequest
    let maxResponseBytes: Int
    let cancelled = Atomic<Bool>(false)
    var continuation: CheckedContinuation<HTTPResponse, any Error>?

    // Transport thread only.
    var headerList: UnsafeMutablePointer<curl_slist>?
    var responseHeaders = HTTPHeaders()
    var body: [UInt8] = []
    var exceededLimit = false
    /// The attached easy handle, for the pre-request callback (set only when resends are refused).
    var easy: UnsafeMutableRawPointer?
    /// Bytes of `request.body` handed to libcurl by the read callback.
    var uploaded = 0
    /// How many times libcurl was about to send the request (pre-request callback calls).
    var sendAttempts = 0
    /// Whether a callback refused libcurl's own resend of the request.
    var refusedResend = false

    init(request: HTTPRequest, maxResponseBytes: Int) {
        self.request = request
        self.maxResponseBytes = maxResponseBytes
    }

    func complete(_ result: Result<HTTPResponse, TransportError>) {
        guard let continuation else { return }
        self.continuation = nil
        switch result {
        case .success(let response): continuation.resume(returning: response)
        case .failure(let error): continuation.resume(throwing: error)
        }
    }
}

/// libcurl callbacks: nonisolated C functions, called on the transport thread during
/// `curl_multi_perform`, reaching their `Transfer` through the user pointer (the loop holds the
/// transfer strongly for as long as its easy handle is attached).
enum TransferCallbacks {
    static let body: curl_write_callback = { data, size, count, user in
        guard let user else { return 0 }
        let transfer = Unmanaged<Transfer>.fromOpaque(user).takeUnretainedValue()
        let length = size * count
        guard transfer.body.count + length <= transfer.maxResponseBytes else {
            transfer.exceededLimit = true
            return 0
        }
        if length > 0, let data {
            transfer.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: length))
        }
        return length
    }

    /// `CURLOPT_READFUNCTION`: the next bytes of the request body, streamed from the transfer's
    /// copy (used when ``HTTPRequest/allowsTransportResend`` is `false`).
    static let read: curl_read_callback = { buffer, size, count, user in
        guard let user, let buffer else { return Int(CURL_READFUNC_ABORT) }
        let transfer = Unmanaged<Transfer>.fromOpaque(user).takeUnretainedValue()
        let offset = transfer.uploaded
        let length = min(size * count, transfer.request.body.count - offset)
        guard length > 0 else { return 0 }
        transfer.request.body.withUnsafeBytes { bytes in
            guard let base = bytes.baseAddress else { return }
            UnsafeMutableRawPointer(buffer).copyMemory(from: base + offset, byteCount: length)
        }
        transfer.uploaded = offset + length
        return length
    }

    /// `CURLOPT_SEEKFUNCTION`: refuses every rewind of a body already (partly) read.
    ///
    /// libcurl rewinds the body only to send it again, and only after some of it was written:
    /// when a reused connection closed without an answer (`Curl_retry_request`). Refusing makes
    /// the transfer fail with `CURLE_SEND_FAIL_REWIND` instead of resending. A seek to the start
    /// before anything was read changes nothing and is allowed.
    static let seek: curl_seek_callback = { user, offset, origin in
        guard let user else { return CURL_SEEKFUNC_FAIL }
        let transfer = Unmanaged<Transfer>.fromOpaque(user).takeUnretainedValue()
        if offset == 0, origin == SEEK_SET, transfer.uploaded == 0 { return CURL_SEEKFUNC_OK }
        transfer.refusedResend = true
        return CURL_SEEKFUNC_FAIL
    }

    /// `CURLOPT_PREREQFUNCTION`: called each time libcurl is about to send the request, on a new
    /// or reused connection. A second call is libcurl's own resend; it is refused when bytes of
    /// the request were already written, which the seek callback cannot catch for a request
    /// without a body (nothing to rewind). A resend after a write that failed outright (nothing
    /// written) is harmless and allowed.
    static let prerequest: curl_prereq_callback = { user, _, _, _, _ in
        guard let user else { return CURL_PREREQFUNC_ABORT }
        let transfer = Unmanaged<Transfer>.fromOpaque(user).takeUnretainedValue()
        transfer.sendAttempts += 1
        guard transfer.sendAttempts > 1 else { return CURL_PREREQFUNC_OK }
        // CURLINFO_REQUEST_SIZE adds up the header bytes written by every attempt so far.
        var written = 0
        if let easy = transfer.easy, ccurl_easy_getinfo_long(easy, CURLINFO_REQUEST_SIZE, &written) == CURLE_OK,
            written == 0
        {
            return CURL_PREREQFUNC_OK
        }
        transfer.refusedResend = true
        return CURL_PREREQFUNC_ABORT
    }

    static let header: curl_write_callback = { data, size, count, user in
        let length = size * count
        guard let user, let data else { return length }
        let transfer = Unmanaged<Transfer>.fromOpaque(user).takeUnretainedValue()
        let line = UnsafeRawBufferPointer(start: data, count: length)
        parseHeaderLine(line, into: transfer)
        return length
    }

    private static func parseHeaderLine(_ line: UnsafeRawBufferPointer, into transfer: Transfer) {
        var end = line.count
        while end > 0, line[end - 1] == UInt8(ascii: "\r") || line[end - 1] == UInt8(ascii: "\n") { end -= 1 }
        guard end > 0 else { return }
        if end >= 5, line[0] == UInt8(ascii: "H"), line[1] == UInt8(ascii: "T"), line[2] == UInt8(ascii: "T"),
            line[3] == UInt8(ascii: "P"), line[4] == UInt8(ascii: "/")
        {
            // A status line starts a new response (after 1xx or a redirect): forget earlier fields.
            transfer.responseHeaders = HTTPHeaders()
            return
        }
        guard let colon = line[0..<end].firstIndex(of: UInt8(ascii: ":")) else { return }
        var valueStart = colon + 1
        while valueStart < end, line[valueStart] == UInt8(ascii: " ") || line[valueStart] == UInt8(ascii: "\t") {
            valueStart += 1
        }
        var valueEnd = end
        while valueEnd > valueStart, line[valueEnd - 1] == UInt8(ascii: " ") || line[valueEnd - 1] == UInt8(ascii: "\t")
        {
            valueEnd -= 1
        }
        let name = String(unsafeUninitializedCapacity: colon) { buffer in
            for index in 0..<colon {
                let byte = line[index]
                buffer[index] = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            }
            return colon
        }
        let value = String(decoding: UnsafeRawBufferPointer(rebasing: line[valueStart..<valueEnd]), as: UTF8.self)
        transfer.responseHeaders.add(name: name, value: value)
    }
}
