/// The providers a stub gateway can imitate.
public enum StubKind: String, Sendable, Hashable, CaseIterable {
    case aliyun, tencent, wechat, generic
}
