import Foundation
import Kit
import Registry

/// The policy profiles of a directory, loaded and compiled.
public struct PolicyCatalog: Sendable {
    public struct Entry: Sendable {
        public var profile: PolicyProfile
        public var rule: CompiledRule
        /// Where the profile's `id` is written in `profile.file`: problems about the profile as a
        /// whole, such as a missing field, are reported there.
        public var position: JSON5Locator.Position?

        public init(profile: PolicyProfile, rule: CompiledRule, position: JSON5Locator.Position? = nil) {
            self.profile = profile
            self.rule = rule
            self.position = position
        }
    }

    /// Sorted by priority (largest first), then id.
    public let entries: [Entry]

    public init(entries: [Entry]) {
        self.entries = entries.sorted {
            ($0.profile.priority, $1.profile.id) > ($1.profile.priority, $0.profile.id)
        }
    }

    /// Loads every `*.json5` file of `directory` (one profile per file, or an array of profiles).
    ///
    /// Files are read in name order. Returns the profiles that loaded and a diagnostic for each
    /// problem: JSON5 syntax, a missing, unknown or mistyped field, a duplicate id, a bad date, or a
    /// rule error located at the file's line and column of the offending token inside the `when`
    /// string. A profile with any problem is left out; the other profiles still load.
    public static func load(directory: String, schema: AttributeSchema) -> (PolicyCatalog, [Diagnostic]) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
                .filter { $0.hasSuffix(".json5") }
                .sorted()
        } catch {
            return (
                PolicyCatalog(entries: []), [Diagnostic(file: directory, line: 0, message: "cannot list directory")]
            )
        }
        var entries: [Entry] = []
        var diagnostics: [Diagnostic] = []
        var seen: [String: String] = [:]  // id -> file
        for name in names {
            let path = (directory as NSString).appendingPathComponent(name)
            let loaded = ProfileFileLoader(path: path, schema: schema).load()
            diagnostics += loaded.diagnostics
            for entry in loaded.entries {
                if let other = seen[entry.profile.id] {
                    let idPosition = entry.position ?? .init(line: 0, column: 0)
                    diagnostics.append(
                        Diagnostic(
                            file: path, line: idPosition.line, column: idPosition.column, field: "id",
                            message: "duplicate id '\(entry.profile.id)', already defined in \(other)"))
                    continue
                }
                seen[entry.profile.id] = path
                entries.append(entry)
            }
        }
        return (PolicyCatalog(entries: entries), diagnostics)
    }

    public func entry(id: String) -> Entry? { entries.first { $0.profile.id == id } }

    /// One error for each guidance field (`summary`, `guide`, `official_link`) that a policy among
    /// `ids` lacks, located at the profile's `id`.
    ///
    /// The fields are optional when profiles load, so a profile can be written and its rule tried
    /// before its guide is; a campaign needs them, because the package page tells each enterprise
    /// what the policy means, how to claim it and where the announcement is. `policies check` and
    /// `campaign start` report these. Unknown ids are skipped.
    public func guidanceProblems(ids: some Sequence<String>) -> [Diagnostic] {
        var problems: [Diagnostic] = []
        for id in ids {
            guard let entry = entry(id: id) else { continue }
            let position = entry.position
            for field in entry.profile.missingGuidance {
                problems.append(
                    Diagnostic(
                        file: entry.profile.file, line: position?.line ?? 0, column: position?.column, field: field,
                        message:
                            "policy '\(id)' has no \(field); every policy in a campaign needs summary, guide and official_link"
                    ))
            }
        }
        return problems
    }
}

/// Reads, checks and compiles the profiles of one file.
struct ProfileFileLoader {
    let path: String
    let schema: AttributeSchema

    static let knownKeys: Set<String> = [
        "id", "title", "short_title", "basis", "effective_from", "effective_to", "priority", "summary", "guide",
        "official_link", "channels", "notes", "when",
    ]
    static let maxShortTitleLength = 10
    /// A summary is read on a phone: at most two lines of at most 80 characters.
    static let maxSummaryLines = 2
    static let maxSummaryLineLength = 80
    static let guideSteps = 2...6
    static let maxGuideStepLength = 120

    func load() -> (entries: [PolicyCatalog.Entry], diagnostics: [Diagnostic]) {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            return ([], [Diagnostic(file: path, line: 0, message: "cannot read file as UTF-8")])
        }
        let locator = JSON5Locator(text: text)
        if let error = locator.syntaxError {
            return (
                [],
                [
                    Diagnostic(
                        file: path, line: error.position.line, column: error.position.column,
                        message: "JSON5 syntax error: \(error.message)")
                ]
            )
        }
        let document: JSONValue
        do {
            document = try JSONDecoder.json5(JSONValue.self, from: data)
        } catch {
            return ([], [Diagnostic(file: path, line: 0, message: "JSON5 syntax error: \(error)")])
        }
        // Each profile object with its members as written, found by its key path.
        var objects: [([String: JSONValue], String)] = []  // with its key path
        switch document {
        case .object(let object): objects = [(object, "")]
        case .array(let array):
            for (index, element) in array.enumerated() {
                guard case .object(let object) = element else {
                    return ([], [shapeProblem(at: locator.position(of: "[\(index)]"))])
                }
                objects.append((object, "[\(index)]"))
            }
        default: return ([], [shapeProblem(at: locator.position(of: ""))])
        }
        var entries: [PolicyCatalog.Entry] = []
        var diagnostics: [Diagnostic] = []
        for (object, objectPath) in objects {
            var checker = ProfileChecker(
                path: path, schema: schema, object: object, locator: locator, objectPath: objectPath)
            if let loaded = checker.check() { entries.append(loaded) }
            diagnostics += checker.diagnostics
        }
        return (entries, diagnostics)
    }

    private func shapeProblem(at position: JSON5Locator.Position?) -> Diagnostic {
        Diagnostic(
            file: path, line: position?.line ?? 0, column: position?.column,
            message: "expected a profile object or an array of profile objects")
    }
}

/// Checks the fields of one profile object, collecting every problem with its position.
struct ProfileChecker {
    let path: String
    let schema: AttributeSchema
    let object: [String: JSONValue]
    let locator: JSON5Locator
    /// The object's key path in the file: `""` or `[2]`.
    let objectPath: String
    let members: [JSON5Locator.Member]
    var diagnostics: [Diagnostic] = []

    init(
        path: String, schema: AttributeSchema, object: [String: JSONValue], locator: JSON5Locator, objectPath: String
    ) {
        self.path = path
        self.schema = schema
        self.object = object
        self.locator = locator
        self.objectPath = objectPath
        self.members = locator.members(of: objectPath) ?? []
    }

    private var objectPosition: JSON5Locator.Position {
        members.first?.keyPosition ?? .init(line: 0, column: 0)
    }

    private mutating func report(_ field: String, _ message: String, at position: JSON5Locator.Position? = nil) {
        let position = position ?? members.last { $0.key == field }?.valuePosition ?? objectPosition
        diagnostics.append(
            Diagnostic(
                file: path, line: position.line, column: position.line > 0 ? position.column : nil, field: field,
                message: message))
    }

    private mutating func string(_ field: String, required: Bool = false) -> String? {
        switch object[field] {
        case nil, .null?:
            if required { report(field, "missing required field") }
            return nil
        case .string(let s)?:
            if required, s.isEmpty { report(field, "must not be empty") }
            return s
        case let value?:
            report(field, "expected a string, found \(value.kind)")
            return nil
        }
    }

    private mutating func date(_ field: String) -> LocalDate? {
        guard let text = string(field) else { return nil }
        guard let date = LocalDate(iso: text) else {
            report(field, "expected a date YYYY-MM-DD, found \"\(text)\"")
            return nil
        }
        return date
    }

    mutating func check() -> PolicyCatalog.Entry? {
        for member in members where !ProfileFileLoader.knownKeys.contains(member.key) {
            report(member.key, "unknown key", at: member.keyPosition)
        }
        let id = string("id", required: true)
        if let id, !id.isEmpty,
            !id.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" })
        {
            report("id", "must match [a-z0-9_]+, found \"\(id)\"")
        }
        let title = string("title") ?? id ?? ""
        let shortTitle = string("short_title") ?? title
        if shortTitle.count > ProfileFileLoader.maxShortTitleLength, object["short_title"] != nil {
            report(
                "short_title",
                "must be at most \(ProfileFileLoader.maxShortTitleLength) characters for SMS, has \(shortTitle.count)")
        }
        let basis = string("basis") ?? ""
        let effectiveFrom = date("effective_from")
        let effectiveTo = date("effective_to")
        if let effectiveFrom, let effectiveTo, effectiveTo < effectiveFrom {
            report("effective_to", "is before effective_from (\(effectiveFrom))")
        }
        var priority = 0
        switch object["priority"] {
        case nil, .null?: break
        case .number(let n)? where n.rounded() == n && abs(n) < 1e9: priority = Int(n)
        case let value?: report("priority", "expected an integer, found \(value.kind)")
        }
        let summary = summaryText()
        let guide = guideSteps()
        let officialLink = officialLinkText()
        let notes = string("notes")
        var channels = Channel.allCases
        switch object["channels"] {
        case nil, .null?: break
        case .array(let values)?:
            channels = []
            for value in values {
                guard case .string(let name) = value, let channel = Channel(rawValue: name) else {
                    report("channels", "expected \"wechat\" or \"sms\", found \(value)")
                    continue
                }
                if !channels.contains(channel) { channels.append(channel) }
            }
            if values.isEmpty { report("channels", "must name at least one channel") }
        case let value?: report("channels", "expected an array of channels, found \(value.kind)")
        }
        let when = string("when", required: true)
        var rule: CompiledRule?
        if let when, !when.isEmpty {
            do {
                rule = try CompiledRule(source: when, schema: schema)
            } catch {
                report("when", error.message, at: filePosition(of: error, in: when))
            }
        }
        guard diagnostics.isEmpty, let id, let when, let rule else { return nil }
        let profile = PolicyProfile(
            id: id, title: title, shortTitle: shortTitle, basis: basis, effectiveFrom: effectiveFrom,
            effectiveTo: effectiveTo, priority: priority, summary: summary, guide: guide, officialLink: officialLink,
            channels: channels, notes: notes, when: when, file: path)
        let idPosition = members.last { $0.key == "id" }?.valuePosition ?? objectPosition
        return PolicyCatalog.Entry(profile: profile, rule: rule, position: idPosition)
    }

    /// `summary`: one or two non-empty lines of at most 80 characters.
    private mutating func summaryText() -> String? {
        guard let summary = string("summary") else { return nil }
        let lines = summary.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        if lines.count > ProfileFileLoader.maxSummaryLines {
            report("summary", "must be at most \(ProfileFileLoader.maxSummaryLines) lines, has \(lines.count)")
            return summary
        }
        var offset = 0  // in unicode scalars, to locate a line inside the string
        for (number, line) in lines.enumerated() {
            let at = stringPosition(of: "summary", scalarOffset: offset)
            if line.trimmingCharacters(in: .whitespaces).isEmpty {
                report("summary", lines.count == 1 ? "must not be empty" : "line \(number + 1) is empty", at: at)
            } else if line.count > ProfileFileLoader.maxSummaryLineLength {
                report(
                    "summary",
                    "line \(number + 1) must be at most \(ProfileFileLoader.maxSummaryLineLength) characters, has \(line.count)",
                    at: at)
            }
            offset += line.unicodeScalars.count + 1
        }
        return summary
    }

    /// `guide`: 2 to 6 steps, each one non-empty line of at most 120 characters.
    private mutating func guideSteps() -> [String] {
        let values: [JSONValue]
        switch object["guide"] {
        case nil, .null?: return []
        case .array(let array)?: values = array
        case let value?:
            report("guide", "expected an array of steps (strings), found \(value.kind)")
            return []
        }
        let steps = ProfileFileLoader.guideSteps
        if !steps.contains(values.count) {
            report("guide", "must have \(steps.lowerBound) to \(steps.upperBound) steps, has \(values.count)")
        }
        var guide: [String] = []
        for (index, value) in values.enumerated() {
            let at = locator.position(of: key("guide") + "[\(index)]")
            guard case .string(let step) = value else {
                report("guide", "step \(index + 1): expected a string, found \(value.kind)", at: at)
                continue
            }
            if step.trimmingCharacters(in: .whitespaces).isEmpty {
                report("guide", "step \(index + 1) is empty", at: at)
            } else if step.contains(where: \.isNewline) {
                report("guide", "step \(index + 1) must be one line; make each line a step of its own", at: at)
            } else if step.count > ProfileFileLoader.maxGuideStepLength {
                report(
                    "guide",
                    "step \(index + 1) must be at most \(ProfileFileLoader.maxGuideStepLength) characters, has \(step.count)",
                    at: at)
            }
            guide.append(step)
        }
        return guide
    }

    /// `official_link`: an https address on a government site (a host ending in `gov.cn`).
    private mutating func officialLinkText() -> String? {
        guard let link = string("official_link") else { return nil }
        guard let components = URLComponents(string: link), components.scheme?.lowercased() == "https",
            let host = components.host?.lowercased(), !host.isEmpty
        else {
            report("official_link", "expected an https address (https://…gov.cn/…), found \"\(link)\"")
            return link
        }
        if components.user != nil || components.password != nil {
            report("official_link", "must not carry a user name or password")
        } else if !(host == "gov.cn" || host.hasSuffix(".gov.cn")) {
            report("official_link", "must be on an official site (a host ending in gov.cn), found host \"\(host)\"")
        }
        return link
    }

    /// The key path of a member of this profile object.
    private func key(_ field: String) -> String {
        objectPath.isEmpty ? field : objectPath + "." + field
    }

    /// The file position of the scalar at `scalarOffset` in the string value of `field`.
    private func stringPosition(of field: String, scalarOffset: Int) -> JSON5Locator.Position? {
        guard let positions = members.last(where: { $0.key == field })?.stringScalarPositions, !positions.isEmpty
        else { return nil }
        return positions[min(scalarOffset, positions.count - 1)]
    }

    /// Maps a line and column inside the rule text to the file position of that character.
    private func filePosition(of error: RuleError, in rule: String) -> JSON5Locator.Position? {
        guard let positions = members.last(where: { $0.key == "when" })?.stringScalarPositions, !positions.isEmpty
        else { return nil }
        var line = 1
        var column = 1
        var offset = 0
        for scalar in rule.unicodeScalars {
            if line == error.line, column == error.column { break }
            if scalar == "\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
            offset += 1
        }
        return positions[min(offset, positions.count - 1)]
    }
}
