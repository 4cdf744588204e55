/// Turns raw import records into `Enterprise` values, or into diagnostics that say exactly
/// which line, column and field is wrong and why.
///
/// Every value is trimmed of surrounding white space first; an empty value is missing.
/// Columns that are not built-in are kept in `Enterprise.custom`; when the schema declares
/// such a column with a number, bool or date type, its values are checked against that type.
///
/// The validator remembers the credit codes it has seen, so a code that appears again in the
/// same file is rejected on its later rows; use one validator per file.
///
/// Text a template can place (the name, the region, custom text columns) is kept as imported,
/// but when messages will print it changed (`RegistryText`: control or bidi characters,
/// signature brackets, web addresses, longer than `RegistryText.maximumLength`) the validator
/// adds a warning: the row stays, the operator gets to look at it.
public struct EnterpriseValidator: Sendable {
    /// What validating one record produced.
    public enum Outcome: Sendable, Hashable {
        case accepted(Enterprise)
        /// `creditCode` is the row's normalised code when the code itself was valid.
        case rejected([Diagnostic], creditCode: String?)
    }

    /// The import columns of built-in fields, in the canonical order of exported files.
    public static let columns: [String] = Field.allBuiltins.map(\.column)

    /// Columns every import must have.
    public static let requiredColumns: [String] = ["credit_code", "name"]

    /// The largest `employees` accepted; more is a typo or a unit mix-up (the largest employers
    /// have a few million people).
    public static let maximumEmployees = 10_000_000

    /// The largest magnitude of an amount in yuan (`annual_sales`, `taxable_income`,
    /// `total_assets`) and of a custom number: 10^15, several times China's GDP. Within it every
    /// whole yuan is exact in a `Double` and prints as an integer.
    public static let maximumAmount: Double = 1e15

    public let schema: AttributeSchema
    public let today: LocalDate
    /// The file name diagnostics carry.
    public let file: String
    private var firstLineOfCode: [PackedCode: Int] = [:]

    public init(schema: AttributeSchema, today: LocalDate, file: String) {
        self.schema = schema
        self.today = today
        self.file = file
    }

    /// Validates one record given as column name → raw text.
    ///
    /// - Parameters:
    ///   - values: the raw cell text by column name; absent and empty mean missing.
    ///   - line: the 1-based line the record starts on.
    ///   - columns: the 1-based header position of each column, for CSV input.
    public mutating func validate(_ values: [String: String], line: Int, columns: [String: Int] = [:]) -> Outcome {
        var warnings: [Diagnostic] = []
        return validate(values, line: line, columns: columns, warnings: &warnings)
    }

    /// Validates one record and appends the warnings about its text to `warnings`
    /// (`Diagnostic.Severity.warning`; a warning never rejects a row).
    public mutating func validate(
        _ values: [String: String], line: Int, columns: [String: Int] = [:], warnings: inout [Diagnostic]
    ) -> Outcome {
        let names = values.keys.sorted { (columns[$0] ?? .max, $0) < (columns[$1] ?? .max, $1) }
        let layout = Layout(names: names, schema: schema, columnNumbers: names.map { columns[$0] })
        return validate(values: names.map { values[$0] }, layout: layout, line: line, warnings: &warnings)
    }

    /// Makes room for the credit codes of about `rows` records, so a large file does not
    /// rehash its duplicate index many times.
    mutating func reserveCapacity(_ rows: Int) {
        firstLineOfCode.reserveCapacity(rows)
    }

    /// A valid credit code in 90 bits (5 per character), a cheaper dictionary key than the
    /// 18-byte string for the duplicate check over a million rows.
    struct PackedCode: Hashable {
        var high: UInt64
        var low: UInt32

        init(_ code: String) {
            var code = code
            (high, low) = code.withUTF8 { bytes in
                var high: UInt64 = 0
                var low: UInt32 = 0
                for i in 0..<bytes.count {
                    let value = CreditCode.value(of: bytes[i])
                    if i < 12 { high = high << 5 | UInt64(value) } else { low = low << 5 | UInt32(value) }
                }
                return (high, low)
            }
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(high ^ UInt64(low) &* 0x9E37_79B9_7F4A_7C15)
        }
    }

    // MARK: - Layout

    /// How the columns of a file (or of one JSON line) map to fields; built once per header.
    struct Layout {
        var names: [String]
        var fields: [Field]
        /// 1-based header position per column, `nil` for JSON Lines.
        var columnNumbers: [Int?]
        /// Where each required column is, or `nil` when absent.
        var creditCodeIndex: Int?
        var nameIndex: Int?

        init(names: [String], schema: AttributeSchema, columnNumbers: [Int?]) {
            self.names = names
            self.columnNumbers = columnNumbers
            fields = names.map { name in
                if name.isEmpty { return .ignored }
                if let builtin = Field.byColumn[name] { return builtin }
                let definition = schema.definition(named: name)
                return .custom(definition?.isCustom == true ? definition?.type : nil)
            }
            creditCodeIndex = fields.firstIndex(of: .creditCode)
            nameIndex = fields.firstIndex(of: .name)
        }

        /// Column names that appear more than once (ignoring empty names).
        var duplicateNames: [String] {
            var seen: Set<String> = []
            var duplicates: [String] = []
            for name in names where !name.isEmpty && !seen.insert(name).inserted && !duplicates.contains(name) {
                duplicates.append(name)
            }
            return duplicates
        }
    }

    enum Field: Hashable {
        case creditCode, name, taxpayerType, industryCode, region, registeredOn, employees, annualSales
        case taxableIncome, totalAssets, creditRating, highTech, smsOptOut, wechatOptOut, mobile, wechatOpenID
        /// A non-built-in column and its declared type, if the schema declares one.
        case custom(AttributeType?)
        /// A column with an empty header name: its values are dropped.
        case ignored

        static let allBuiltins: [Field] = [
            .creditCode, .name, .taxpayerType, .industryCode, .region, .registeredOn, .employees, .annualSales,
            .taxableIncome, .totalAssets, .creditRating, .highTech, .smsOptOut, .wechatOptOut, .mobile, .wechatOpenID,
        ]

        static let byColumn: [String: Field] = Dictionary(uniqueKeysWithValues: allBuiltins.map { ($0.column, $0) })

        var column: String {
            switch self {
            case .creditCode: "credit_code"
            case .name: "name"
            case .taxpayerType: "taxpayer_type"
            case .industryCode: "industry_code"
            case .region: "region"
            case .registeredOn: "registered_on"
            case .employees: "employees"
            case .annualSales: "annual_sales"
            case .taxableIncome: "taxable_income"
            case .totalAssets: "total_assets"
            case .creditRating: "credit_rating"
            case .highTech: "high_tech"
            case .smsOptOut: "sms_opt_out"
            case .wechatOptOut: "wechat_opt_out"
            case .mobile: "mobile"
            case .wechatOpenID: "wechat_openid"
            case .custom, .ignored: ""
            }
        }
    }

    // MARK: - Validation

    /// Validates one record whose values are aligned with `layout.names`; `nil` is missing.
    mutating func validate(values: [String?], layout: Layout, line: Int, warnings: inout [Diagnostic]) -> Outcome {
        var diagnostics: [Diagnostic] = []
        var enterprise = Enterprise(creditCode: "", name: "")
        var codeIsValid = false

        func fail(_ index: Int?, _ field: String, _ message: String) {
            diagnostics.append(
                Diagnostic(
                    file: file, line: line, column: index.flatMap { layout.columnNumbers[$0] }, field: field,
                    message: message))
        }

        /// Warns when messages will print `text` changed.
        func check(_ index: Int, _ field: String, _ text: String) {
            let found = RegistryText.inspect(text)
            guard !found.isClean || found.length > RegistryText.maximumLength else { return }
            for message in Self.textWarnings(found) {
                warnings.append(
                    Diagnostic(
                        file: file, line: line, column: layout.columnNumbers[index], field: field, message: message,
                        severity: .warning))
            }
        }

        if layout.creditCodeIndex == nil { fail(nil, "credit_code", "is required") }
        if layout.nameIndex == nil { fail(nil, "name", "is required") }

        for (index, raw) in values.enumerated() {
            let field = layout.fields[index]
            let text = raw?.trimmingWhitespace() ?? ""
            let column = layout.names[index]
            switch field {
            case .ignored:
                continue
            case .custom(let type):
                guard !text.isEmpty else { continue }
                enterprise.custom[column] = text
                if type == nil || type == .string { check(index, column, text) }
                if type == .number, case .outOfRange = Self.amount(text) {
                    fail(index, column, "\(Self.quoted(text)) is out of range (\(Self.amountRange(signed: true)))")
                } else if let type, AttributeValue.parse(text, as: type) == nil {
                    fail(index, column, "\(Self.quoted(text)) is not a valid \(Self.describe(type))")
                }
                continue
            case .creditCode:
                guard !text.isEmpty else {
                    fail(index, column, "is required")
                    continue
                }
                switch CreditCode.normalize(text) {
                case .success(let code):
                    enterprise.creditCode = code
                    codeIsValid = true
                case .failure(let invalid):
                    fail(index, column, invalid.message)
                }
                continue
            case .name:
                if text.isEmpty {
                    fail(index, column, "is required")
                } else {
                    enterprise.name = text
                    check(index, column, text)
                }
                continue
            default:
                break
            }
            // Optional built-ins: empty is missing (false for the opt-outs).
            guard !text.isEmpty else { continue }
            switch field {
            case .taxpayerType:
                if let type = Self.taxpayerType(text) {
                    enterprise.taxpayerType = type
                } else {
                    fail(index, column, "\(Self.quoted(text)) is not one of general, small_scale, individual")
                }
            case .industryCode:
                if let code = Self.industryCode(text) {
                    enterprise.industryCode = code
                } else {
                    fail(
                        index, column,
                        "\(Self.quoted(text)) is not a GB/T 4754 code (a section letter A-T and up to 4 digits, e.g. C13)"
                    )
                }
            case .region:
                enterprise.region = text
                check(index, column, text)
            case .registeredOn:
                if let date = LocalDate(iso: text) {
                    if date > today {
                        fail(index, column, "\(text) is in the future (today is \(today))")
                    } else {
                        enterprise.registeredOn = date
                    }
                } else {
                    fail(index, column, "\(Self.quoted(text)) is not a date YYYY-MM-DD")
                }
            case .employees:
                switch Self.employeeCount(text) {
                case .value(let count): enterprise.employees = count
                case .outOfRange:
                    fail(index, column, "\(Self.quoted(text)) is out of range (0 to \(Self.maximumEmployees))")
                case .invalid: fail(index, column, "\(Self.quoted(text)) is not a non-negative integer")
                }
            case .annualSales, .totalAssets:
                switch Self.amount(text) {
                case .value(let amount) where amount >= 0:
                    if field == .annualSales {
                        enterprise.annualSales = amount
                    } else {
                        enterprise.totalAssets = amount
                    }
                case .outOfRange:
                    fail(index, column, "\(Self.quoted(text)) is out of range (\(Self.amountRange(signed: false)))")
                case .value, .invalid:
                    fail(index, column, "\(Self.quoted(text)) is not a non-negative decimal number")
                }
            case .taxableIncome:
                switch Self.amount(text) {
                case .value(let amount): enterprise.taxableIncome = amount
                case .outOfRange:
                    fail(index, column, "\(Self.quoted(text)) is out of range (\(Self.amountRange(signed: true)))")
                case .invalid: fail(index, column, "\(Self.quoted(text)) is not a decimal number")
                }
            case .creditRating:
                if let rating = CreditRating(rawValue: text) ?? CreditRating(rawValue: text.uppercased()) {
                    enterprise.creditRating = rating
                } else {
                    fail(index, column, "\(Self.quoted(text)) is not one of A, B, M, C, D")
                }
            case .highTech, .smsOptOut, .wechatOptOut:
                guard let flag = Self.bool(text) else {
                    fail(index, column, "\(Self.quoted(text)) is not a boolean (true/false, 1/0, yes/no, 是/否)")
                    continue
                }
                switch field {
                case .highTech: enterprise.highTech = flag
                case .smsOptOut: enterprise.smsOptOut = flag
                default: enterprise.wechatOptOut = flag
                }
            case .mobile:
                // The number itself stays out of the message: diagnostics end up in logs.
                if let number = MobileNumber.normalize(text) {
                    enterprise.mobile = number
                } else {
                    fail(index, column, "is not a mainland mobile number (11 digits starting 13-19)")
                }
            case .wechatOpenID:
                if Self.isOpenID(text) {
                    enterprise.wechatOpenID = text
                } else {
                    fail(index, column, "must be 1-64 characters of A-Z, a-z, 0-9, '_' and '-'")
                }
            case .creditCode, .name, .custom, .ignored:
                break
            }
        }

        // A repeated code is refused even when its first row was rejected for another reason:
        // the file, not just its accepted rows, must identify each enterprise once.
        if codeIsValid {
            let key = PackedCode(enterprise.creditCode)
            // One hash lookup for the common, unique case; a duplicate puts the first line back.
            if let first = firstLineOfCode.updateValue(line, forKey: key) {
                firstLineOfCode[key] = first
                fail(layout.creditCodeIndex, "credit_code", "duplicate credit_code, first on line \(first)")
            }
        }
        return diagnostics.isEmpty
            ? .accepted(enterprise) : .rejected(diagnostics, creditCode: codeIsValid ? enterprise.creditCode : nil)
    }

    // MARK: - Field rules

    static func taxpayerType(_ text: String) -> TaxpayerType? {
        if let type = TaxpayerType(rawValue: text) { return type }
        return switch text.lowercased() {
        case "general", "一般纳税人": .general
        case "small_scale", "small-scale", "小规模纳税人": .smallScale
        case "individual", "个体工商户": .individual
        default: nil
        }
    }

    /// A section letter A-T and 0-4 digits, uppercased.
    static func industryCode(_ text: String) -> String? {
        let utf8 = text.utf8
        guard let first = utf8.first, (1...5).contains(utf8.count),
            utf8.dropFirst().allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { return nil }
        switch first {
        case UInt8(ascii: "A")...UInt8(ascii: "T"): return text
        case UInt8(ascii: "a")...UInt8(ascii: "t"): return text.uppercased()
        default: return nil
        }
    }

    /// `StrictBool`, with the spellings exports use most checked first without case folding.
    static func bool(_ text: String) -> Bool? {
        switch text {
        case "true", "1": true
        case "false", "0": false
        default: StrictBool.parse(text)
        }
    }

    /// A number read from a file, checked before anything computes with it.
    enum Checked<Value> {
        case value(Value)
        /// Well formed, but beyond what the field can hold.
        case outOfRange
        case invalid
    }

    /// Digits only, at most `maximumEmployees`; any number of digits is read without overflow.
    static func employeeCount(_ text: String) -> Checked<Int> {
        let digits = text.utf8
        guard !digits.isEmpty, digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            return .invalid
        }
        guard digits.drop(while: { $0 == UInt8(ascii: "0") }).count <= 8, let count = Int(text),
            count <= maximumEmployees
        else { return .outOfRange }
        return .value(count)
    }

    /// A strict decimal (`StrictNumber`) of magnitude at most `maximumAmount`.
    static func amount(_ text: String) -> Checked<Double> {
        if let value = StrictNumber.parse(text) { return abs(value) <= maximumAmount ? .value(value) : .outOfRange }
        // Well formed but not parsed: too many digits for a Double.
        return StrictNumber.isWellFormed(text) ? .outOfRange : .invalid
    }

    static func amountRange(signed: Bool) -> String {
        let limit = String(Int64(maximumAmount))
        return signed ? "-\(limit) to \(limit)" : "0 to \(limit)"
    }

    static func isOpenID(_ text: String) -> Bool {
        let bytes = text.utf8
        return (1...64).contains(bytes.count)
            && bytes.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                    true
                default: false
                }
            }
    }

    static func describe(_ type: AttributeType) -> String {
        switch type {
        case .string: "string"
        case .number: "decimal number"
        case .bool: "boolean (true/false, 1/0, yes/no, 是/否)"
        case .date: "date YYYY-MM-DD"
        }
    }

    /// What messages will do to a text, one sentence per kind of change. No raw text is repeated
    /// but an address (ASCII, escaped): warnings go to terminals and logs.
    static func textWarnings(_ found: RegistryText.Inspection) -> [String] {
        func codePoints(_ scalars: [Unicode.Scalar]) -> String {
            let shown = scalars.prefix(4).map(RegistryText.codePoint).joined(separator: " ")
            return scalars.count > 4 ? shown + " …" : shown
        }
        var messages: [String] = []
        if !found.controls.isEmpty {
            messages.append(
                "contains control characters (\(codePoints(found.controls))); messages show a space or nothing instead")
        }
        if !found.formats.isEmpty {
            messages.append(
                "contains bidirectional or invisible formatting characters (\(codePoints(found.formats))); "
                    + "messages leave them out")
        }
        if !found.brackets.isEmpty {
            var brackets = ""
            brackets.unicodeScalars.append(contentsOf: found.brackets)
            messages.append("contains signature brackets (\(brackets)); messages show parentheses instead")
        }
        if let address = found.addresses.first {
            messages.append(
                "contains a web address (\(quoted(RegistryText.escaped(address)))); messages leave it out")
        }
        if found.length > RegistryText.maximumLength {
            messages.append(
                "is \(found.length) characters; messages shorten it to \(RegistryText.maximumLength), ending in …")
        }
        return messages
    }

    /// The value in quotes, shortened so one bad cell cannot flood a report.
    static func quoted(_ text: String) -> String {
        text.count <= 40 ? "'\(text)'" : "'\(text.prefix(37))...'"
    }
}
