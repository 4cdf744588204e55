import Kit

/// The campaign report as one self-contained HTML page a director can print or put on a slide.
///
/// Pure: the same model gives the same bytes. Inline CSS and SVG only: no script, font, image
/// or style sheet is fetched, so the file opens from a USB stick on an offline office PC. One
/// `<section id="…">` per part (`overview`, `funnel`, `policies`, `regions`, `delivery`,
/// `replies`, `versions`), so each can be screenshotted or printed on its own page. Every number
/// is tagged with the path of its value in the model (see ``Figure``); everything taken from
/// data is HTML-escaped.
public struct CampaignReportPage: Sendable {
    /// The bureau that signs the report, e.g. `朝阳区税务局`; `nil` leaves the heading generic.
    public var bureau: String?
    /// When the page was made: ISO 8601 in local time (the footer prints `2026-03-03 08:00`).
    public var generatedAt: String
    /// The command that made it, for the footer.
    public var command: String

    public init(bureau: String?, generatedAt: String, command: String) {
        self.bureau = bureau
        self.generatedAt = generatedAt
        self.command = command
    }

    public func render(_ model: CampaignReportModel) -> String {
        let e = HTMLText.escaped
        let c = model.campaign
        var html = """
            <!DOCTYPE html>
            <html lang="zh-CN">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="referrer" content="no-referrer">
            <title>\(e(c.name)) · 推送活动报告</title>
            <style>\(Self.style)</style>
            </head>
            <body>
            <header>
            <p class="bureau">\(e(bureau ?? "税务机关")) · 政策精准推送</p>
            <h1>\(e(c.name))</h1>
            <p class="meta">活动编号 <span class="id">#\(c.id)</span> · 状态 <b>\(e(ReportLabels.state(c.state)))</b>\
             <span class="id">\(e(c.state))</span> · 活动日期 \(e(c.campaignDate))\
            \(c.startAt.map { " · 开始 " + e(Self.shortTime($0)) } ?? "")\
            \(c.finishedAt.map { " · 结束 " + e(Self.shortTime($0)) } ?? "") · 渠道 \
            \(e(c.channels.map(ReportLabels.channel).joined(separator: "、")))</p>
            </header>
            <main>

            """
        html += overview(model)
        html += funnel(model)
        html += policies(model)
        html += regions(model)
        html += delivery(model)
        html += replies(model)
        html += versions(model)
        html += """
            </main>
            <footer>
            <p>本报告由 <code>\(e(command))</code> 于 \(e(Self.shortTime(generatedAt))) 生成；\
            图表中的每个数字与 <code>policypush campaign report \(c.id) --json</code> 的输出一致。\
            覆盖按企业统计（一家企业多条消息时取进展最远的一条），发送与失败按消息统计。</p>
            </footer>
            </body>
            </html>

            """
        return html
    }

    // MARK: Sections

    private func overview(_ m: CampaignReportModel) -> String {
        let cov = m.coverage
        func tile(_ label: String, _ value: String, _ note: String = "") -> String {
            "<div class=\"tile\"><div class=\"k\">\(label)</div><div class=\"v\">\(value)</div>"
                + (note.isEmpty ? "" : "<div class=\"note\">\(note)</div>") + "</div>\n"
        }
        var s = "<section id=\"overview\">\n<h2>概览</h2>\n<div class=\"tiles\">\n"
        s += tile("符合条件企业", Figure.span("coverage.qualified", cov.qualified))
        s += tile("已送达企业", Figure.span("coverage.delivered", cov.delivered))
        s += tile(
            "送达覆盖率",
            Figure.ratio("span", ("coverage.delivered", cov.delivered), ("coverage.qualified", cov.qualified)))
        s += tile("未触达企业", Figure.span("coverage.notReachedTotal", cov.notReachedTotal))
        s += tile(
            "回复 / 退订",
            Figure.span("replies.total", m.replies.total) + " / " + Figure.span("replies.optOuts", m.replies.optOuts))
        s += "</div>\n"
        s += "<p class=\"small\">另有此前已告知 \(Figure.span("coverage.toldBefore", cov.toldBefore)) 家、"
        s += "仍在发送或等待回执 \(Figure.span("coverage.inFlight", cov.inFlight)) 家；"
        s += "共 \(Figure.span("total", m.total)) 条消息。</p>\n</section>\n"
        return s
    }

    private func funnel(_ m: CampaignReportModel) -> String {
        let f = m.funnel
        func stage(_ label: String, _ note: String, _ key: String, _ value: Int) -> FunnelChart.Stage {
            let caption =
                Figure.tspan("funnel.\(key)", value) + "  ("
                + Figure.ratio("tspan", ("funnel.\(key)", value), ("funnel.qualified", f.qualified)) + ")"
            return FunnelChart.Stage(label: label, note: note, value: value, caption: caption)
        }
        let chart = FunnelChart(
            title: "推送漏斗：符合条件 → 计划发送 → 已发送 → 已送达",
            stages: [
                stage("符合条件", "qualified", "qualified", f.qualified),
                stage("计划发送", "planned", "planned", f.planned),
                stage("已发送", "sent", "sent", f.sent),
                stage("已送达", "delivered", "delivered", f.delivered),
            ])
        var s = "<section id=\"funnel\">\n<h2>漏斗 <span class=\"en\">funnel</span></h2>\n"
        s += "<p class=\"lead\">单位：企业。每一级之间流失的企业按原因列在下方。</p>\n"
        s += "<figure>\(chart.svg())</figure>\n<div class=\"cols\">\n"
        s += reasonTable("未计划发送（抑制）", "funnel.suppressed", f.suppressed)
        s += reasonTable("计划但未发出", "funnel.notSent", f.notSent)
        s += reasonTable("已发送未送达", "funnel.undelivered", f.undelivered)
        s += "</div>\n</section>\n"
        return s
    }

    private func policies(_ m: CampaignReportModel) -> String {
        var s = "<section id=\"policies\">\n<h2>按政策 <span class=\"en\">by policy</span></h2>\n"
        if m.coverageByPolicy.isEmpty {
            return s + "<p class=\"none\">暂无消息。</p>\n</section>\n"
        }
        s += "<p class=\"lead\">每项政策：推送到的符合条件企业中已送达的比例（企业可同时符合多项政策）。</p>\n"
        s +=
            "<figure>"
            + coverageChart(
                "各政策送达覆盖率", "policies", "coverageByPolicy", m.coverageByPolicy, names: { ($0, nil) }) + "</figure>\n"
        if let uptake = m.uptake, !uptake.policies.isEmpty {
            s += uptakeChart(uptake)
        } else {
            s += "<p class=\"small\">尚未导入申报（享受）数据：导入后此处显示推送组与对照组的享受率。</p>\n"
        }
        s += "</section>\n"
        return s
    }

    private func uptakeChart(_ uptake: CampaignReportModel.Uptake) -> String {
        var bars: [BarChart.Bar] = []
        for p in uptake.policies {
            let path = Figure.element("uptake.policies", p.name)
            bars.append(
                BarChart.Bar(
                    label: p.name, note: "推送组", value: Self.share(p.pushedClaimed, p.pushedEligible),
                    caption: Figure.ratio(
                        "tspan", ("\(path).pushedClaimed", p.pushedClaimed),
                        ("\(path).pushedEligible", p.pushedEligible))
                        + "（" + Figure.tspan("\(path).pushedClaimed", p.pushedClaimed) + " / "
                        + Figure.tspan("\(path).pushedEligible", p.pushedEligible) + "）"))
            if let claimed = p.controlClaimed, let eligible = p.controlEligible {
                bars.append(
                    BarChart.Bar(
                        label: p.name, note: "对照组（未推送）", value: Self.share(claimed, eligible),
                        caption: Figure.ratio(
                            "tspan", ("\(path).controlClaimed", claimed), ("\(path).controlEligible", eligible))
                            + "（" + Figure.tspan("\(path).controlClaimed", claimed) + " / "
                            + Figure.tspan("\(path).controlEligible", eligible) + "）",
                        hatched: true))
            }
        }
        let chart = BarChart(title: "推送组与对照组的享受率", bars: bars, scaleMax: 1, sorted: false, id: "uptake")
        var s = "<h3>享受率：推送组 vs 对照组</h3>\n"
        s += "<p class=\"small\">活动开始后 \(Figure.span("uptake.windowDays", uptake.windowDays)) 天内申报享受的比例；"
        s += "实心为推送组，斜线为对照组。两组之差才是推送的效果。</p>\n"
        return s + "<figure>\(chart.svg())</figure>\n"
    }

    private func regions(_ m: CampaignReportModel) -> String {
        var s = "<section id=\"regions\">\n<h2>按地区 <span class=\"en\">by region</span></h2>\n"
        if m.coverageByRegion.isEmpty {
            return s + "<p class=\"none\">暂无消息。</p>\n</section>\n"
        }
        s += "<p class=\"lead\">送达覆盖率 = 已送达企业 / 符合条件企业，按覆盖率从高到低排列。</p>\n"
        s +=
            "<figure>"
            + coverageChart(
                "各地区送达覆盖率", "regions", "coverageByRegion", m.coverageByRegion,
                names: { $0.isEmpty ? ("未登记地区", "(none)") : ($0, nil) }) + "</figure>\n"
        return s + "</section>\n"
    }

    private func delivery(_ m: CampaignReportModel) -> String {
        var s = "<section id=\"delivery\">\n<h2>送达 <span class=\"en\">delivery</span></h2>\n"
        if let l = m.receiptLatency {
            s += "<p class=\"lead\">回执时延（网关受理到送达回执）：中位数 "
            s += Self.seconds("receiptLatency.p50Seconds", l.p50Seconds) + "，90% 在 "
            s += Self.seconds("receiptLatency.p90Seconds", l.p90Seconds) + " 内，99% 在 "
            s += Self.seconds("receiptLatency.p99Seconds", l.p99Seconds) + " 内；共 "
            s += Figure.span("receiptLatency.count", l.count) + " 条有回执的送达消息。</p>\n"
            let bins = m.receiptLatencyHistogram.enumerated().map { i, b in
                Histogram.Bin(
                    label: ReportLabels.latency(from: b.fromSeconds, to: b.toSeconds), value: b.count,
                    caption: Figure.tspan("receiptLatencyHistogram[#\(i)].count", b.count))
            }
            s +=
                "<figure>"
                + Histogram(title: "回执时延分布（条）", bins: bins, axisLabel: "网关受理到送达回执的时长").svg()
                + "</figure>\n"
        } else {
            s += "<p class=\"none\">尚无带回执的送达消息。</p>\n"
        }
        if let t = m.timeline, !t.buckets.isEmpty {
            s += "<h3>随时间：每 \(ReportLabels.bucket(t.bucketSeconds)) 的发送、送达与失败（条）</h3>\n"
            let labels = t.buckets.map { Self.bucketLabel($0.start, width: t.bucketSeconds) }
            func series(_ name: String, _ key: String, _ values: [Int]) -> TimeSeries.Series {
                TimeSeries.Series(
                    name: name, values: values, paths: values.indices.map { "timeline.buckets[#\($0)].\(key)" })
            }
            let chart = TimeSeries(
                title: "发送、送达与失败随时间的变化", labels: labels,
                series: [
                    series("发送", "sent", t.buckets.map(\.sent)),
                    series("送达", "delivered", t.buckets.map(\.delivered)),
                    series("失败/超时", "failed", t.buckets.map(\.failed)),
                ])
            s += "<figure>\(chart.svg())</figure>\n"
        }
        s += "<h3>发送失败：按网关与原因（条）</h3>\n"
        if m.failuresByGateway.isEmpty {
            s += "<p class=\"none\">没有发送失败的消息。</p>\n"
        } else {
            s += "<table>\n<thead><tr><th>网关</th><th>失败原因</th><th class=\"r\">条数</th></tr></thead>\n<tbody>\n"
            for g in m.failuresByGateway {
                let path = Figure.element("failuresByGateway", g.name)
                s += "<tr class=\"sum\"><td><code>\(HTMLText.escaped(g.name))</code></td><td>合计</td>"
                s += "<td class=\"r\" \(Figure.attribute("\(path).total"))>\(Figure.integer(g.total))</td></tr>\n"
                for r in g.reasons {
                    s += "<tr><td></td><td><code>\(HTMLText.escaped(r.name))</code></td>"
                    s += "<td class=\"r\" \(Figure.attribute(Figure.element("\(path).reasons", r.name) + ".count"))>"
                    s += "\(Figure.integer(r.count))</td></tr>\n"
                }
            }
            s += "</tbody>\n</table>\n"
        }
        return s + "</section>\n"
    }

    private func replies(_ m: CampaignReportModel) -> String {
        var s = "<section id=\"replies\">\n<h2>回复与退订 <span class=\"en\">replies</span></h2>\n<div class=\"tiles\">\n"
        s += "<div class=\"tile\"><div class=\"k\">收到回复</div><div class=\"v\">"
        s += Figure.span("replies.total", m.replies.total) + "</div></div>\n"
        s += "<div class=\"tile\"><div class=\"k\">其中退订</div><div class=\"v\">"
        s += Figure.span("replies.optOuts", m.replies.optOuts) + "</div></div>\n"
        s += "<div class=\"tile\"><div class=\"k\">无法确认的消息</div><div class=\"v\">"
        s +=
            m.byState["unconfirmed"].map { Figure.span("byState.unconfirmed", $0) }
            ?? Figure.absent("byState.unconfirmed")
        s += "</div>"
        s += "<div class=\"note\">发送结果不明且对账未能确认：可能已收到</div></div>\n</div>\n"
        s += "<p class=\"small\">其余回复需人工阅读：<code>policypush campaign replies \(m.campaign.id)</code>；"
        s += "未触达企业名单：<code>policypush campaign unreached \(m.campaign.id)</code>。</p>\n"
        return s + "</section>\n"
    }

    private func versions(_ m: CampaignReportModel) -> String {
        let c = m.campaign
        let e = HTMLText.escaped
        func row(_ label: String, _ value: String?) -> String {
            "<tr><th>\(label)</th><td>\(value.map(e) ?? "<span class=\"none\">—</span>")</td></tr>\n"
        }
        var s = "<section id=\"versions\">\n<h2>版本与审批 <span class=\"en\">versions and approval</span></h2>\n"
        s += "<table class=\"kv\">\n<tbody>\n"
        s += row("发起人", c.createdBy)
        s += row("发起时间", c.createdAt.map(Self.shortTime))
        s += row(c.state == "rejected" ? "驳回人" : "审批人", c.approvedBy)
        s += row("审批时间", c.decidedAt.map(Self.shortTime))
        s += row("审批意见", c.decisionNote)
        s += "<tr><th>模板版本</th><td><code>\(e(c.templateVersion))</code></td></tr>\n"
        s += "</tbody>\n</table>\n"
        s += "<table>\n<thead><tr><th>政策</th><th>版本（政策文件 SHA-256 前 16 位）</th></tr></thead>\n<tbody>\n"
        for id in c.policies {
            s += "<tr><td><code>\(e(id))</code></td><td><code>\(e(c.policyVersions[id] ?? "—"))</code></td></tr>\n"
        }
        return s + "</tbody>\n</table>\n</section>\n"
    }

    // MARK: Pieces

    /// A sorted bar chart of delivered / qualified per group, with both numbers on each bar.
    private func coverageChart(
        _ title: String, _ id: String, _ array: String, _ groups: [CampaignReportModel.GroupCoverage],
        names: (String) -> (label: String, note: String?)
    ) -> String {
        let bars = groups.map { g in
            let path = Figure.element(array, g.name)
            let (label, note) = names(g.name)
            return BarChart.Bar(
                label: label, note: note, value: Self.share(g.delivered, g.qualified),
                caption: Figure.ratio("tspan", ("\(path).delivered", g.delivered), ("\(path).qualified", g.qualified))
                    + "（" + Figure.tspan("\(path).delivered", g.delivered) + " / "
                    + Figure.tspan("\(path).qualified", g.qualified) + "）")
        }
        return BarChart(title: title, bars: bars, scaleMax: 1, id: id).svg()
    }

    /// A table of enterprises by reason: Chinese name, id, count.
    private func reasonTable(_ title: String, _ array: String, _ counts: [CampaignReportModel.Count]) -> String {
        var s = "<div>\n<h3>\(title)</h3>\n"
        guard !counts.isEmpty else { return s + "<p class=\"none\">无</p>\n</div>\n" }
        s += "<table>\n<tbody>\n"
        for count in counts {
            s += "<tr><td>\(HTMLText.escaped(ReportLabels.reason(count.name)))</td>"
            s += "<td class=\"id\">\(HTMLText.escaped(count.name))</td>"
            s += "<td class=\"r\" \(Figure.attribute(Figure.element(array, count.name) + ".count"))>"
            s += "\(Figure.integer(count.count))</td></tr>\n"
        }
        return s + "</tbody>\n</table>\n</div>\n"
    }

    /// `2.4 秒` tagged with its path; one decimal, as the text report prints it.
    private static func seconds(_ path: String, _ value: Double) -> String {
        "<span \(Figure.attribute(path))>\(Figure.decimal(value, places: 1))</span> 秒"
    }

    static func share(_ part: Int, _ whole: Int) -> Double {
        whole > 0 ? Double(part) / Double(whole) : 0
    }

    /// `2026-03-02T09:30:00+08:00` as `2026-03-02 09:30`.
    static func shortTime(_ iso: String) -> String {
        let characters = Array(iso)
        guard characters.count >= 16, characters[10] == "T" else { return iso }
        return String(characters[0..<10]) + " " + String(characters[11..<16])
    }

    /// A bucket's start as the axis prints it: `09:30` within a day, `03-02` for day buckets,
    /// `03-02 09:00` otherwise.
    static func bucketLabel(_ iso: String, width: Int) -> String {
        let short = shortTime(iso)
        guard short.count == 16 else { return iso }
        let characters = Array(short)
        let monthDay = String(characters[5..<10])
        let clock = String(characters[11..<16])
        if width >= 86_400 { return monthDay }
        if width < 3600 { return clock }
        return monthDay + " " + clock
    }

    private static let style = """
        *{box-sizing:border-box}\
        @page{size:A4;margin:14mm}\
        body{margin:0;background:#f3f3f3;color:#1a1a1a;\
        font:15px/1.6 "PingFang SC","Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC","Source Han Sans SC",\
        "WenQuanYi Micro Hei",sans-serif}\
        header,main,footer{max-width:960px;margin:0 auto;padding:0 24px}\
        header{padding-top:28px;padding-bottom:18px;border-bottom:4px solid #1a1a1a;background:#fff}\
        .bureau{margin:0;font-size:14px;letter-spacing:.08em;color:#444}\
        h1{margin:4px 0 6px;font-size:28px;line-height:1.3}\
        .meta{margin:0;color:#333;font-size:14px}\
        main{padding-top:18px}\
        section{background:#fff;border:1px solid #d6d6d6;border-radius:6px;padding:18px 22px 20px;\
        margin:0 0 18px;break-inside:avoid;page-break-inside:avoid}\
        h2{margin:0 0 10px;font-size:20px;border-left:6px solid #1a1a1a;padding-left:10px}\
        h2 .en{font-size:13px;font-weight:normal;color:#777;margin-left:6px}\
        h3{margin:16px 0 6px;font-size:16px}\
        .lead{margin:0 0 8px;color:#333}\
        .small{font-size:13px;color:#555;margin:8px 0 0}\
        .none{color:#777}\
        figure{margin:6px 0}\
        svg{display:block;width:100%;height:auto;font-family:inherit}\
        svg .lb{font-size:14px;fill:#1a1a1a}\
        svg .id{font-size:11px;fill:#666;font-family:ui-monospace,Menlo,Consolas,monospace}\
        svg .num{font-size:14px;font-weight:600;fill:#1a1a1a}\
        svg .ax{font-size:12px;fill:#555}\
        .tiles{display:flex;flex-wrap:wrap;gap:12px}\
        .tile{flex:1 1 150px;border:1px solid #cfcfcf;border-radius:6px;padding:10px 14px}\
        .tile .k{font-size:13px;color:#555}\
        .tile .v{font-size:26px;font-weight:700;line-height:1.3}\
        .tile .note{font-size:12px;color:#666}\
        .cols{display:grid;grid-template-columns:repeat(3,1fr);gap:16px}\
        table{border-collapse:collapse;width:100%;font-size:14px}\
        th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e2e2e2;vertical-align:top}\
        thead th{border-bottom:2px solid #1a1a1a;font-weight:600}\
        td.r,th.r{text-align:right;font-variant-numeric:tabular-nums}\
        td.id{font-size:12px;color:#666;font-family:ui-monospace,Menlo,Consolas,monospace}\
        tr.sum td{font-weight:600;background:#f4f4f4}\
        table.kv{margin-bottom:12px}\
        table.kv th{width:9em;color:#444;font-weight:normal}\
        code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em;word-break:break-all}\
        footer{padding-bottom:28px;font-size:12px;color:#666}\
        @media print{body{background:#fff}section{border:none;padding:0;margin-bottom:10mm}header{background:none}}
        """
}
