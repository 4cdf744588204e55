/// The signature WeChat puts on pushes to an account's server URL (Delivery/Gateways.md §5):
/// lowercase hex SHA-1 of the concatenation of token, timestamp and nonce, sorted.
public enum WeChatPushSignature {
    /// The string that is hashed: the three values sorted by their UTF-8 bytes and concatenated.
    public static func stringToSign(token: String, timestamp: String, nonce: String) -> String {
        [token, timestamp, nonce].sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.joined()
    }

    /// The `signature` query value WeChat sends.
    ///
    /// - Throws: `DigestError` when OpenSSL cannot hash.
    public static func signature(token: String, timestamp: String, nonce: String) throws -> String {
        Digest.hex(try Digest.sha1(stringToSign(token: token, timestamp: timestamp, nonce: nonce)))
    }

    /// Whether `signature` matches (case-insensitive hex).
    public static func verify(signature: String, token: String, timestamp: String, nonce: String) -> Bool {
        guard let expected = try? Self.signature(token: token, timestamp: timestamp, nonce: nonce) else {
            return false
        }
        return constantTimeEquals(expected, signature.lowercased())
    }
}
