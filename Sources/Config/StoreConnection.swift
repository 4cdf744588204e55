import Foundation

/// A PostgreSQL store as `store.url` and `store.password_file` name it (issue 13): the connection
/// string, without a password, and the libpq password file that holds one.
///
/// A password never sits in the configuration: the file is read by operators, copied into bug
/// reports and kept in version control. It belongs in a passfile (`.pgpass` format, mode 0600), for
/// instance one systemd's `LoadCredential=` places in `$CREDENTIALS_DIRECTORY`.
public struct StoreConnection: Sendable, Hashable {
    /// A `postgres://` URL or a libpq `key=value` string, checked to hold no password.
    public var url: String
    /// The libpq passfile, resolved like the configuration's other paths; `nil` for libpq's default
    /// (`$PGPASSFILE`, then `~/.pgpass`).
    public var passwordFile: String?

    /// The keys whose values are secrets (`sslpassword` unlocks the client's TLS key).
    static let secretKeys: Set<String> = ["password", "sslpassword"]

    /// What the store is opened with (`Store.open(url:)`): the URL with the password file added
    /// as libpq's `passfile` option.
    public var location: String {
        guard let passwordFile else { return url }
        if Self.isURL(url) {
            let encoded = passwordFile.addingPercentEncoding(withAllowedCharacters: Self.queryValueCharacters) ?? ""
            return url + (url.contains("?") ? "&" : "?") + "passfile=" + encoded
        }
        let quoted = passwordFile.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(
            of: "'", with: "\\'")
        return url + " passfile='\(quoted)'"
    }

    /// Why `text` cannot be `store.url`, or `nil` when it can.
    static func problem(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if isURL(trimmed) {
            return urlHasPassword(trimmed)
                ? "holds a password; put it in a libpq password file named by store.password_file" : nil
        }
        guard let keys = keyValueKeys(trimmed) else {
            return "expected a postgres:// URL or a libpq key=value string (a SQLite file goes in store.path)"
        }
        if let secret = keys.first(where: secretKeys.contains) {
            return "sets \(secret); put the password in a libpq password file named by store.password_file"
        }
        return nil
    }

    static func isURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// A URL's user information holds `user:password`; its query may hold `password=…`.
    private static func urlHasPassword(_ url: String) -> Bool {
        let rest = url[url.range(of: "://")!.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        if let at = authority.lastIndex(of: "@"), authority[..<at].contains(":") { return true }
        guard let query = rest.firstIndex(of: "?").map({ rest[rest.index(after: $0)...] }) else { return false }
        return query.split(separator: "&").contains { parameter in
            let key = parameter.prefix { $0 != "=" }
            return secretKeys.contains(key.removingPercentEncoding ?? String(key))
        }
    }

    /// The keys of a libpq `key = value` string (values bare or single-quoted, `\` escaping), or
    /// `nil` when it is not one.
    private static func keyValueKeys(_ text: String) -> [String]? {
        var keys: [String] = []
        var index = text.startIndex
        func skipSpaces() {
            while index < text.endIndex, text[index].isWhitespace { index = text.index(after: index) }
        }
        skipSpaces()
        while index < text.endIndex {
            let keyStart = index
            while index < text.endIndex, text[index].isLetter || text[index] == "_" { index = text.index(after: index) }
            let key = String(text[keyStart..<index])
            skipSpaces()
            guard !key.isEmpty, index < text.endIndex, text[index] == "=" else { return nil }
            index = text.index(after: index)
            skipSpaces()
            if index < text.endIndex, text[index] == "'" {
                index = text.index(after: index)
                while index < text.endIndex, text[index] != "'" {
                    if text[index] == "\\" { index = text.index(after: index) }
                    if index < text.endIndex { index = text.index(after: index) }
                }
                guard index < text.endIndex else { return nil }
                index = text.index(after: index)
            } else {
                while index < text.endIndex, !text[index].isWhitespace { index = text.index(after: index) }
            }
            keys.append(key)
            skipSpaces()
        }
        return keys.isEmpty ? nil : keys
    }

    /// Characters a query value keeps as they are.
    private static let queryValueCharacters: CharacterSet = {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+#")
        return allowed
    }()
}
