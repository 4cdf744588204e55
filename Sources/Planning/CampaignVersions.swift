import Config
import Delivery
import Foundation
import Rules

/// Content hashes that pin what a campaign was started with: each policy profile and the
/// template set, so a report can tell which version of a text an enterprise received.
public enum CampaignVersions {
    /// The first 16 hex digits of the SHA-256 of each policy profile's file, by policy id.
    ///
    /// Ids not in the catalog, or whose file cannot be read, are absent.
    public static func policyVersions(_ catalog: PolicyCatalog, ids: [String]) -> [String: String] {
        var versions: [String: String] = [:]
        for id in ids {
            guard let entry = catalog.entry(id: id),
                let data = FileManager.default.contents(atPath: entry.profile.file),
                let hash = try? Digest.sha256([UInt8](data))
            else { continue }
            versions[id] = String(Digest.hex(hash).prefix(16))
        }
        return versions
    }

    /// The first 16 hex digits of a SHA-256 over the sorted relative names and contents of
    /// every regular file under the templates directory (hidden files left out).
    ///
    /// Renaming, adding, removing or editing a template changes it; an unreadable directory
    /// hashes as empty.
    public static func templateVersion(directory: String) -> String {
        let root = URL(fileURLWithPath: directory).standardizedFileURL
        var names: [String] = []
        if let enumerator = FileManager.default.enumerator(
            at: root, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles])
        {
            for case let url as URL in enumerator {
                guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
                let path = url.standardizedFileURL.path
                let prefix = root.path.hasSuffix("/") ? root.path : root.path + "/"
                names.append(path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : url.lastPathComponent)
            }
        }
        var bytes: [UInt8] = []
        for name in names.sorted() {
            let contents = FileManager.default.contents(atPath: root.appendingPathComponent(name).path) ?? Data()
            bytes += Array(name.utf8) + [0]
            bytes += Array(String(contents.count).utf8) + [0]
            bytes += [UInt8](contents)
        }
        let hash = (try? Digest.sha256(bytes)) ?? []
        return String(Digest.hex(hash).prefix(16))
    }
}
