import Kit
import Registry
import Rules

/// The package page: one self-contained HTML document telling one enterprise which reliefs it
/// qualifies for and how to claim each.
///
/// Pure: the same inputs give the same bytes. Made for a phone (375 px wide, system fonts), in
/// Chinese, with inline CSS only: no script, font, image or style sheet is fetched, and the only
/// links are the policies' official announcements. Everything taken from data is HTML-escaped.
public struct PackagePage: Sendable {
    /// The bureau that signs the page, e.g. `朝阳区税务局`; `nil` leaves the heading generic.
    public var bureau: String?
    /// The tax service hotline.
    public var hotline = "12366"
    /// Where the feedback form posts, relative to the page (`<token>/feedback` for a page served
    /// at `/p/<token>`); `nil` leaves the form out, as in a page written to a file.
    public var feedbackAction: String?

    public init(bureau: String? = nil) {
        self.bureau = bureau
    }

    /// The page for `enterprise` and the `policies` it qualifies for on `date`.
    ///
    /// - Parameter policies: the qualifying policies; listed by priority (highest first), ties in
    ///   the given order.
    public func render(enterprise: Enterprise, policies: [PolicyProfile], date: LocalDate) -> String {
        let ordered = policies.enumerated()
            .sorted { ($0.element.priority, -$0.offset) > ($1.element.priority, -$1.offset) }
            .map(\.element)
        var html = ""
        html.reserveCapacity(4096 + ordered.count * 2048)
        html += """
            <!DOCTYPE html>
            <html lang="zh-CN">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="robots" content="noindex, nofollow">
            <meta name="referrer" content="no-referrer">
            <title>税费优惠政策包</title>
            <style>\(Self.style)</style>
            </head>
            <body>
            <header>
            <h1>
            """
        // The bureau on a line of its own: a long name run into the title broke it mid-word on a phone.
        html += bureau.map { "<span class=\"bureau\">" + Self.escaped($0) + "</span>" } ?? ""
        html += "税费优惠政策包</h1>\n<p class=\"who\">"
        html += Self.escaped(enterprise.name)
        html += "</p>\n<p class=\"meta\">统一社会信用代码 "
        html += Self.escaped(Mask.creditCode(enterprise.creditCode))
        html += "<br>筛选日期 "
        html += Self.escaped(date.description)
        html += "</p>\n</header>\n<main>\n"
        if ordered.isEmpty {
            html += "<p class=\"none\">暂未筛选出贵单位可享受的税费优惠政策。</p>\n"
        } else {
            html += "<p class=\"lead\">经初步筛选，贵单位可能符合以下 \(ordered.count) 项税费优惠政策条件：</p>\n"
        }
        for (number, policy) in ordered.enumerated() {
            append(policy, number: number + 1, to: &html)
        }
        if let feedbackAction { appendFeedbackForm(action: feedbackAction, to: &html) }
        html += """
            </main>
            <footer>
            <p>以上内容依据登记信息初步筛选，仅供参考，是否符合条件以税务机关审核为准。</p>
            <p>咨询请拨打纳税缴费服务热线 <a href="tel:\(Self.escaped(hotline))">\(Self.escaped(hotline))</a>。</p>
            </footer>
            </body>
            </html>

            """
        return html
    }

    private func append(_ policy: PolicyProfile, number: Int, to html: inout String) {
        html += "<section>\n<h2><span class=\"n\">\(number)</span>"
        html += Self.escaped(policy.title)
        html += "</h2>\n"
        if !policy.basis.isEmpty {
            html += "<p class=\"basis\">政策依据：" + Self.escaped(policy.basis) + "</p>\n"
        }
        if let summary = policy.summary, !summary.isEmpty {
            let lines = summary.split(whereSeparator: \.isNewline).map { Self.escaped(String($0)) }
            html += "<p>" + lines.joined(separator: "<br>") + "</p>\n"
        }
        if !policy.guide.isEmpty {
            html += "<h3>办理指引</h3>\n<ol>\n"
            for step in policy.guide { html += "<li>" + Self.escaped(step) + "</li>\n" }
            html += "</ol>\n"
        }
        if let link = policy.officialLink, !link.isEmpty {
            // Only a web address becomes a link: a `javascript:` or `data:` URL stays inert text.
            let lowered = link.lowercased()
            if lowered.hasPrefix("https://") || lowered.hasPrefix("http://") {
                html += "<p class=\"link\"><a href=\"\(Self.escaped(link))\" rel=\"noopener noreferrer\">政策原文</a></p>\n"
            } else {
                html += "<p class=\"link\">政策原文：" + Self.escaped(link) + "</p>\n"
            }
        }
        html += "</section>\n"
    }

    /// A plain form (no script): the text and one submit button per ``FeedbackForm/Kind``, whose
    /// value says which was pressed.
    private func appendFeedbackForm(action: String, to html: inout String) {
        html += """
            <section class="fb">
            <h2>意见反馈</h2>
            <form method="post" action="\(Self.escaped(action))" accept-charset="utf-8">
            <label for="fb-text">留言（不超过\(FeedbackForm.maxCharacters)字，选填；咨询请写明问题）</label>
            <textarea id="fb-text" name="text" rows="3" maxlength="\(FeedbackForm.maxCharacters)"></textarea>
            <button type="submit" name="kind" value="\(FeedbackForm.Kind.notUseful.rawValue)">这条推送对我没有帮助</button>
            <button type="submit" name="kind" value="\(FeedbackForm.Kind.question.rawValue)">我有问题要咨询</button>
            </form>
            </section>

            """
    }

    /// The short page answering a feedback form: thanks, and the way back to the package page at
    /// `back` (relative, like the form's action).
    public func feedbackReceived(_ kind: FeedbackForm.Kind, back: String) -> String {
        let answer =
            kind == .question
            ? "您的问题已收到，税务人员会尽快答复。急需咨询请拨打纳税缴费服务热线 \(Self.escaped(hotline))。"
            : "您的意见已收到，我们会据此改进推送内容。"
        return """
            <!DOCTYPE html>
            <html lang="zh-CN">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="robots" content="noindex, nofollow">
            <title>感谢您的反馈</title>
            <style>\(Self.style)</style>
            </head>
            <body>
            <main>
            <section>
            <h2>感谢您的反馈</h2>
            <p>\(answer)</p>
            <p class="link"><a href="\(Self.escaped(back))">返回政策包</a></p>
            </section>
            </main>
            </body>
            </html>

            """
    }

    /// `text` safe in HTML content and in a double- or single-quoted attribute.
    public static func escaped(_ text: String) -> String { HTMLText.escaped(text) }

    private static let style = """
        *{box-sizing:border-box}\
        body{margin:0;background:#f4f5f7;color:#1f2328;\
        font:16px/1.6 -apple-system,BlinkMacSystemFont,"PingFang SC","Hiragino Sans GB","Microsoft YaHei",\
        "Noto Sans CJK SC",sans-serif;-webkit-text-size-adjust:100%}\
        header,main,footer{max-width:640px;margin:0 auto;padding:12px 16px}\
        header{background:#b3261e;color:#fff}\
        h1{font-size:20px;margin:4px 0 8px}\
        .bureau{display:block;font-size:15px;font-weight:400;opacity:.9}\
        .who{font-size:18px;font-weight:600;margin:0;word-break:break-all}\
        .meta{font-size:13px;opacity:.9;margin:4px 0}\
        .lead,.none{margin:4px 0 12px}\
        section{background:#fff;border-radius:8px;padding:12px 14px;margin:0 0 12px;\
        box-shadow:0 1px 2px rgba(0,0,0,.08)}\
        h2{font-size:17px;margin:0 0 6px;line-height:1.4}\
        .n{display:inline-block;min-width:22px;height:22px;margin-right:6px;border-radius:11px;\
        background:#b3261e;color:#fff;font-size:13px;line-height:22px;text-align:center}\
        .basis{font-size:13px;color:#59636e;margin:0 0 6px}\
        h3{font-size:15px;margin:10px 0 4px}\
        ol{padding-left:22px;margin:0}\
        li{margin:0 0 6px;word-break:break-word}\
        .link a{color:#0b57d0;word-break:break-all}\
        .fb label{display:block;font-size:13px;color:#59636e;margin:0 0 4px}\
        .fb textarea{width:100%;font:inherit;padding:6px;border:1px solid #c9ced6;border-radius:6px}\
        .fb button{display:block;width:100%;margin:8px 0 0;padding:8px;font:inherit;border:0;border-radius:6px;\
        background:#eef0f3;color:#1f2328}\
        footer{font-size:13px;color:#59636e}\
        footer a{color:#0b57d0}
        """
}
