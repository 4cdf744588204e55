import Delivery

/// The campaign's control group: the eligible enterprises held out at random, so uptake among
/// them says what would have happened without the push.
///
/// The assignment is a pure function of the campaign's seed and the credit code, so anyone can
/// recompute it from the store alone (the seed and the percentage are stored with the campaign):
///
///     h = HMAC-SHA256(key: UTF-8 bytes of seed, message: UTF-8 bytes of credit code)
///     u = (first 8 bytes of h as a big-endian UInt64 >> 11) / 2^53        // uniform in [0, 1)
///     control  ⇔  u < percent / 100
///
/// It depends on nothing planning looks at afterwards (frequency caps, de-duplication,
/// opt-outs, `--max`), so the two groups stay comparable: each is a random sample of the same
/// eligible enterprises.
public struct ControlGroup: Sendable, Hashable {
    /// The share held out, in percent (0–50).
    public var percent: Double
    public var seed: String

    public init(percent: Double, seed: String) {
        self.percent = percent
        self.seed = seed
    }

    /// The campaign's control group, or `nil` when it holds none out.
    public init?(percent: Double, seed: String?) {
        guard percent > 0, let seed, !seed.isEmpty else { return nil }
        self.init(percent: percent, seed: seed)
    }

    /// `u` above: the enterprise's draw, uniform in [0, 1).
    public static func draw(seed: String, creditCode: String) -> Double {
        // HMAC-SHA256 fails only if OpenSSL cannot allocate; a draw of 1 then keeps the enterprise
        // in the pushed group, never silently in the control group.
        guard let mac = try? Digest.hmacSHA256(key: seed, data: creditCode) else { return 1 }
        let high = mac.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Double(high >> 11) * 0x1.0p-53
    }

    /// Whether the enterprise is held out.
    public func contains(_ creditCode: String) -> Bool {
        Self.draw(seed: seed, creditCode: creditCode) < percent / 100
    }
}
