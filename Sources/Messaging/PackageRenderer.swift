import Registry
import Rules

/// Renders one policy package per enterprise and channel from a `TemplateSet`.
public struct PackageRenderer: Sendable {
    public let templates: TemplateSet

    public init(templates: TemplateSet) {
        self.templates = templates
    }

    /// The SMS text with signature and opt-out suffix, fitted to the segment budget.
    ///
    /// - Parameter policies: the matched policies, already ordered by priority (first = most important).
    public func renderSMS(for enterprise: Enterprise, policies: [PolicyProfile]) -> RenderedSMS {
        fatalError("unimplemented")
    }

    public func renderWeChat(for enterprise: Enterprise, policies: [PolicyProfile]) -> RenderedWeChat {
        fatalError("unimplemented")
    }
}

public struct RenderedSMS: Sendable, Hashable, Codable {
    /// Full text as the handset shows it: `【签名】` + body + opt-out suffix.
    public var text: String
    public var length: Int
    public var segments: Int
    /// Policies named in the text; the rest are summarised (`等N项`).
    public var includedPolicies: Int
}

public struct RenderedWeChat: Sendable, Hashable, Codable {
    public struct Field: Sendable, Hashable, Codable {
        public var key: String
        public var value: String
    }
    public var templateID: String
    public var url: String?
    public var fields: [Field]
}
