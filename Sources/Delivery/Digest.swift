internal import COpenSSL

/// A failure reported by OpenSSL while hashing.
///
/// OpenSSL 3 resolves algorithms through providers, so a broken `openssl.cnf` can make even
/// SHA-256 unavailable at run time; callers see that as this error rather than a crash.
public struct DigestError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The algorithm that failed, e.g. `SHA256`.
    public var algorithm: String
    /// What was attempted.
    public var message: String

    public var description: String { "DigestError" }
}

/// One-shot message digests and HMACs through OpenSSL's libcrypto, plus the encodings
/// gateway signatures need.
public enum Digest {
    /// SHA-256 of `data`.
    public static func sha256(_ data: [UInt8]) throws -> [UInt8] { try digest("SHA256", data) }

    /// SHA-256 of the UTF-8 bytes of `text`.
    public static func sha256(_ text: String) throws -> [UInt8] { try digest("SHA256", Array(text.utf8)) }

    /// SHA-1 of `data`.
    public static func sha1(_ data: [UInt8]) throws -> [UInt8] { try digest("SHA1", data) }

    /// SHA-1 of the UTF-8 bytes of `text`.
    public static func sha1(_ text: String) throws -> [UInt8] { try digest("SHA1", Array(text.utf8)) }

    /// HMAC-SHA1 of `data` under `key`.
    public static func hmacSHA1(key: [UInt8], data: [UInt8]) throws -> [UInt8] { try hmac("SHA1", key, data) }

    /// HMAC-SHA1 of the UTF-8 bytes of `data` under the UTF-8 bytes of `key`.
    public static func hmacSHA1(key: String, data: String) throws -> [UInt8] {
        try hmac("SHA1", Array(key.utf8), Array(data.utf8))
    }

    /// HMAC-SHA256 of `data` under `key`.
    public static func hmacSHA256(key: [UInt8], data: [UInt8]) throws -> [UInt8] { try hmac("SHA256", key, data) }

    /// HMAC-SHA256 of the UTF-8 bytes of `data` under the UTF-8 bytes of `key`.
    public static func hmacSHA256(key: String, data: String) throws -> [UInt8] {
        try hmac("SHA256", Array(key.utf8), Array(data.utf8))
    }

    /// Lowercase hexadecimal, two digits a byte.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Standard Base64 (RFC 4648 section 4) with `=` padding and no line breaks.
    public static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out = [UInt8]()
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let remaining = bytes.count - index
            let b0 = UInt32(bytes[index])
            let b1 = remaining > 1 ? UInt32(bytes[index + 1]) : 0
            let b2 = remaining > 2 ? UInt32(bytes[index + 2]) : 0
            let group = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[Int(group >> 18 & 0x3f)])
            out.append(alphabet[Int(group >> 12 & 0x3f)])
            out.append(remaining > 1 ? alphabet[Int(group >> 6 & 0x3f)] : UInt8(ascii: "="))
            out.append(remaining > 2 ? alphabet[Int(group & 0x3f)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The largest digest OpenSSL produces (`EVP_MAX_MD_SIZE`).
    private static let maximumLength = 64

    private static func digest(_ algorithm: String, _ data: [UInt8]) throws -> [UInt8] {
        let length = data.withUnsafeBytes { input in
            withOutput { output in copenssl_digest(algorithm, input.baseAddress, input.count, output) }
        }
        guard let length else {
            throw DigestError(algorithm: algorithm, message: "EVP_Digest failed")
        }
        return length
    }

    private static func hmac(_ algorithm: String, _ key: [UInt8], _ data: [UInt8]) throws -> [UInt8] {
        guard let keyLength = Int32(exactly: key.count) else {
            throw DigestError(algorithm: algorithm, message: "HMAC key longer than Int32.max bytes")
        }
        let mac = key.withUnsafeBytes { keyBytes in
            data.withUnsafeBufferPointer { input in
                withOutput { output in
                    copenssl_hmac(algorithm, keyBytes.baseAddress, keyLength, input.baseAddress, input.count, output)
                }
            }
        }
        guard let mac else { throw DigestError(algorithm: algorithm, message: "HMAC failed") }
        return mac
    }

    /// Runs `body` with a digest-sized buffer; `nil` when it reports length 0 (OpenSSL's failure value).
    private static func withOutput(_ body: (UnsafeMutablePointer<UInt8>) -> UInt32) -> [UInt8]? {
        var failed = false
        let bytes = [UInt8](unsafeUninitializedCapacity: maximumLength) { buffer, count in
            // A zeroed buffer keeps the array fully initialised whatever OpenSSL writes.
            buffer.initialize(repeating: 0)
            guard let base = buffer.baseAddress else {
                failed = true
                count = 0
                return
            }
            let length = Int(body(base))
            failed = length == 0 || length > maximumLength
            count = failed ? 0 : length
        }
        return failed ? nil : bytes
    }
}
