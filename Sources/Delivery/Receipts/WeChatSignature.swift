import Foundation
import Kit

/// The WeChat server-URL signature (Delivery/Gateways.md §5): `signature = lowercase hex
/// SHA1(concat(sort([token, timestamp, nonce])))`, sent in the query of every push and of the
/// URL verification handshake.
public enum WeChatSignature {
    /// The signature for `token`, `timestamp` and `nonce`.
    ///
    /// - Throws: ``ReceiptError`` `.unauthenticated` when OpenSSL cannot compute SHA-1.
    public static func compute(token: String, timestamp: String, nonce: String) throws(ReceiptError) -> String {
        let joined = [token, timestamp, nonce].sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            .joined()
        do {
            return Digest.hex(try Digest.sha1(joined))
        } catch {
            throw ReceiptError(.unauthenticated, "cannot compute the WeChat signature")
        }
    }

    /// Checks the query's `signature`, `timestamp` and `nonce` against `token`, and the timestamp's age.
    ///
    /// - Parameters:
    ///   - query: the request's query arguments.
    ///   - token: the token configured in the WeChat console.
    ///   - now: the current time, from the injected clock.
    ///   - maxAge: the largest accepted distance between `timestamp` and `now` (either side);
    ///     nil accepts any timestamp.
    /// - Throws: ``ReceiptError`` `.unauthenticated` when a parameter is missing, the signature does
    ///   not match (compared in constant time) or the timestamp is out of the window.
    public static func verify(
        query: [(name: String, value: String)], token: String, now: Date, maxAge: Duration?
    ) throws(ReceiptError) {
        func value(_ name: String) -> String? { query.first { $0.name == name }?.value }
        guard let signature = value("signature"), let timestamp = value("timestamp"), let nonce = value("nonce")
        else { throw ReceiptError(.unauthenticated, "missing WeChat signature parameters") }
        let expected = try compute(token: token, timestamp: timestamp, nonce: nonce)
        guard ConstantTime.equals(expected, signature.lowercased()) else {
            throw ReceiptError(.unauthenticated, "WeChat signature mismatch")
        }
        if let maxAge {
            guard let seconds = Int64(timestamp) else {
                throw ReceiptError(.unauthenticated, "WeChat timestamp is not a number")
            }
            let skew = abs(now.timeIntervalSince1970 - Double(seconds))
            let limit = maxAge.seconds
            guard skew <= limit else { throw ReceiptError(.unauthenticated, "WeChat timestamp outside the window") }
        }
    }
}
