/// Chinese names for the ids the report shows; an id without one is shown as it is.
enum ReportLabels {
    /// Where the campaign left an enterprise (`ReachReason` raw values).
    static let reasons: [String: String] = [
        "delivered": "已送达",
        "failed": "发送失败",
        "expired": "回执超时",
        "unconfirmed": "无法确认",
        "no_contact": "无联系方式",
        "opted_out": "已退订",
        "frequency_cap": "频次上限",
        "no_policy_for_channel": "渠道不可发该政策",
        "campaign_max": "超出活动上限",
        "cancelled": "活动已取消",
        "other_suppression": "其他原因未发",
        "pending": "待发送",
        "awaiting_receipt": "等待回执",
        "told_before": "此前已告知",
        "control_group": "对照组（按设计不推送）",
    ]

    /// Campaign states.
    static let states: [String: String] = [
        "awaiting_approval": "待审批",
        "pending": "待开始",
        "planning": "规划中",
        "running": "发送中",
        "paused": "已暂停",
        "completed": "已完成",
        "cancelled": "已取消",
        "rejected": "已驳回",
    ]

    static let channels: [String: String] = ["sms": "短信", "wechat": "微信"]

    /// The client a package page was first opened in (`ClientClass` raw values), in display order.
    static let clients: [(id: String, name: String)] = [
        ("wechat", "微信内置浏览器"), ("mobile", "其他手机浏览器"), ("desktop", "电脑及其他"),
    ]

    static func reason(_ id: String) -> String { reasons[id] ?? id }
    static func client(_ id: String) -> String { clients.first { $0.id == id }?.name ?? id }
    /// Known clients in their order, unknown ones after.
    static func clientRank(_ id: String) -> Int { clients.firstIndex { $0.id == id } ?? clients.count }
    static func state(_ id: String) -> String { states[id] ?? id }
    static func channel(_ id: String) -> String { channels[id] ?? id }

    /// `≤5秒`, `≤2分钟`, `>1小时`: a latency bucket by its upper bound, short enough for an axis.
    static func latency(from: Double, to: Double?) -> String {
        guard let to else { return ">" + duration(from).replacingOccurrences(of: " ", with: "") }
        return "≤" + duration(to).replacingOccurrences(of: " ", with: "")
    }

    /// `30 秒`, `2 分钟`, `1 小时`.
    static func duration(_ seconds: Double) -> String {
        if seconds >= 3600, seconds.truncatingRemainder(dividingBy: 3600) == 0 {
            return "\(Int(seconds / 3600)) 小时"
        }
        if seconds >= 60, seconds.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(seconds / 60)) 分钟" }
        return Figure.decimal(seconds, places: seconds.rounded() == seconds ? 0 : 1) + " 秒"
    }

    /// A bucket width: `5 分钟`, `1 小时`, `1 天`.
    static func bucket(_ seconds: Int) -> String {
        if seconds % 86_400 == 0 { return "\(seconds / 86_400) 天" }
        if seconds % 3600 == 0 { return "\(seconds / 3600) 小时" }
        return "\(seconds / 60) 分钟"
    }
}
