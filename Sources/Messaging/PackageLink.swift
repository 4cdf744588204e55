/// How a message names the enterprise's package landing page: the `{token}` of a `{link}`.
///
/// The token is a keyed hash of the campaign and the credit code, made by the function this
/// value carries (Planning's `LinkTokens`, an HMAC-SHA256 under a secret that never leaves the
/// machine), so nobody can compute another enterprise's link. Messaging only prints and measures
/// it: every token is `tokenLength` base62 characters.
public struct PackageLink: Sendable {
    /// 11 base62 characters carry 64 bits (62¹¹ > 2⁶⁴).
    public static let tokenLength = 11

    private let derive: @Sendable (_ creditCode: String) -> String

    /// - Parameter derive: the token of a credit code; must return `tokenLength` base62 characters.
    public init(derive: @escaping @Sendable (_ creditCode: String) -> String) {
        self.derive = derive
    }

    /// The token of `creditCode`'s package.
    public func token(for creditCode: String) -> String { derive(creditCode) }

    /// Every token reads `00000000000`: for measuring and for tests, never for a message sent.
    public static let placeholder = PackageLink { _ in String(repeating: "0", count: tokenLength) }

    private static let alphabet: [UInt8] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// `value` as `tokenLength` base62 digits, most significant first.
    public static func base62(_ value: UInt64) -> String {
        String(unsafeUninitializedCapacity: tokenLength) { buffer in
            var value = value
            for i in stride(from: tokenLength - 1, through: 0, by: -1) {
                buffer[i] = alphabet[Int(value % 62)]
                value /= 62
            }
            return tokenLength
        }
    }
}
