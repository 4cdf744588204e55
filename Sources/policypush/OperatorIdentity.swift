import Foundation
import Storage

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Who runs this command, as the audit trail and four-eyes approval name them.
///
/// The identity is what the environment says, not a proof: it tells operators apart who share
/// a machine honestly (sudo's `SUDO_USER`), which is what four eyes guards against: one person's
/// mistake. Someone who can write the store can impersonate anyone; the audit trail's hash chain
/// shows afterwards what was changed.
enum OperatorIdentity {
    /// `POLICYPUSH_OPERATOR` when set and non-empty (tests, and service accounts that act for a
    /// named person); else `SUDO_USER` when set and non-empty (run through sudo, the person
    /// behind it); else the login name of the effective user (`getpwuid(geteuid())`); else
    /// `uid N`.
    static func current(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        for variable in ["POLICYPUSH_OPERATOR", "SUDO_USER"] {
            if let name = environment[variable]?.trimmingCharacters(in: .whitespacesAndNewlines), !name.isEmpty {
                return name
            }
        }
        let uid = geteuid()
        if let entry = getpwuid(uid), let name = entry.pointee.pw_name {
            let login = String(cString: name)
            if !login.isEmpty { return login }
        }
        return "uid \(uid)"
    }

    /// The audit context of an action by the current operator.
    static func audit(
        _ arguments: [(String, String?)], environment: [String: String] = ProcessInfo.processInfo.environment
    )
        -> AuditContext
    {
        AuditContext(operatorName: current(environment: environment), arguments: AuditArguments.text(arguments))
    }
}

/// An action's arguments as the audit trail stores them: `key=value` pairs separated by
/// spaces, a value quoted (with `\"` and `\\` escaped) when it holds a space, a quote, a
/// backslash or `=`; absent values are left out.
enum AuditArguments {
    static func text(_ pairs: [(String, String?)]) -> String {
        pairs.compactMap { key, value in value.map { "\(key)=\(quoted($0))" } }.joined(separator: " ")
    }

    static func quoted(_ value: String) -> String {
        let plain = !value.isEmpty && !value.contains { $0.isWhitespace || $0 == "\"" || $0 == "\\" || $0 == "=" }
        if plain { return value }
        return "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            + "\""
    }
}
