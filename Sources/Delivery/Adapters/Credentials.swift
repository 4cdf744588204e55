import Foundation

/// A gateway's key pair: Aliyun AccessKey, Tencent SecretId/SecretKey, WeChat AppID/AppSecret,
/// or the generic gateway's bearer token (in ``secret``; ``id`` may be empty).
///
/// Loaded from a ``CredentialSource``, never from the configuration file; its description masks
/// the secret.
public struct Credentials: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    public var id: String
    /// Never logged.
    public var secret: String

    public init(id: String, secret: String) {
        self.id = id
        self.secret = secret
    }

    /// `Credentials(id: LTAI****, secret: ****)`: four characters of the id, nothing of the secret.
    public var description: String {
        let shownID = id.count > 4 ? String(id.prefix(4)) + "****" : "****"
        return "Credentials(id: \(shownID), secret: ****)"
    }

    public var debugDescription: String { description }
}

/// Where a gateway's credentials come from.
///
/// - `.file(path)`: a JSON object `{"access_key_id": "...", "access_key_secret": "..."}`
///   (`access_key_id` may be omitted for a bearer token); keep the file mode `0600`.
/// - `.environment(prefix:)`: the variables `<prefix>_ACCESS_KEY_ID` and
///   `<prefix>_ACCESS_KEY_SECRET` (the id may be unset for a bearer token).
public enum CredentialSource: Sendable, Hashable {
    case file(String)
    case environment(prefix: String)

    /// Reads the credentials.
    ///
    /// - Parameter environment: the process environment, injectable for tests.
    /// - Throws: ``CredentialError`` naming the file or variable, never its content.
    public func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Credentials {
        switch self {
        case .file(let path):
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw CredentialError(code: .unreadable, location: path)
            }
            guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw CredentialError(code: .malformed, location: path)
            }
            guard let secret = object["access_key_secret"] as? String, !secret.isEmpty else {
                throw CredentialError(code: .missing, location: "\(path): access_key_secret")
            }
            if object["access_key_id"] != nil, !(object["access_key_id"] is String) {
                throw CredentialError(code: .malformed, location: "\(path): access_key_id")
            }
            return Credentials(id: object["access_key_id"] as? String ?? "", secret: secret)
        case .environment(let prefix):
            let secretName = prefix + "_ACCESS_KEY_SECRET"
            guard let secret = environment[secretName], !secret.isEmpty else {
                throw CredentialError(code: .missing, location: secretName)
            }
            return Credentials(id: environment[prefix + "_ACCESS_KEY_ID"] ?? "", secret: secret)
        }
    }
}

/// Why credentials could not be loaded.
public struct CredentialError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case unreadable = "file unreadable"
            case malformed = "not a JSON object of strings"
            case missing = "secret missing"
        }
        fileprivate let base: Base

        /// The file does not exist or cannot be read.
        public static let unreadable = Code(base: .unreadable)
        /// The file is not a JSON object, or a field is not a string.
        public static let malformed = Code(base: .malformed)
        /// The secret is absent or empty.
        public static let missing = Code(base: .missing)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The file path, `path: key`, or environment variable name concerned.
    public var location: String

    public init(code: Code, location: String) {
        self.code = code
        self.location = location
    }

    public var description: String { "credentials: \(code) (\(location))" }
}
