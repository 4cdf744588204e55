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

    public init() {}
}
