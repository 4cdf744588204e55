import Registry
import Rules

/// The message templates of a directory, checked when they load.
///
/// Every template string is compiled once into literal and placeholder segments; an unknown
/// placeholder, an unclosed `{` or a missing field fails the load, so rendering cannot fail.
public struct TemplateSet: Sendable {
    /// Shared settings from `package.json5`.
    public struct Package: Sendable {
        /// The landing page, with `{token}` replaced per enterprise.
        public var link: String { linkText.source }
        /// Joins short titles in `{policies}`. Default `、`.
        public var separator: String
        /// Appended when only the first policies are named, `{n}` = all of them. Default `等{n}项`.
        public var more: String { moreText.source }
        /// Replaces the list when not even one title fits. Default `{n}项`.
        ///
        /// It takes the list's place, so the text after `{policies}` follows it: with
        /// `可能符合{policies}税费优惠政策条件` the summary is `{n}项`, never `{n}项税费优惠政策`.
        public var summary: String { summaryText.source }

        let linkText: CompiledText<LinkPart>
        let moreText: CompiledText<CountPart>
        let summaryText: CompiledText<CountPart>
        let separatorLength: Int
    }

    /// The SMS from `sms.json5`.
    public struct SMS: Sendable {
        /// Sender signature, shown as `【signature】` at the start.
        public var signature: String
        /// Appended after the body and counted in the length, e.g. `回T退订`. Default `回T退订`.
        public var optOut: String
        /// The segment budget the package is fitted to. Default 2.
        public var maxSegments: Int
        public var text: String { body.source }
        /// Overrides `Package.summary` for SMS when set.
        public var summary: String { summaryText.source }

        let body: CompiledText<Placeholder>
        let summaryText: CompiledText<CountPart>
        let prefix: String
        /// Characters of `【signature】` plus the opt-out suffix.
        let frameLength: Int

        /// The largest length that stays within `maxSegments`.
        var lengthBudget: Int {
            maxSegments <= 1
                ? SMSLength.singleSegmentLimit
                : min(SMSLength.maximumLength, maxSegments * SMSLength.multipartSegmentSize)
        }
    }

    /// One placeholder text with an optional length limit (WeChat field, Aliyun or Tencent param).
    public struct Field: Sendable {
        public var key: String
        public var value: String { text.source }
        /// Characters the rendered value may have, `…` included; `nil` for no limit.
        public var maxLength: Int?

        let text: CompiledText<Placeholder>
    }

    /// The WeChat template message from `wechat.json5`.
    public struct WeChat: Sendable {
        public var templateID: String
        public var url: String? { urlText?.source }
        public var fields: [Field]

        let urlText: CompiledText<Placeholder>?
    }

    /// The Aliyun SMS template from `aliyun.json5`; params keep the file's order.
    public struct Aliyun: Sendable {
        /// Aliyun's limit for one template variable.
        public static let defaultMaxLength = 35

        public var templateCode: String
        public var signName: String
        public var params: [Field]
    }

    /// The Tencent Cloud SMS template from `tencent.json5`; params are positional (`{1}`, `{2}`, …).
    public struct Tencent: Sendable {
        /// Default limit for one template variable (individual accounts allow only 12).
        public static let defaultMaxLength = 20

        public var templateID: String
        public var signName: String
        public var params: [Field]
    }

    public let directory: String
    public let schema: AttributeSchema
    public let package: Package
    public let sms: SMS
    public let wechat: WeChat
    /// `nil` when the directory has no `aliyun.json5`.
    public let aliyun: Aliyun?
    /// `nil` when the directory has no `tencent.json5`.
    public let tencent: Tencent?
}

/// The only placeholder of `package.json5`'s `link`.
enum LinkPart: Sendable, Hashable { case token }

/// The only placeholder of `more` and `summary`: the number of policies.
enum CountPart: Sendable, Hashable { case count }

/// Template problems found at load time.
public struct TemplateError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]
    public init(diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
