import Foundation
import Kit
import Registry

extension TemplateSet {
    /// Loads `package.json5`, `sms.json5`, `wechat.json5` and the optional `aliyun.json5` and
    /// `tencent.json5` from `directory`.
    ///
    /// Every problem of every file is collected before throwing: JSON5 syntax, a missing or
    /// mistyped field, an unknown field, an out-of-range setting, and any template string with an
    /// unknown placeholder, an unclosed `{` or a lone `}`. Each diagnostic names the file, the
    /// line of the offending string and its key path (`fields[2].value`).
    ///
    /// - Throws: `TemplateError` carrying the diagnostics.
    public static func load(directory: String, schema: AttributeSchema) throws -> TemplateSet {
        var diagnostics: [Diagnostic] = []
        func file(_ name: String, required: Bool) -> TemplateFile? {
            TemplateFile.open(directory: directory, name: name, required: required, diagnostics: &diagnostics)
        }
        let resolve = { (name: String) in Placeholder(name: name, schema: schema) }
        let known =
            "{name}, {credit_code}, {credit_code_tail}, {policy_count}, {policies}, {policy_titles}, "
            + "{top_policy}, {link} or an attribute of the schema"

        var package: Package?
        if var f = file("package.json5", required: true) {
            package = f.package()
            diagnostics += f.diagnostics
        }
        var sms: SMS?
        if var f = file("sms.json5", required: true) {
            sms = f.sms(resolve: resolve, known: known, package: package)
            diagnostics += f.diagnostics
        }
        var wechat: WeChat?
        if var f = file("wechat.json5", required: true) {
            wechat = f.wechat(resolve: resolve, known: known, package: package)
            diagnostics += f.diagnostics
        }
        var aliyun: Aliyun?
        if var f = file("aliyun.json5", required: false) {
            aliyun = f.aliyun(resolve: resolve, known: known, package: package)
            diagnostics += f.diagnostics
        }
        var tencent: Tencent?
        if var f = file("tencent.json5", required: false) {
            tencent = f.tencent(resolve: resolve, known: known, package: package)
            diagnostics += f.diagnostics
        }
        guard diagnostics.isEmpty, let package, let sms, let wechat else {
            throw TemplateError(diagnostics: diagnostics)
        }
        return TemplateSet(
            directory: directory, schema: schema, package: package, sms: sms, wechat: wechat, aliyun: aliyun,
            tencent: tencent)
    }
}

// MARK: - File formats

private struct PackageFile: Decodable {
    var link: String
    var separator: String?
    var more: String?
    var summary: String?
}

private struct SMSFile: Decodable {
    var signature: String
    var optOut: String?
    var maxSegments: Int?
    var text: String
    var summary: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case signature
        case optOut = "opt_out"
        case maxSegments = "max_segments"
        case text, summary
    }
}

private struct WeChatFile: Decodable {
    struct FieldFile: Decodable {
        var key: String
        var value: String
        var maxLength: Int?
        enum CodingKeys: String, CodingKey {
            case key, value
            case maxLength = "max_length"
        }
    }
    var templateID: String
    var url: String?
    var fields: [FieldFile]
    enum CodingKeys: String, CodingKey {
        case templateID = "template_id"
        case url, fields
    }
}

/// A gateway parameter: a placeholder text, or `{ text, max_length }`.
private struct ParamFile: Decodable {
    var text: String
    var maxLength: Int?
    enum CodingKeys: String, CodingKey {
        case text
        case maxLength = "max_length"
    }

    init(from decoder: any Decoder) throws {
        if let text = try? decoder.singleValueContainer().decode(String.self) {
            self.text = text
            maxLength = nil
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        text = try container.decode(String.self, forKey: .text)
        maxLength = try container.decodeIfPresent(Int.self, forKey: .maxLength)
    }
}

private struct AliyunFile: Decodable {
    var templateCode: String
    var signName: String
    var maxLength: Int?
    var params: [String: ParamFile]
    enum CodingKeys: String, CodingKey {
        case templateCode = "template_code"
        case signName = "sign_name"
        case maxLength = "max_length"
        case params
    }
}

private struct TencentFile: Decodable {
    var templateID: String
    var signName: String
    var maxLength: Int?
    var params: [ParamFile]
    enum CodingKeys: String, CodingKey {
        case templateID = "template_id"
        case signName = "sign_name"
        case maxLength = "max_length"
        case params
    }
}

// MARK: - Loading one file

/// One template file being loaded: its text, positions, and the problems found so far.
private struct TemplateFile {
    let path: String
    let data: Data
    let lines: [Substring]
    let locator: JSON5Locator
    var diagnostics: [Diagnostic] = []

    static func open(
        directory: String, name: String, required: Bool, diagnostics: inout [Diagnostic]
    )
        -> TemplateFile?
    {
        let path = (directory as NSString).appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: path) else {
            if required { diagnostics.append(Diagnostic(file: path, line: 0, message: "missing template file")) }
            return nil
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            diagnostics.append(Diagnostic(file: path, line: 0, message: "cannot read the file as UTF-8"))
            return nil
        }
        return TemplateFile(
            path: path, data: data, lines: text.split(separator: "\n", omittingEmptySubsequences: false),
            locator: JSON5Locator(text: text))
    }

    mutating func report(_ field: String?, _ message: String, column: Int? = nil) {
        let location = field.flatMap { locator.nearestPosition(of: $0) }
        diagnostics.append(
            Diagnostic(
                file: path, line: location?.line ?? 0, column: column ?? location?.column, field: field,
                message: message))
    }

    /// Decodes the file, turning syntax and type errors into diagnostics.
    mutating func decode<T: Decodable>(_ type: T.Type, allowedKeys: [String]) -> T? {
        if let error = locator.syntaxError {
            diagnostics.append(
                Diagnostic(
                    file: path, line: error.position.line, column: error.position.column,
                    message: "JSON5 syntax: \(error.message)"))
            return nil
        }
        do {
            let value = try JSONDecoder.json5(T.self, from: data)
            checkKeys(at: "", allowed: allowedKeys)
            return value
        } catch let error as DecodingError {
            switch error {
            case .keyNotFound(let key, let context):
                report(Self.path(context.codingPath + [key]), "missing required field")
            case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
                report(Self.path(context.codingPath), "expected \(Self.typeName(type))")
            case .dataCorrupted(let context):
                report(context.codingPath.isEmpty ? nil : Self.path(context.codingPath), context.debugDescription)
            @unknown default:
                report(nil, "\(error)")
            }
        } catch {
            report(nil, "\(error)")
        }
        return nil
    }

    /// Flags keys of the object at `path` that the format does not know (typos would be ignored silently).
    mutating func checkKeys(at path: String, allowed: [String]) {
        for key in locator.keys(of: path) ?? [] where !allowed.contains(key) {
            let field = path.isEmpty ? key : "\(path).\(key)"
            report(field, "unknown field; expected one of \(allowed.joined(separator: ", "))")
        }
    }

    /// Compiles a template string, reporting problems at the string's line and, when the string is
    /// written on one line without escapes, at the column of the offending brace.
    mutating func compile<Name>(
        _ source: String, field: String, known: String, resolve: (String) -> Name?
    ) -> CompiledText<Name>? {
        do {
            return try CompiledText.compile(source, known: known, resolve: resolve)
        } catch {
            report(field, error.message, column: column(of: error.offset, in: source, field: field))
            return nil
        }
    }

    private func column(of offset: Int, in source: String, field: String) -> Int? {
        guard let location = locator.position(of: field), location.line <= lines.count else { return nil }
        let raw = lines[location.line - 1].dropFirst(location.column)  // skip up to and including the quote
        guard raw.hasPrefix(source.prefix(offset + 1)) else { return nil }
        return location.column + 1 + offset
    }

    mutating func maxLength(_ value: Int?, field: String) -> Int? {
        guard let value else { return nil }
        guard value >= 2 else {
            report(field, "must be at least 2 (the ellipsis takes one character)")
            return nil
        }
        return value
    }

    mutating func checkRepetition(in text: CompiledText<Placeholder>, field: String, package: TemplateSet.Package?) {
        guard let package else { return }
        checkRepetition(in: text, field: field, summary: package.summaryText, more: package.moreText)
    }

    /// Reports a `{policies}` whose following text repeats the end of the summary or of `more`
    /// (`{policies}税费优惠政策条件` with the summary `{n}项税费优惠政策`), which would print the words
    /// twice (`4项税费优惠政策税费优惠政策条件`). Repeats of a single character are left alone.
    mutating func checkRepetition(
        in text: CompiledText<Placeholder>, field: String, summary: CompiledText<CountPart>,
        more: CompiledText<CountPart>
    ) {
        for (i, segment) in text.segments.enumerated() where segment == .placeholder(.policies) {
            guard i + 1 < text.segments.count, case .literal(let after, _) = text.segments[i + 1] else { continue }
            for (form, name) in [(summary, "summary"), (more, "more")] {
                guard case .literal(let tail, _)? = form.segments.last else { continue }
                let overlap = Self.overlap(tail, after)
                guard overlap >= 2 else { continue }
                var example = ""
                for part in form.segments {
                    switch part {
                    case .literal(let literal, _): example += literal
                    case .placeholder(.count): example += "4"
                    }
                }
                example += after.prefix(overlap + 2)
                report(
                    field,
                    "`{policies}` is followed by `\(after.prefix(overlap))`, which the \(name) `\(form.source)` "
                        + "already ends with: the message would read `…\(example)…`; end the \(name) before it "
                        + "(e.g. `\(name == "summary" ? "{n}项" : "等{n}项")`)")
                return
            }
        }
    }

    /// The length of the longest end of `tail` that `text` starts with.
    static func overlap(_ tail: String, _ text: String) -> Int {
        let tail = Array(tail)
        let text = Array(text)
        for k in stride(from: min(tail.count, text.count), to: 0, by: -1)
        where tail[(tail.count - k)...].elementsEqual(text[..<k]) {
            return k
        }
        return 0
    }

    mutating func nonEmpty(_ value: String, field: String) {
        if value.isEmpty { report(field, "must not be empty") }
    }

    static func path(_ codingPath: [any CodingKey]) -> String {
        var path = ""
        for key in codingPath {
            if let index = key.intValue {
                path += "[\(index)]"
            } else {
                path += path.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return path
    }

    static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type: "an integer"
        case is [Any].Type: "an array"
        default: "a value of type \(type)"
        }
    }

    // MARK: Each file

    static let countKnown = "{n}"
    static func resolveCount(_ name: String) -> CountPart? { name == "n" ? .count : nil }

    mutating func package() -> TemplateSet.Package? {
        guard let file = decode(PackageFile.self, allowedKeys: ["link", "separator", "more", "summary"]) else {
            return nil
        }
        let link = compile(file.link, field: "link", known: "{token}") { $0 == "token" ? LinkPart.token : nil }
        if let link, link.count(of: .token) == 0 {
            report("link", "must contain `{token}` so each enterprise gets its own page")
        }
        let more = compile(file.more ?? "等{n}项", field: "more", known: Self.countKnown, resolve: Self.resolveCount)
        let summary = compile(
            file.summary ?? "{n}项", field: "summary", known: Self.countKnown, resolve: Self.resolveCount)
        guard let link, let more, let summary else { return nil }
        let separator = file.separator ?? "、"
        return TemplateSet.Package(
            separator: separator, linkText: link, moreText: more, summaryText: summary,
            separatorLength: separator.count)
    }

    mutating func sms(
        resolve: (String) -> Placeholder?, known: String, package: TemplateSet.Package?
    ) -> TemplateSet.SMS? {
        guard let file = decode(SMSFile.self, allowedKeys: SMSFile.CodingKeys.allCases.map(\.rawValue)) else {
            return nil
        }
        nonEmpty(file.signature, field: "signature")
        nonEmpty(file.text, field: "text")
        for (value, field) in [(file.signature, "signature"), (file.text, "text"), (file.optOut ?? "", "opt_out")]
        where value.contains("【") || value.contains("】") {
            report(field, "must not contain `【` or `】`; the signature brackets are added when rendering")
        }
        let maxSegments = file.maxSegments ?? 2
        let segmentCap = SMSLength.segments(forLength: SMSLength.maximumLength)
        if !(1...segmentCap).contains(maxSegments) { report("max_segments", "must be between 1 and \(segmentCap)") }
        let optOut = file.optOut ?? "回T退订"
        let prefix = "【\(file.signature)】"
        let frameLength = prefix.count + optOut.count
        if frameLength > 100 { report("signature", "signature and opt_out together must stay under 100 characters") }
        let body = compile(file.text, field: "text", known: known, resolve: resolve)
        let summary =
            file.summary.map {
                compile($0, field: "summary", known: Self.countKnown, resolve: Self.resolveCount)
            } ?? package?.summaryText
        if let body, let summary, let package {
            checkRepetition(in: body, field: "text", summary: summary, more: package.moreText)
        }
        guard diagnostics.isEmpty, let body, let summary else { return nil }
        return TemplateSet.SMS(
            signature: file.signature, optOut: optOut, maxSegments: maxSegments, body: body, summaryText: summary,
            prefix: prefix, frameLength: frameLength)
    }

    mutating func wechat(
        resolve: (String) -> Placeholder?, known: String, package: TemplateSet.Package?
    ) -> TemplateSet.WeChat? {
        guard let file = decode(WeChatFile.self, allowedKeys: ["template_id", "url", "fields"]) else { return nil }
        nonEmpty(file.templateID, field: "template_id")
        if file.fields.isEmpty { report("fields", "must hold at least one field") }
        let url = file.url.flatMap { compile($0, field: "url", known: known, resolve: resolve) }
        var seen: Set<String> = []
        var fields: [TemplateSet.Field] = []
        for (i, field) in file.fields.enumerated() {
            let path = "fields[\(i)]"
            checkKeys(at: path, allowed: ["key", "value", "max_length"])
            nonEmpty(field.key, field: "\(path).key")
            if !seen.insert(field.key).inserted { report("\(path).key", "duplicate key `\(field.key)`") }
            let limit = maxLength(field.maxLength, field: "\(path).max_length")
            if let text = compile(field.value, field: "\(path).value", known: known, resolve: resolve) {
                checkRepetition(in: text, field: "\(path).value", package: package)
                fields.append(TemplateSet.Field(key: field.key, maxLength: limit, text: text))
            }
        }
        guard diagnostics.isEmpty else { return nil }
        return TemplateSet.WeChat(templateID: file.templateID, fields: fields, urlText: url)
    }

    mutating func aliyun(
        resolve: (String) -> Placeholder?, known: String, package: TemplateSet.Package?
    ) -> TemplateSet.Aliyun? {
        let allowed = ["template_code", "sign_name", "max_length", "params"]
        guard let file = decode(AliyunFile.self, allowedKeys: allowed) else { return nil }
        nonEmpty(file.templateCode, field: "template_code")
        nonEmpty(file.signName, field: "sign_name")
        let defaultLimit = maxLength(file.maxLength, field: "max_length") ?? TemplateSet.Aliyun.defaultMaxLength
        // The decoder forgets key order; the locator kept it, and Aliyun shows variables in template order anyway.
        let order = locator.keys(of: "params") ?? file.params.keys.sorted()
        var params: [TemplateSet.Field] = []
        for key in order {
            guard let param = file.params[key] else { continue }
            let path = "params.\(key)"
            checkKeys(at: path, allowed: ["text", "max_length"])
            let limit = maxLength(param.maxLength, field: "\(path).max_length") ?? defaultLimit
            let field = locator.position(of: "\(path).text") != nil ? "\(path).text" : path
            if let text = compile(param.text, field: field, known: known, resolve: resolve) {
                checkRepetition(in: text, field: field, package: package)
                params.append(TemplateSet.Field(key: key, maxLength: limit, text: text))
            }
        }
        guard diagnostics.isEmpty else { return nil }
        return TemplateSet.Aliyun(templateCode: file.templateCode, signName: file.signName, params: params)
    }

    mutating func tencent(
        resolve: (String) -> Placeholder?, known: String, package: TemplateSet.Package?
    ) -> TemplateSet.Tencent? {
        let allowed = ["template_id", "sign_name", "max_length", "params"]
        guard let file = decode(TencentFile.self, allowedKeys: allowed) else { return nil }
        nonEmpty(file.templateID, field: "template_id")
        nonEmpty(file.signName, field: "sign_name")
        let defaultLimit = maxLength(file.maxLength, field: "max_length") ?? TemplateSet.Tencent.defaultMaxLength
        var params: [TemplateSet.Field] = []
        for (i, param) in file.params.enumerated() {
            let path = "params[\(i)]"
            checkKeys(at: path, allowed: ["text", "max_length"])
            let limit = maxLength(param.maxLength, field: "\(path).max_length") ?? defaultLimit
            let field = locator.position(of: "\(path).text") != nil ? "\(path).text" : path
            if let text = compile(param.text, field: field, known: known, resolve: resolve) {
                checkRepetition(in: text, field: field, package: package)
                params.append(TemplateSet.Field(key: String(i + 1), maxLength: limit, text: text))
            }
        }
        guard diagnostics.isEmpty else { return nil }
        return TemplateSet.Tencent(templateID: file.templateID, signName: file.signName, params: params)
    }
}
