/// One rendered message, ready for a gateway adapter.
///
/// Delivery does not know about enterprises or policies: the engine maps a rendered package
/// (SMS text, Aliyun/Tencent template parameters, WeChat template data) onto this value.
public struct OutboundMessage: Sendable, Hashable {
    /// An ordered key/value pair: Aliyun `TemplateParam` names, Tencent positions (`"1"`, `"2"`,
    /// …), WeChat `data` keys, or the generic gateway's fields.
    public struct Param: Sendable, Hashable, Codable {
        public var key: String
        public var value: String
        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    /// Our message id: the idempotency key, echoed back by providers as `OutId`,
    /// `SessionContext`, `client_msg_id` or `Idempotency-Key`.
    public var id: String
    /// An 11-digit mainland mobile number or a WeChat openid.
    public var recipient: String
    /// The full SMS text as the handset shows it (generic gateway; length accounting).
    public var text: String?
    /// Aliyun `TemplateCode`, Tencent `TemplateId` or WeChat `template_id`.
    public var templateID: String?
    /// SMS signature without brackets.
    public var signName: String?
    public var params: [Param]
    /// WeChat template message link.
    public var url: String?

    public init(
        id: String, recipient: String, text: String? = nil, templateID: String? = nil, signName: String? = nil,
        params: [Param] = [], url: String? = nil
    ) {
        self.id = id
        self.recipient = recipient
        self.text = text
        self.templateID = templateID
        self.signName = signName
        self.params = params
        self.url = url
    }
}
