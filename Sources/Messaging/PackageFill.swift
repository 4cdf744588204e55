import Registry
import Rules

/// How a `{policies}` placeholder lists the package.
enum PolicyChoice: Sendable, Hashable {
    /// Every short title, joined by the separator.
    case all
    /// The first `k` short titles and `more` (`等N项`), `1 ≤ k < N`.
    case first(Int)
    /// Only the summary (`N项`).
    case summary
}

/// The placeholder values of one enterprise's package, measured and appended without
/// intermediate strings, so a template's length is known before its text is built.
///
/// Registry text (`{name}`, `{region}`, custom text attributes) is filled in as
/// `RegistryText.sanitized` makes it and held to `RegistryText.maximumLength` characters; the
/// enterprise itself is left as imported.
struct PackageFill {
    let enterprise: Enterprise
    let policies: [PolicyProfile]
    let package: TemplateSet.Package
    let schema: AttributeSchema
    let link: PackageLink
    /// `{name}` as this message prints it; `layout` may shorten it further.
    private(set) var name: String
    private(set) var nameLength: Int

    init(
        enterprise: Enterprise, policies: [PolicyProfile], package: TemplateSet.Package, schema: AttributeSchema,
        link: PackageLink
    ) {
        self.enterprise = enterprise
        self.link = link
        self.policies = policies
        self.package = package
        self.schema = schema
        name = Self.registryText(enterprise.name)
        nameLength = TextMetrics.length(name)
    }

    /// Registry text as a message prints it: sanitized, then held to the registry text budget.
    static func registryText(_ text: String) -> String {
        TextMetrics.truncated(RegistryText.sanitized(text), to: RegistryText.maximumLength)
    }

    // MARK: Lengths

    /// Characters `placeholder` renders to; `{policies}` is measured by `layout`.
    func length(of placeholder: Placeholder) -> Int {
        switch placeholder {
        case .name: nameLength
        case .creditCode: TextMetrics.length(enterprise.creditCode)
        case .creditCodeTail: min(4, TextMetrics.length(enterprise.creditCode))
        case .policyCount: TextMetrics.digitCount(policies.count)
        case .policies: allTitlesLength
        case .policyTitles: policyTitlesLength
        case .topPolicy: policies.first.map { TextMetrics.length($0.shortTitle) } ?? 0
        case .link: package.linkText.literalLength + PackageLink.tokenLength * package.linkText.count(of: .token)
        case .attribute(let name): TextMetrics.length(attributeText(name))
        }
    }

    private func attributeText(_ name: String) -> String {
        switch enterprise.value(of: name, schema: schema) {
        case .string(let text)?: Self.registryText(text)
        case let value: Self.text(of: value)
        }
    }

    private var allTitlesLength: Int {
        guard !policies.isEmpty else { return 0 }
        var total = package.separatorLength * (policies.count - 1)
        for policy in policies { total += TextMetrics.length(policy.shortTitle) }
        return total
    }

    private var policyTitlesLength: Int {
        guard !policies.isEmpty else { return 0 }
        var total = Self.titleSeparator.count * (policies.count - 1)
        for policy in policies { total += TextMetrics.length(policy.title) }
        return total
    }

    private func countTextLength(_ text: CompiledText<CountPart>) -> Int {
        text.literalLength + TextMetrics.digitCount(policies.count) * text.count(of: .count)
    }

    /// Picks how `{policies}` lists the package so `text` plus `frame` characters stays within
    /// `budget`, shortening `{name}` (ending in `…`) where that lets more policies be named, and
    /// returns the resulting length (which exceeds `budget` only when the text is too long without
    /// any name).
    ///
    /// Policies come before the name: they are fitted with the name at `nameFloor` characters
    /// (named while they fit, then counted with `等N项`, then summarised) and the name then takes
    /// what is left, up to its full length. Only when not even the summary fits beside the floor
    /// is the name cut further, so the summary and the link always stay. Lengths are summed from
    /// the precomputed literal lengths and each value's length; no candidate text is built.
    mutating func layout(
        _ text: CompiledText<Placeholder>, frame: Int, budget: Int, summary: CompiledText<CountPart>
    ) -> (choice: PolicyChoice, length: Int) {
        let names = text.count(of: .name)
        guard names > 0 else { return policyLayout(text, frame: frame, budget: budget, summary: summary) }
        let floor = min(nameLength, Self.nameFloor)
        let fitted = policyLayout(text, frame: frame, budget: budget, summary: summary, nameLength: floor)
        let limit =
            fitted.length > budget
            ? max(0, floor - (fitted.length - budget + names - 1) / names)
            : min(nameLength, floor + (budget - fitted.length) / names)
        if limit < nameLength {
            name = TextMetrics.truncated(name, to: limit)
            nameLength = limit
        }
        return policyLayout(text, frame: frame, budget: budget, summary: summary)
    }

    /// Characters a name keeps before policies are counted rather than named: enough to tell
    /// most enterprises apart (`北京市朝阳区华盛科技发…`).
    static let nameFloor = 12

    /// `layout` for the name as it stands, or as if it were `nameLength` characters.
    private func policyLayout(
        _ text: CompiledText<Placeholder>, frame: Int, budget: Int, summary: CompiledText<CountPart>,
        nameLength: Int? = nil
    ) -> (choice: PolicyChoice, length: Int) {
        var fixed = text.literalLength + frame
        var occurrences = 0
        for case .placeholder(let placeholder) in text.segments {
            if placeholder == .policies {
                occurrences += 1
            } else if placeholder == .name, let nameLength {
                fixed += nameLength
            } else {
                fixed += length(of: placeholder)
            }
        }
        guard occurrences > 0 else { return (.all, fixed) }
        let full = fixed + occurrences * allTitlesLength
        let n = policies.count
        if full <= budget || n == 0 { return (.all, full) }

        // Longer prefixes only grow the text, so the first k that does not fit ends the search.
        let more = countTextLength(package.moreText)
        var best: (k: Int, length: Int)?
        var titles = 0
        for k in 1..<n {
            titles += TextMetrics.length(policies[k - 1].shortTitle)
            let candidate = fixed + occurrences * (titles + package.separatorLength * (k - 1) + more)
            guard candidate <= budget else { break }
            best = (k, candidate)
        }
        if let best { return (.first(best.k), best.length) }
        return (.summary, fixed + occurrences * countTextLength(summary))
    }

    // MARK: Text

    /// Appends the rendered `text` to `out`.
    func append(
        _ text: CompiledText<Placeholder>, choice: PolicyChoice, summary: CompiledText<CountPart>,
        to out: inout String
    ) {
        for segment in text.segments {
            switch segment {
            case .literal(let literal, _): out += literal
            case .placeholder(.policies): appendPolicies(choice, summary: summary, to: &out)
            case .placeholder(let placeholder): append(placeholder, to: &out)
            }
        }
    }

    private func append(_ placeholder: Placeholder, to out: inout String) {
        switch placeholder {
        case .name: out += name
        case .creditCode: out += enterprise.creditCode
        case .creditCodeTail: out += enterprise.creditCode.suffix(4)
        case .policyCount: out += String(policies.count)
        case .policies: appendPolicies(.all, summary: package.summaryText, to: &out)
        case .policyTitles:
            for (i, policy) in policies.enumerated() {
                if i > 0 { out += Self.titleSeparator }
                out += policy.title
            }
        case .topPolicy: out += policies.first?.shortTitle ?? ""
        case .link:
            for segment in package.linkText.segments {
                switch segment {
                case .literal(let literal, _): out += literal
                case .placeholder(.token): out += link.token(for: enterprise.creditCode)
                }
            }
        case .attribute(let name): out += attributeText(name)
        }
    }

    private func appendPolicies(_ choice: PolicyChoice, summary: CompiledText<CountPart>, to out: inout String) {
        switch choice {
        case .all, .first:
            let k = if case .first(let k) = choice { k } else { policies.count }
            for i in 0..<k {
                if i > 0 { out += package.separator }
                out += policies[i].shortTitle
            }
            if k < policies.count { appendCount(package.moreText, to: &out) }
        case .summary:
            appendCount(summary, to: &out)
        }
    }

    private func appendCount(_ text: CompiledText<CountPart>, to out: inout String) {
        for segment in text.segments {
            switch segment {
            case .literal(let literal, _): out += literal
            case .placeholder(.count): out += String(policies.count)
            }
        }
    }

    static let titleSeparator = "；"

    /// An attribute as a message prints it: missing is empty, whole numbers have no `.0`,
    /// booleans read 是/否, dates `YYYY-MM-DD`. Text is returned as is: `attributeText` cleans it.
    static func text(of value: AttributeValue?) -> String {
        switch value {
        case nil: ""
        case .string(let s)?: s
        case .number(let n)?: n.rounded() == n && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        case .bool(let b)?: b ? "是" : "否"
        case .date(let d)?: d.description
        }
    }
}
