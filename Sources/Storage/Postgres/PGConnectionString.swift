internal import CPostgreSQL

/// Where a PostgreSQL store is: a `postgres://` URL (as `store.url` holds it) or a libpq
/// `key=value` string.
///
/// libpq parses it (`PQconninfoParse`), so both forms mean exactly what they mean to `psql`, and
/// an unknown key is an error here rather than at connect time. `description` leaves secrets out,
/// so a connection string can be named in a log or an error.
struct PGConnectionString: Sendable, CustomStringConvertible {
    /// The keys whose values never appear in a description or an error.
    static let secretKeys: Set<String> = ["password", "sslpassword"]

    /// The options that were set, in libpq's order.
    let options: [Option]

    struct Option: Sendable, Hashable {
        var key: String
        var value: String
    }

    /// Parses `text`, failing with `.invalidValue` and libpq's reason.
    ///
    /// libpq's reason may quote a fragment of the text, which may be a password; quoted fragments
    /// are masked.
    init(_ text: String) throws {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let parsed = PQconninfoParse(text, &errorMessage) else {
            let reason = errorMessage.map { String(cString: $0) } ?? "out of memory"
            PQfreemem(errorMessage)
            throw StorageError(
                code: .invalidValue,
                message: "invalid PostgreSQL connection string: \(Self.maskingQuotes(reason).singleLine)")
        }
        defer { PQconninfoFree(parsed) }
        var options: [Option] = []
        var option = parsed
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val {
                options.append(Option(key: String(cString: keyword), value: String(cString: value)))
            }
            option += 1
        }
        self.options = options
    }

    /// The value set for `key` (`host`, `port`, `dbname`, `user`, …), if any.
    subscript(key: String) -> String? {
        options.first { $0.key == key }?.value
    }

    /// The options with `overrides` replacing or adding values: what `PGConnection` connects with.
    func with(_ overrides: [String: String]) -> [Option] {
        options.filter { overrides[$0.key] == nil } + overrides.sorted { $0.key < $1.key }.map(Option.init)
    }

    /// `key=value` pairs without the secrets.
    var description: String {
        options.filter { !Self.secretKeys.contains($0.key) }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }

    /// `text` with everything between double quotes replaced by `…`.
    private static func maskingQuotes(_ text: String) -> String {
        var masked = ""
        var inQuotes = false
        for character in text {
            if character == "\"" {
                masked.append(inQuotes ? "…\"" : "\"")
                inQuotes.toggle()
            } else if !inQuotes {
                masked.append(character)
            }
        }
        return masked
    }
}

extension String {
    /// libpq's message on one line, fit for a log field: it ends messages with a newline and
    /// continues long ones on tab-indented lines.
    var singleLine: String {
        split(whereSeparator: { $0.isNewline || $0 == "\t" }).joined(separator: " ")
    }
}
