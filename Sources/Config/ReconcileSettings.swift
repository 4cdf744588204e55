import Foundation

/// `reconcile` in the config: how the daemon settles messages whose send was ambiguous, and
/// polls for receipts that did not come.
///
/// The settle time is how long after an ambiguous request the provider's silence is believed:
/// a request the provider took shows in `QuerySendDetails` (Aliyun) within seconds, and its
/// status report in `PullSmsSendStatusByPhoneNumber` (Tencent) once the carrier reports, which
/// is seconds for nearly every message. Fifteen minutes is far beyond both and beyond any
/// request timeout, so a request still travelling cannot show up after the verdict `unsent`.
/// The residual risk is a Tencent message whose carrier report is later than the settle time:
/// raise `settle_min` where that matters more than resending promptly.
public struct ReconcileSettings: Sendable, Hashable {
    /// After an ambiguous send, how long before "the provider has no record" means `unsent`.
    /// Default 15 minutes.
    public var settle: TimeInterval = 15 * 60
    /// How long after its last attempt an ambiguous message may stay unresolved before it
    /// becomes `unconfirmed` (final; an operator decides). Default 24 hours.
    public var deadline: TimeInterval = 24 * 3600
    /// How often the reconciler looks for messages due a check. Default 30 s.
    public var interval: Duration = .seconds(30)
    /// How long after acceptance a message without a receipt is first looked up at its provider
    /// (then again with growing gaps until it expires). Default 10 minutes.
    public var receiptCheck: TimeInterval = 10 * 60
    /// A failed lookup is tried again after this long. Default 60 s.
    public var retryAfterError: TimeInterval = 60
    /// Messages looked up per pass. Default 200.
    public var batch = 200

    public init() {}
}
