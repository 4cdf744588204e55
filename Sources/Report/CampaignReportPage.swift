import Kit

/// The campaign report as one self-contained HTML page a director can print or put on a slide.
///
/// Pure: the same model gives the same bytes. Inline CSS and SVG only: no script, font, image
/// or style sheet is fetched, so the file opens from a USB stick on an offline office PC. One
/// `<section id="…">` per part (`overview`, `funnel`, `policies`, `effect` when uptake or a
/// control group exists, `opens`, `regions`, `delivery`, `replies`, `versions`), so each can be screenshotted or printed on its own page. Every number
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
        html += effect(model)
        html += opens(model)
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
        var stages = [
            stage("符合条件", "qualified", "qualified", f.qualified),
            stage("计划发送", "planned", "planned", f.planned),
            stage("已发送", "sent", "sent", f.sent),
            stage("已送达", "delivered", "delivered", f.delivered),
        ]
        if let opened = f.opened { stages.append(stage("已打开", "opened", "opened", opened)) }
        let chart = FunnelChart(
            title: "推送漏斗：符合条件 → 计划发送 → 已发送 → 已送达" + (f.opened == nil ? "" : " → 已打开"), stages: stages)
        var s = "<section id=\"funnel\">\n<h2>漏斗 <span class=\"en\">funnel</span></h2>\n"
        s += "<p class=\"lead\">单位：企业。每一级之间流失的企业按原因列在下方"
        s += f.opened == nil ? "。</p>\n" : "；已打开：点开短信或微信中的链接、查看了政策大礼包页面的企业。</p>\n"
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
                "各政策送达覆盖率", "policies", "coverageByPolicy", m.coverageByPolicy, names: { policyName(m, $0) })
            + "</figure>\n"
        if m.effect == nil {
            s += "<p class=\"small\">尚未导入申报（享受）数据，活动也未设对照组：导入后（<code>policypush uptake import</code>）"
            s += "本报告显示各政策的享受情况。</p>\n"
        }
        s += "</section>\n"
        return s
    }

    /// A policy's label: its title with the id beneath, or the id alone when the report has no title.
    private func policyName(_ m: CampaignReportModel, _ id: String) -> (label: String, note: String?) {
        m.policyTitles?[id].map { ($0, id) } ?? (id, nil)
    }

    /// 跟踪问效: uptake per policy, pushed vs control, and the difference with its interval.
    private func effect(_ m: CampaignReportModel) -> String {
        guard let e = m.effect else { return "" }
        var s = "<section id=\"effect\">\n<h2>跟踪问效：政策享受情况 <span class=\"en\">uptake and effect</span></h2>\n"
        s += "<p class=\"lead\">活动开始日 \(HTMLText.escaped(e.startDay)) 起 "
        s += Figure.span("effect.windowDays", e.windowDays) + " 天内（至 \(HTMLText.escaped(e.windowEnd))）"
        s += "申报享受该项政策的符合条件企业所占比例（享受率）。</p>\n"
        if e.measuresEffect {
            s += "<p class=\"lead\">对照组：开始时随机留出 "
            s += Figure.scaled("span", "effect.controlPercent", e.controlPercent, scale: 1, places: 0)
            s += "% 的符合条件企业不推送。推送组与对照组的享受率之差就是推送带来的变化，"
            s += "附 95% 置信区间（Newcombe 法）；区间不含 0 时，差异不是偶然。</p>\n"
        } else {
            s += "<p class=\"warn\">本活动未设对照组：以下数字只描述被推送企业的享受情况，<b>不能衡量推送的效果</b>"
            s += "（没有不推送的企业可比）。需要衡量效果时，开始活动时用 <code>--control</code> 留出对照组。</p>\n"
        }
        guard !e.policies.isEmpty else { return s + "<p class=\"none\">活动没有政策。</p>\n</section>\n" }
        s += "<figure>\(uptakeChart(m, e))</figure>\n"
        s += "<table class=\"effect\">\n<thead><tr><th>政策</th><th>组别</th><th class=\"r\">符合条件</th>"
        s += "<th class=\"r\">已送达</th><th class=\"r\">已打开</th><th class=\"r\">已享受</th>"
        s += "<th class=\"r\">享受率</th><th class=\"r\">享受金额（元）</th></tr></thead>\n<tbody>\n"
        for p in e.policies {
            let path = Figure.element("effect.policies", "policyID=\(p.policyID)")
            let (label, note) = policyName(m, p.policyID)
            let rows = e.measuresEffect ? 2 : 1
            s += "<tr class=\"first\"><td rowspan=\"\(rows + (p.difference == nil ? 0 : 1))\">"
            s += HTMLText.escaped(label) + (note.map { "<div class=\"id\">\(HTMLText.escaped($0))</div>" } ?? "")
            s += "</td>" + groupCells("推送组", "\(path).pushed", p.pushed, delivered: ("\(path).delivered", p.delivered))
            s += "</tr>\n"
            if e.measuresEffect {
                s += "<tr>" + groupCells("对照组（未推送）", "\(path).control", p.control, delivered: nil) + "</tr>\n"
            }
            if let d = p.difference {
                s += "<tr class=\"diff\"><td colspan=\"7\">享受率之差（推送组 − 对照组）："
                s +=
                    "<b>"
                    + Figure.scaled(
                        "span", "\(path).difference.estimate", d.estimate, scale: 100, places: 1, signed: true)
                s += " 个百分点</b>，95% 置信区间 "
                s +=
                    Figure.scaled("span", "\(path).difference.lower", d.lower, scale: 100, places: 1, signed: true)
                    + " 至 "
                s += Figure.scaled("span", "\(path).difference.upper", d.upper, scale: 100, places: 1, signed: true)
                s += d.lower > 0 ? "：推送提高了享受率" : d.upper < 0 ? "：推送组反而更低" : "：尚不能排除没有差别"
                s += "</td></tr>\n"
            }
        }
        s += "</tbody>\n</table>\n"
        s += "<p class=\"small\">单位：企业；金额为窗口内申报的减免税额合计。已送达、已打开只对推送组有意义；"
        s += "比较的是整个推送组（无论是否送达）与对照组，两组都是符合条件企业的随机部分。</p>\n"
        return s + "</section>\n"
    }

    /// One group's cells in the effect table, after the policy's cell.
    private func groupCells(
        _ name: String, _ path: String, _ g: CampaignReportModel.Effect.Group,
        delivered: (path: String, group: CampaignReportModel.Effect.Group)?
    ) -> String {
        func cell(_ inner: String) -> String { "<td class=\"r\">\(inner)</td>" }
        var s = "<td>\(name)</td>" + cell(Figure.span("\(path).enterprises", g.enterprises))
        if let delivered {
            s += cell(Figure.span("\(delivered.path).enterprises", delivered.group.enterprises))
            s += cell(Figure.span("\(path).opened", g.opened))
        } else {
            s += cell("<span class=\"none\">—</span>") + cell("<span class=\"none\">—</span>")
        }
        s += cell(Figure.span("\(path).claimed", g.claimed))
        s += cell(Figure.ratio("span", ("\(path).claimed", g.claimed), ("\(path).enterprises", g.enterprises)))
        s += cell(Figure.scaled("span", "\(path).amountFen", Double(g.amountFen), scale: 0.01, places: 2))
        return s
    }

    /// Claim rate per policy: the pushed group solid, the control group hatched beneath it.
    private func uptakeChart(_ m: CampaignReportModel, _ e: CampaignReportModel.Effect) -> String {
        var bars: [BarChart.Bar] = []
        for p in e.policies {
            let path = Figure.element("effect.policies", "policyID=\(p.policyID)")
            let (label, _) = policyName(m, p.policyID)
            func bar(
                _ key: String, _ g: CampaignReportModel.Effect.Group, _ note: String, hatched: Bool
            ) -> BarChart.Bar {
                BarChart.Bar(
                    label: label, note: note, value: Self.share(g.claimed, g.enterprises),
                    caption: Figure.ratio(
                        "tspan", ("\(path).\(key).claimed", g.claimed), ("\(path).\(key).enterprises", g.enterprises))
                        + "（" + Figure.tspan("\(path).\(key).claimed", g.claimed) + " / "
                        + Figure.tspan("\(path).\(key).enterprises", g.enterprises) + "）",
                    hatched: hatched)
            }
            bars.append(bar("pushed", p.pushed, "推送组", hatched: false))
            if e.measuresEffect { bars.append(bar("control", p.control, "对照组（未推送）", hatched: true)) }
        }
        let top = bars.map(\.value).max() ?? 0
        let chart = BarChart(
            title: e.measuresEffect ? "各政策享受率：推送组（实心）与对照组（斜线）" : "各政策享受率（推送组）", bars: bars,
            scaleMax: top > 0 ? min(1, top * 1.15) : 1, sorted: false, id: "effect", groupSize: e.measuresEffect ? 2 : 1
        )
        return chart.svg()
    }

    /// Package pages opened against messages delivered: overall, by policy, region, channel and client.
    private func opens(_ m: CampaignReportModel) -> String {
        guard let o = m.opened else { return "" }
        var s = "<section id=\"opens\">\n<h2>打开情况 <span class=\"en\">opens</span></h2>\n"
        s += "<p class=\"lead\">已送达的消息中，企业点开链接、查看了一户式政策大礼包页面的比例。单位：消息"
        s += "（在送达回执之前就被打开的也算已送达）。</p>\n<div class=\"tiles\">\n"
        func tile(_ label: String, _ value: String, _ note: String = "") -> String {
            "<div class=\"tile\"><div class=\"k\">\(label)</div><div class=\"v\">\(value)</div>"
                + (note.isEmpty ? "" : "<div class=\"note\">\(note)</div>") + "</div>\n"
        }
        s += tile("已送达", Figure.span("opened.delivered", o.delivered))
        s += tile("已打开", Figure.span("opened.opened", o.opened))
        s += tile("打开率", Figure.ratio("span", ("opened.opened", o.opened), ("opened.delivered", o.delivered)))
        s += tile("页面浏览", Figure.span("opened.views", o.views), "含同一页面的重复打开")
        s += "</div>\n"
        guard o.delivered > 0 else { return s + "<p class=\"none\">尚无送达的消息。</p>\n</section>\n" }
        func rows(
            _ array: String, _ rates: [CampaignReportModel.Opens.Rate], name: (Int, String?) -> (String, String?)
        )
            -> [RateRow]
        {
            rates.enumerated().map { i, r in
                let (label, note) = name(i, r.name)
                return RateRow(
                    label: label, note: note, part: ("\(array)[#\(i)].opened", r.opened),
                    whole: ("\(array)[#\(i)].delivered", r.delivered))
            }
        }
        s += "<h3>按政策</h3>\n<figure>"
        s += rateChart("各政策打开率", "opens-policy", rows("opened.byPolicy", o.byPolicy) { policyName(m, $1 ?? "") })
        s += "</figure>\n"
        // A city has hundreds of subdistricts: the ten with most deliveries, by rate.
        let regions = rows("opened.byRegion", o.byRegion) { _, name in name.map { ($0, nil) } ?? ("未登记地区", "(none)") }
        let top = regions.enumerated().sorted { ($0.element.whole.n, -$0.offset) > ($1.element.whole.n, -$1.offset) }
            .prefix(Self.openRegions).map(\.element)
        s += "<h3>按地区" + (regions.count > Self.openRegions ? "（送达最多的 \(Self.openRegions) 个）" : "") + "</h3>\n"
        s += "<figure>" + rateChart("各地区打开率", "opens-region", top) + "</figure>\n"
        if regions.count > Self.openRegions {
            s += "<p class=\"small\">另有 \(regions.count - Self.openRegions) 个地区："
            s += "<code>policypush campaign report \(m.campaign.id) --json</code> 列出全部。</p>\n"
        }
        s += "<div class=\"cols2\">\n<div>\n<h3>按渠道</h3>\n<table>\n"
        s +=
            "<thead><tr><th>渠道</th><th class=\"r\">已送达</th><th class=\"r\">已打开</th><th class=\"r\">打开率</th></tr></thead>\n<tbody>\n"
        for (i, r) in o.byChannel.enumerated() {
            let path = "opened.byChannel[#\(i)]"
            let name = r.name ?? ""
            s +=
                "<tr><td>\(HTMLText.escaped(ReportLabels.channel(name))) <span class=\"id\">\(HTMLText.escaped(name))</span></td>"
            s += "<td class=\"r\">" + Figure.span("\(path).delivered", r.delivered) + "</td>"
            s += "<td class=\"r\">" + Figure.span("\(path).opened", r.opened) + "</td>"
            s +=
                "<td class=\"r\">"
                + Figure.ratio("span", ("\(path).opened", r.opened), ("\(path).delivered", r.delivered))
            s += "</td></tr>\n"
        }
        s += "</tbody>\n</table>\n</div>\n<div>\n<h3>首次打开所用的客户端</h3>\n<table>\n"
        s += "<thead><tr><th>客户端</th><th class=\"r\">已打开</th><th class=\"r\">占比</th></tr></thead>\n<tbody>\n"
        for name in o.byClientClass.keys.sorted(by: { ReportLabels.clientRank($0) < ReportLabels.clientRank($1) }) {
            let count = o.byClientClass[name] ?? 0
            s +=
                "<tr><td>\(HTMLText.escaped(ReportLabels.client(name))) <span class=\"id\">\(HTMLText.escaped(name))</span></td>"
            s += "<td class=\"r\">" + Figure.span("opened.byClientClass.\(name)", count) + "</td><td class=\"r\">"
            s +=
                Figure.ratio("span", ("opened.byClientClass.\(name)", count), ("opened.opened", o.opened))
                + "</td></tr>\n"
        }
        return s + "</tbody>\n</table>\n</div>\n</div>\n</section>\n"
    }

    /// Regions drawn in the opens section.
    static let openRegions = 10

    /// One bar of a rate chart: a part over a whole, both tagged.
    private struct RateRow {
        var label: String
        var note: String?
        var part: (path: String, n: Int)
        var whole: (path: String, n: Int)
    }

    /// A sorted bar chart of part / whole per row, with both numbers on each bar.
    private func rateChart(_ title: String, _ id: String, _ rows: [RateRow]) -> String {
        let bars = rows.map { r in
            BarChart.Bar(
                label: r.label, note: r.note, value: Self.share(r.part.n, r.whole.n),
                caption: Figure.ratio("tspan", r.part, r.whole) + "（" + Figure.tspan(r.part.path, r.part.n) + " / "
                    + Figure.tspan(r.whole.path, r.whole.n) + "）")
        }
        return BarChart(title: title, bars: bars, scaleMax: 1, id: id).svg()
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
        rateChart(
            title, id,
            groups.map { g in
                let path = Figure.element(array, g.name)
                let (label, note) = names(g.name)
                return RateRow(
                    label: label, note: note, part: ("\(path).delivered", g.delivered),
                    whole: ("\(path).qualified", g.qualified))
            })
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
        .warn{margin:8px 0;padding:8px 12px;border:2px solid #1a1a1a;border-radius:4px;background:#f4f4f4}\
        .cols2{display:grid;grid-template-columns:1fr 1fr;gap:24px}\
        table.effect td:first-child{font-weight:600}\
        table.effect div.id,span.id{font-size:12px;color:#666;font-weight:normal;\
        font-family:ui-monospace,Menlo,Consolas,monospace}\
        table.effect tr.first td{border-top:2px solid #1a1a1a}\
        table.effect tr.diff td{background:#f4f4f4}\
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
