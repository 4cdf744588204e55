/// Alibaba Cloud RPC signature version 1.0 (HMAC-SHA1), as dysmsapi accepts it (Delivery/Gateways.md §3).
///
/// Every parameter but `Signature` is signed: sorted by key bytes, keys and values RFC 3986
/// percent-encoded, joined as `k=v&…`, then `METHOD&%2F&<encoded query>` is signed with
/// HMAC-SHA1 under `AccessKeySecret + "&"` and Base64-encoded.
public struct AliyunSignatureV2: Sendable {
    /// The AccessKey secret; never logged.
    public var accessKeySecret: String

    public init(accessKeySecret: String) {
        self.accessKeySecret = accessKeySecret
    }

    /// The parameters sorted by the UTF-8 bytes of their keys (stable for repeated keys).
    public static func sorted(_ parameters: [(String, String)]) -> [(String, String)] {
        parameters.enumerated().sorted { lhs, rhs in
            let left = lhs.element.0.utf8
            let right = rhs.element.0.utf8
            if left.elementsEqual(right) { return lhs.offset < rhs.offset }
            return left.lexicographicallyPrecedes(right)
        }.map(\.element)
    }

    /// `k1=v1&k2=v2…`: sorted, keys and values RFC 3986-encoded. Also the form body or query
    /// string to send.
    public static func canonicalQuery(_ parameters: [(String, String)]) -> String {
        sorted(parameters).map { PercentEncoding.rfc3986($0.0) + "=" + PercentEncoding.rfc3986($0.1) }
            .joined(separator: "&")
    }

    /// `METHOD&%2F&percentEncode(canonicalQuery)`.
    ///
    /// - Important: it holds every parameter value (phone numbers included): never log it.
    public static func stringToSign(method: HTTPMethod, parameters: [(String, String)]) -> String {
        method.rawValue + "&%2F&" + PercentEncoding.rfc3986(canonicalQuery(parameters))
    }

    /// The Base64 signature of `stringToSign(method:parameters:)` (not yet percent-encoded).
    ///
    /// - Throws: `DigestError` when OpenSSL cannot compute HMAC-SHA1.
    public func signature(method: HTTPMethod, parameters: [(String, String)]) throws -> String {
        let mac = try Digest.hmacSHA1(
            key: accessKeySecret + "&", data: Self.stringToSign(method: method, parameters: parameters))
        return Digest.base64(mac)
    }

    /// Whether `signature` is the one these parameters carry under this secret.
    public func verify(signature: String, method: HTTPMethod, parameters: [(String, String)]) -> Bool {
        guard let expected = try? self.signature(method: method, parameters: parameters) else { return false }
        return constantTimeEquals(expected, signature)
    }
}

/// Compares two strings without stopping at the first difference.
func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
    let left = Array(lhs.utf8)
    let right = Array(rhs.utf8)
    guard left.count == right.count else { return false }
    var difference: UInt8 = 0
    for index in left.indices { difference |= left[index] ^ right[index] }
    return difference == 0
}
