import Registry

/// The per-enterprise token of the package landing page.
///
/// The token is stable across runs and machines (FNV-1a 64 of the credit code's UTF-8,
/// reduced modulo 62⁸ and written as 8 base62 digits), so a link printed in one run opens
/// the same package in the next. It is an identifier, not a secret.
public enum PackageLink {
    public static let tokenLength = 8

    private static let alphabet: [UInt8] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// The 8-character base62 token for a credit code.
    public static func token(for creditCode: String) -> String {
        let hash = FNV1a.hash(creditCode)
        return String(unsafeUninitializedCapacity: tokenLength) { buffer in
            var value = hash
            for i in stride(from: tokenLength - 1, through: 0, by: -1) {
                buffer[i] = alphabet[Int(value % 62)]
                value /= 62
            }
            return tokenLength
        }
    }
}
