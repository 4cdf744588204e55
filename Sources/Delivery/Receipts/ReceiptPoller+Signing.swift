import Foundation

extension AliyunReceiptPoller {
    /// Signs a poller request the way the Aliyun SDK does: the RPC common parameters and a V2
    /// (HMAC-SHA1) signature over the request's method and every parameter.
    public static func v2Signer(
        credentials: Credentials, regionID: String = "cn-hangzhou", clock: @escaping @Sendable () -> Date = { Date() }
    ) -> AliyunReceiptPoller.Signer {
        { request in
            let parts = request.url.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
            let origin = String(parts[0])
            var parameters: [(String, String)] = []
            if parts.count > 1 {
                for pair in parts[1].split(separator: "&") {
                    let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    let key = String(kv[0]).removingPercentEncoding ?? String(kv[0])
                    let value = kv.count > 1 ? (String(kv[1]).removingPercentEncoding ?? String(kv[1])) : ""
                    parameters.append((key, value))
                }
            }
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss'Z'"
            parameters += [
                ("AccessKeyId", credentials.id), ("SignatureMethod", "HMAC-SHA1"), ("SignatureVersion", "1.0"),
                ("SignatureNonce", UUID().uuidString.lowercased()), ("Timestamp", formatter.string(from: clock())),
                ("RegionId", regionID),
            ]
            let signature = try AliyunSignatureV2(accessKeySecret: credentials.secret)
                .signature(method: request.method, parameters: parameters)
            request.url =
                origin + "?" + AliyunSignatureV2.canonicalQuery(parameters) + "&Signature="
                + PercentEncoding.rfc3986(signature)
        }
    }
}

extension TencentReceiptPoller {
    /// Signs a poller request with TC3-HMAC-SHA256 over the host (port included, as sent),
    /// the body and the timestamp, setting `X-TC-Timestamp` and `Authorization`.
    public static func tc3Signer(
        credentials: Credentials, clock: @escaping @Sendable () -> Date = { Date() }
    ) -> TencentReceiptPoller.Signer {
        { request in
            let afterScheme = request.url.components(separatedBy: "://").last ?? request.url
            let host = String(afterScheme.prefix { $0 != "/" && $0 != "?" })
            let timestamp = Int64(clock().timeIntervalSince1970.rounded(.down))
            let contentType = request.headers.first(name: "content-type") ?? TencentTC3Signer.jsonContentType
            let signed = try TencentTC3Signer(secretID: credentials.id, secretKey: credentials.secret)
                .sign(payload: request.body, host: host, timestamp: timestamp, contentType: contentType)
            request.headers.replaceOrAdd(name: "X-TC-Timestamp", value: String(timestamp))
            request.headers.replaceOrAdd(name: "Authorization", value: signed.authorization)
        }
    }
}
