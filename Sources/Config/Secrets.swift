import Foundation

extension GatewaySettings.SecretSource {
    /// Reads a single secret: the whole file (trimmed) or one environment variable.
    ///
    /// - Throws: `ConfigurationError` naming the file or variable, never the value.
    public func secret(for key: String, environment: [String: String]) throws -> String? {
        switch self {
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConfigurationError(file: path, problems: ["\(key): cannot read the secret file"])
            }
            let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty else {
                throw ConfigurationError(file: path, problems: ["\(key): the secret file is empty"])
            }
            return text
        case .environment(let name):
            guard let value = environment[name], !value.isEmpty else {
                throw ConfigurationError(file: "environment", problems: ["\(key): $\(name) is not set"])
            }
            return value
        }
    }
}
