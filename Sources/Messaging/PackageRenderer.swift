import Kit
import Registry
import Rules

/// Renders one policy package per enterprise and channel from a `TemplateSet`.
///
/// Rendering cannot fail: every template was compiled and checked when the set loaded. Each
/// call measures the text from precomputed segment lengths, decides how many policies to
/// name, and builds the string once.
public struct PackageRenderer: Sendable {
    public let templates: TemplateSet
    /// The token of each `{link}`: one campaign's keyed tokens (Planning's `LinkTokens`).
    public var link: PackageLink

    /// - Parameter link: the tokens `{link}` prints; `.placeholder` (all zeros, same length) only
    ///   where no message is sent.
    public init(templates: TemplateSet, link: PackageLink = .placeholder) {
        self.templates = templates
        self.link = link
    }

    /// The same templates with `link`'s tokens.
    public func with(link: PackageLink) -> PackageRenderer {
        var copy = self
        copy.link = link
        return copy
    }

    private func fill(_ enterprise: Enterprise, _ policies: [PolicyProfile]) -> PackageFill {
        PackageFill(
            enterprise: enterprise, policies: policies, package: templates.package, schema: templates.schema,
            link: link)
    }

    // MARK: SMS

    /// The SMS text with signature and opt-out suffix, fitted to the segment budget.
    ///
    /// Registry text is printed as `RegistryText.sanitized` makes it, at most
    /// `RegistryText.maximumLength` (30) characters. When the whole package does not fit
    /// `max_segments`, a name over 12 characters is shortened first (ending in `…`), down to 12,
    /// if that lets more policies be named; then `{policies}` names the first k policies (the
    /// largest k that fits) followed by `more` (`等N项`); when not even one fits, it becomes the
    /// `summary` (`N项`); when even that does not fit, the name is shortened below 12 until it
    /// does, so the link is never pushed out. A template too long without any name has its body
    /// cut at 500 characters (ending in `…`) before the opt-out suffix; `segments` is always the
    /// real count.
    ///
    /// - Parameter policies: the matched policies, already ordered by priority (first = most important).
    public func renderSMS(for enterprise: Enterprise, policies: [PolicyProfile]) -> RenderedSMS {
        let sms = templates.sms
        var fill = fill(enterprise, policies)
        let layout = fill.layout(sms.body, frame: sms.frameLength, budget: sms.lengthBudget, summary: sms.summaryText)
        var text = sms.prefix
        var length = layout.length
        if length <= SMSLength.maximumLength {
            text.reserveCapacity(sms.prefix.utf8.count + length * 3 + sms.optOut.utf8.count)
            fill.append(sms.body, choice: layout.choice, summary: sms.summaryText, to: &text)
        } else {
            var body = ""
            fill.append(sms.body, choice: layout.choice, summary: sms.summaryText, to: &body)
            text += TextMetrics.truncated(body, to: SMSLength.maximumLength - sms.frameLength)
            length = SMSLength.count(text) + sms.optOut.count
        }
        text += sms.optOut
        return RenderedSMS(
            text: text, length: length, segments: SMSLength.segments(forLength: length),
            includedPolicies: Self.included(layout.choice, of: policies.count))
    }

    /// Length and billed segments of the SMS `renderSMS` would produce, without building its text.
    public func smsCost(for enterprise: Enterprise, policies: [PolicyProfile]) -> (length: Int, segments: Int) {
        let sms = templates.sms
        var fill = fill(enterprise, policies)
        let layout = fill.layout(sms.body, frame: sms.frameLength, budget: sms.lengthBudget, summary: sms.summaryText)
        let length = min(layout.length, SMSLength.maximumLength)
        return (length, SMSLength.segments(forLength: length))
    }

    private static func included(_ choice: PolicyChoice, of count: Int) -> Int {
        switch choice {
        case .all: count
        case .first(let k): k
        case .summary: 0
        }
    }

    // MARK: Template messages and gateway parameters

    /// The WeChat template message: each field held to its `max_length` (`…` included), a name
    /// sharing a field with `{policies}` shortened before the policies are cut.
    public func renderWeChat(for enterprise: Enterprise, policies: [PolicyProfile]) -> RenderedWeChat {
        let wechat = templates.wechat
        let fill = fill(enterprise, policies)
        var url: String?
        if let urlText = wechat.urlText {
            var text = ""
            fill.append(urlText, choice: .all, summary: templates.package.summaryText, to: &text)
            url = text
        }
        return RenderedWeChat(
            templateID: wechat.templateID, url: url,
            fields: wechat.fields.map { .init(key: $0.key, value: render($0, fill)) })
    }

    /// The Aliyun `SendSms` parameters, or `nil` when the set has no `aliyun.json5`.
    ///
    /// Every value is a string held to its parameter's limit (35 by default).
    public func renderAliyun(for enterprise: Enterprise, policies: [PolicyProfile]) -> AliyunSMS? {
        guard let aliyun = templates.aliyun else { return nil }
        let fill = fill(enterprise, policies)
        return AliyunSMS(
            templateCode: aliyun.templateCode, signName: aliyun.signName,
            params: aliyun.params.map { .init(key: $0.key, value: render($0, fill)) })
    }

    /// The Tencent Cloud `SendSms` parameters, or `nil` when the set has no `tencent.json5`.
    ///
    /// `params[i]` fills `{i+1}` of the template, each held to its limit (20 by default).
    public func renderTencent(for enterprise: Enterprise, policies: [PolicyProfile]) -> TencentSMS? {
        guard let tencent = templates.tencent else { return nil }
        let fill = fill(enterprise, policies)
        return TencentSMS(
            templateID: tencent.templateID, signName: tencent.signName, params: tencent.params.map { render($0, fill) })
    }

    /// One field fitted to its limit: fewer policies named first, then a shorter name, then cut with `…`.
    private func render(_ field: TemplateSet.Field, _ fill: PackageFill) -> String {
        var fill = fill
        let summary = templates.package.summaryText
        let layout = fill.layout(field.text, frame: 0, budget: field.maxLength ?? .max, summary: summary)
        var text = ""
        fill.append(field.text, choice: layout.choice, summary: summary, to: &text)
        if let limit = field.maxLength, layout.length > limit { return TextMetrics.truncated(text, to: limit) }
        return text
    }
}

public struct RenderedSMS: Sendable, Hashable, Codable {
    /// Full text as the handset shows it: `【签名】` + body + opt-out suffix.
    public var text: String
    public var length: Int
    public var segments: Int
    /// Policies named in the text; the rest are summarised (`等N项`).
    public var includedPolicies: Int

    public init(text: String, length: Int, segments: Int, includedPolicies: Int) {
        self.text = text
        self.length = length
        self.segments = segments
        self.includedPolicies = includedPolicies
    }
}

public struct RenderedWeChat: Sendable, Hashable, Codable {
    public struct Field: Sendable, Hashable, Codable {
        public var key: String
        public var value: String

        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }
    public var templateID: String
    public var url: String?
    public var fields: [Field]

    public init(templateID: String, url: String?, fields: [Field]) {
        self.templateID = templateID
        self.url = url
        self.fields = fields
    }
}

/// Parameters of an Aliyun `SendSms` call for one enterprise.
public struct AliyunSMS: Sendable, Hashable, Codable {
    /// One template variable; Aliyun accepts string values only.
    public struct Param: Sendable, Hashable, Codable {
        public var key: String
        public var value: String

        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }
    public var templateCode: String
    /// Without brackets: the platform adds `【】`.
    public var signName: String
    /// In the order of `aliyun.json5`.
    public var params: [Param]

    public init(templateCode: String, signName: String, params: [Param]) {
        self.templateCode = templateCode
        self.signName = signName
        self.params = params
    }

    /// `TemplateParam` as Aliyun expects it: a JSON object of strings, keys in template order.
    public var templateParam: String {
        var json = "{"
        for (i, param) in params.enumerated() {
            if i > 0 { json += "," }
            Self.appendJSONString(param.key, to: &json)
            json += ":"
            Self.appendJSONString(param.value, to: &json)
        }
        return json + "}"
    }

    private static func appendJSONString(_ string: String, to json: inout String) {
        json += "\""
        JSONText.append(escaped: string, to: &json)
        json += "\""
    }
}

/// Parameters of a Tencent Cloud `SendSms` call for one enterprise.
public struct TencentSMS: Sendable, Hashable, Codable {
    public var templateID: String
    public var signName: String
    /// `TemplateParamSet`: `params[0]` fills `{1}`, and so on; all strings.
    public var params: [String]

    public init(templateID: String, signName: String, params: [String]) {
        self.templateID = templateID
        self.signName = signName
        self.params = params
    }
}
