/// Tencent Cloud API 3.0 signature `TC3-HMAC-SHA256` (Delivery/Gateways.md §4).
///
/// Signs `content-type` and `host` of a `POST /` with a JSON payload; the scope's date is the
/// UTC date of the timestamp (a Beijing date breaks requests sent between 00:00 and 08:00).
public struct TencentTC3Signer: Sendable {
    /// The algorithm name.
    public static let algorithm = "TC3-HMAC-SHA256"
    /// The content type signed and sent, byte for byte.
    public static let jsonContentType = "application/json; charset=utf-8"

    /// The intermediate strings and the result of one signature.
    public struct Signed: Sendable, Hashable {
        /// Lowercase hex SHA-256 of the payload.
        public var payloadHash: String
        public var canonicalRequest: String
        /// `<yyyy-MM-dd>/<service>/tc3_request`.
        public var credentialScope: String
        public var stringToSign: String
        /// Lowercase hex signature.
        public var signature: String
        /// The `Authorization` header value, `", "` between its parts.
        public var authorization: String
    }

    public var secretID: String
    /// The SecretKey; never logged.
    public var secretKey: String
    /// The service, `sms` for SMS.
    public var service: String

    public init(secretID: String, secretKey: String, service: String = "sms") {
        self.secretID = secretID
        self.secretKey = secretKey
        self.service = service
    }

    /// Signs a `POST /` carrying `payload`.
    ///
    /// - Parameters:
    ///   - host: the `Host` header as sent (`sms.tencentcloudapi.com`, or `127.0.0.1:PORT` for a stub).
    ///   - timestamp: Unix seconds, also sent as `X-TC-Timestamp`.
    ///   - contentType: the `Content-Type` sent.
    /// - Throws: `DigestError` when OpenSSL cannot hash.
    public func sign(
        payload: [UInt8], host: String, timestamp: Int64, contentType: String = TencentTC3Signer.jsonContentType
    ) throws -> Signed {
        let payloadHash = Digest.hex(try Digest.sha256(payload))
        let signedHeaders = "content-type;host"
        let canonicalRequest =
            "POST\n/\n\ncontent-type:\(trimmed(contentType))\nhost:\(trimmed(host).lowercased())\n\n"
            + "\(signedHeaders)\n\(payloadHash)"
        let date = CivilTime(unixSeconds: timestamp).dateString
        let scope = "\(date)/\(service)/tc3_request"
        let stringToSign =
            "\(Self.algorithm)\n\(timestamp)\n\(scope)\n" + Digest.hex(try Digest.sha256(canonicalRequest))
        let secretDate = try Digest.hmacSHA256(key: Array(("TC3" + secretKey).utf8), data: Array(date.utf8))
        let secretService = try Digest.hmacSHA256(key: secretDate, data: Array(service.utf8))
        let secretSigning = try Digest.hmacSHA256(key: secretService, data: Array("tc3_request".utf8))
        let signature = Digest.hex(try Digest.hmacSHA256(key: secretSigning, data: Array(stringToSign.utf8)))
        let authorization =
            "\(Self.algorithm) Credential=\(secretID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return Signed(
            payloadHash: payloadHash, canonicalRequest: canonicalRequest, credentialScope: scope,
            stringToSign: stringToSign, signature: signature, authorization: authorization)
    }
}
