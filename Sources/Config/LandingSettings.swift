import Foundation

/// `landing` in the config: the package landing page and the secret of its link tokens.
public struct LandingSettings: Sendable {
    /// The secret that keys link tokens (`landing.secret_file`). Default: `<state_dir>/landing.secret`,
    /// generated (32 random bytes, hex, mode 0600) on first use; a file named in the config must
    /// exist (e.g. `$CREDENTIALS_DIRECTORY/landing-secret` under systemd's `LoadCredential=`).
    public var secretFile = ""
    /// Whether `secretFile` came from the config (then it is never generated).
    public var secretFileConfigured = false
    /// Address of the landing page listener (`landing.listen`, `host:port`); `nil`: not served.
    public var listen: (host: String, port: Int)?
    /// How long a campaign's pages are served after the campaign starts (`landing.ttl_days`,
    /// 1–3650, default 90); older links get the plain 404.
    public var ttlDays = 90
    /// Requests one client address may make per minute, sustained (`landing.rate_per_minute`,
    /// 0–6000, default 30; 0 turns the limit off); beyond it the listener answers 429.
    public var ratePerMinute = 30
    /// Requests one client address may make at once before the per-minute rate applies
    /// (`landing.rate_burst`, 1–1000, default 10).
    public var rateBurst = 10
    /// Reverse proxies whose `X-Forwarded-For` names the client (`landing.trusted_proxies`,
    /// numeric addresses, default none): behind one, every request comes from the proxy's address,
    /// so the limit counts the address the proxy appended instead.
    public var trustedProxies: [String] = []

    public init() {}
}

extension LandingSettings {
    /// `text` as a numeric IPv4 or IPv6 address in the form the listener reports peers
    /// (`::1`, not `0:0::1`), or nil when it is not one.
    public static func canonicalAddress(_ text: String) -> String? {
        var buffer = [UInt8](repeating: 0, count: 16)
        var out = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        for family in [AF_INET, AF_INET6] where inet_pton(family, text, &buffer) == 1 {
            guard inet_ntop(family, buffer, &out, socklen_t(out.count)) != nil else { return nil }
            return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return nil
    }
}
