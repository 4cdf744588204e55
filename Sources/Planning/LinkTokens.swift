import Config
import Delivery
import Foundation
import Messaging

#if canImport(Glibc)
    import Glibc
#endif

/// The keyed tokens of package links: HMAC-SHA256 of the campaign id and the credit code under
/// a secret, the first 64 bits written as 11 base62 characters (`PackageLink.tokenLength`).
///
/// Stable for one campaign (re-planning prints the same links), different across campaigns, and
/// not computable without the secret.
public struct LinkTokens: Sendable {
    private let secret: [UInt8]

    /// - Throws: `DigestError` when OpenSSL cannot compute an HMAC at all.
    public init(secret: [UInt8]) throws {
        self.secret = secret
        _ = try Digest.hmacSHA256(key: secret, data: [])
    }

    /// The token of `creditCode`'s package in `campaign` (0: a preview, no campaign yet).
    public func token(campaign: Int64, creditCode: String) -> String {
        // `init` proved HMAC works; should OpenSSL fail later, the link reads as the placeholder, never unkeyed.
        guard let mac = try? Digest.hmacSHA256(key: secret, data: Array("\(campaign)|\(creditCode)".utf8)) else {
            return PackageLink.placeholder.token(for: creditCode)
        }
        let value = mac.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return PackageLink.base62(value)
    }

    /// The tokens of one campaign, for `PackageRenderer`.
    public func link(campaign: Int64) -> PackageLink {
        let tokens = self
        return PackageLink { tokens.token(campaign: campaign, creditCode: $0) }
    }

    /// Reads the secret from `settings.secretFile`; the default file is generated on first use.
    ///
    /// - Throws: `ConfigurationError` naming the file, never the secret.
    public static func load(_ settings: LandingSettings) throws -> LinkTokens {
        let path = settings.secretFile
        if !settings.secretFileConfigured, !FileManager.default.fileExists(atPath: path) {
            try generate(at: path)
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(file: path, problems: ["landing.secret_file: cannot read the secret file"])
        }
        let secret = Array(
            String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).utf8)
        guard secret.count >= 16 else {
            throw ConfigurationError(
                file: path, problems: ["landing.secret_file: the secret must be at least 16 characters"])
        }
        return try LinkTokens(secret: secret)
    }

    /// Writes 32 random bytes (64 hex digits) to `path`, mode 0600, unless another process wins
    /// the race: the file appears whole (written aside, then hard-linked) or not at all.
    private static func generate(at path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let text = Array((Digest.hex(bytes) + "\n").utf8)
        let temporary = path + ".\(getpid()).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            throw ConfigurationError(file: path, problems: ["landing.secret_file: cannot create the secret file"])
        }
        defer { unlink(temporary) }
        let written = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == text.count, synced == 0 else {
            throw ConfigurationError(file: path, problems: ["landing.secret_file: cannot write the secret file"])
        }
        if Glibc.link(temporary, path) != 0, errno != EEXIST {
            throw ConfigurationError(file: path, problems: ["landing.secret_file: cannot create the secret file"])
        }
    }
}
