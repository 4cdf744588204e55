/// Alibaba Cloud signature V3 (`ACS3-HMAC-SHA256`, Delivery/Gateways.md §3).
///
/// Signs the method, the encoded path, the sorted query, every `x-acs-*` header plus `host`
/// and `content-type` when present, and the payload hash.
public struct AliyunSignatureV3: Sendable {
    /// The algorithm name, first line of the string to sign and of `Authorization`.
    public static let algorithm = "ACS3-HMAC-SHA256"

    /// The intermediate strings and the result of one signature, for tests and the stubs.
    public struct Signed: Sendable, Hashable {
        /// `METHOD\nURI\nQuery\nHeaders\nSignedHeaders\nPayloadHash`.
        public var canonicalRequest: String
        /// `ACS3-HMAC-SHA256\n` + hex SHA-256 of the canonical request.
        public var stringToSign: String
        /// Lowercase signed header names joined by `;`.
        public var signedHeaders: String
        /// Lowercase hex HMAC-SHA256.
        public var signature: String
        /// The `Authorization` header value.
        public var authorization: String
    }

    public var accessKeyID: String
    /// The AccessKey secret; never logged.
    public var accessKeySecret: String

    public init(accessKeyID: String, accessKeySecret: String) {
        self.accessKeyID = accessKeyID
        self.accessKeySecret = accessKeySecret
    }

    /// The sorted, RFC 3986-encoded query; an empty value is written `key=`.
    public static func canonicalQuery(_ parameters: [(String, String)]) -> String {
        AliyunSignatureV2.canonicalQuery(parameters)
    }

    /// The encoded path: each segment RFC 3986-encoded, an empty path as `/`.
    public static func canonicalURI(_ path: String) -> String {
        guard !path.isEmpty else { return "/" }
        return path.split(separator: "/", omittingEmptySubsequences: false)
            .map { PercentEncoding.rfc3986(String($0)) }.joined(separator: "/")
    }

    /// Whether a header takes part in the signature.
    public static func isSigned(_ name: String) -> Bool {
        let lowered = name.lowercased()
        return lowered.hasPrefix("x-acs-") || lowered == "host" || lowered == "content-type"
    }

    /// The canonical header block (each `name:value\n`, sorted, repeats joined by `,`) and the
    /// signed header list.
    public static func canonicalHeaders(_ headers: [(String, String)]) -> (headers: String, signedHeaders: String) {
        var grouped: [String: [String]] = [:]
        for (name, value) in headers where isSigned(name) {
            grouped[name.lowercased(), default: []].append(trimmed(value))
        }
        let names = grouped.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let block = names.map { "\($0):\(grouped[$0, default: []].joined(separator: ","))\n" }.joined()
        return (block, names.joined(separator: ";"))
    }

    /// Signs one request.
    ///
    /// - Parameters:
    ///   - payloadHash: lowercase hex SHA-256 of the body, as sent in `x-acs-content-sha256`.
    /// - Throws: `DigestError` when OpenSSL cannot hash.
    public func sign(
        method: HTTPMethod, path: String = "/", query: [(String, String)], headers: [(String, String)],
        payloadHash: String
    ) throws -> Signed {
        let (block, signedHeaders) = Self.canonicalHeaders(headers)
        let canonicalRequest = [
            method.rawValue, Self.canonicalURI(path), Self.canonicalQuery(query), block, signedHeaders, payloadHash,
        ].joined(separator: "\n")
        let stringToSign = Self.algorithm + "\n" + Digest.hex(try Digest.sha256(canonicalRequest))
        let signature = Digest.hex(try Digest.hmacSHA256(key: accessKeySecret, data: stringToSign))
        let authorization =
            "\(Self.algorithm) Credential=\(accessKeyID),SignedHeaders=\(signedHeaders),Signature=\(signature)"
        return Signed(
            canonicalRequest: canonicalRequest, stringToSign: stringToSign, signedHeaders: signedHeaders,
            signature: signature, authorization: authorization)
    }
}

/// `text` without leading and trailing spaces and tabs.
func trimmed(_ text: String) -> String {
    var scalars = Substring(text)
    while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
    while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
    return String(scalars)
}
