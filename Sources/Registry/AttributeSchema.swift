import Foundation

/// The type of an attribute as rules and templates see it.
public enum AttributeType: String, Sendable, Hashable, Codable, CustomStringConvertible {
    case string, number, bool, date
    public var description: String { rawValue }
}

/// A value of an attribute for one enterprise.
public enum AttributeValue: Sendable, Hashable, CustomStringConvertible {
    case string(String)
    case number(Double)
    case bool(Bool)
    case date(LocalDate)

    public var type: AttributeType {
        switch self {
        case .string: .string
        case .number: .number
        case .bool: .bool
        case .date: .date
        }
    }

    public var description: String {
        switch self {
        case .string(let s): "\"\(s)\""
        case .number(let n): n.rounded() == n && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        case .bool(let b): String(b)
        case .date(let d): d.description
        }
    }
}

/// Which attributes exist and what type each has: the built-in ones plus the custom
/// attributes an operator declares in config (`attributes: { export_share: "number" }`).
///
/// Rules may only name attributes in the schema; an import column that is neither built-in
/// nor declared is still kept (templates can print it) but is not visible to rules.
public struct AttributeSchema: Sendable, Hashable {
    public struct Definition: Sendable, Hashable {
        public var name: String
        public var type: AttributeType
        public var isCustom: Bool
    }

    /// Built-in attributes that rules can read, in a stable order.
    public static let builtins: [Definition] = [
        .init(name: "taxpayer_type", type: .string, isCustom: false),
        .init(name: "industry_code", type: .string, isCustom: false),
        .init(name: "region", type: .string, isCustom: false),
        .init(name: "registered_on", type: .date, isCustom: false),
        .init(name: "employees", type: .number, isCustom: false),
        .init(name: "annual_sales", type: .number, isCustom: false),
        .init(name: "taxable_income", type: .number, isCustom: false),
        .init(name: "total_assets", type: .number, isCustom: false),
        .init(name: "credit_rating", type: .string, isCustom: false),
        .init(name: "high_tech", type: .bool, isCustom: false),
        .init(name: "sms_opt_out", type: .bool, isCustom: false),
        .init(name: "wechat_opt_out", type: .bool, isCustom: false),
        .init(name: "has_mobile", type: .bool, isCustom: false),
        .init(name: "has_wechat", type: .bool, isCustom: false),
    ]

    /// Import columns that identify or reach an enterprise; not rule attributes.
    public static let identityColumns: Set<String> = ["credit_code", "name", "mobile", "wechat_openid"]

    public private(set) var definitions: [Definition]
    private var index: [String: Int]

    /// - Parameter custom: declared custom attributes; a name that clashes with a built-in is ignored.
    public init(custom: [String: AttributeType] = [:]) {
        var definitions = Self.builtins
        let taken = Set(definitions.map(\.name)).union(Self.identityColumns)
        for name in custom.keys.sorted() where !taken.contains(name) {
            definitions.append(.init(name: name, type: custom[name]!, isCustom: true))
        }
        self.definitions = definitions
        var index: [String: Int] = [:]
        for (i, d) in definitions.enumerated() { index[d.name] = i }
        self.index = index
    }

    public func definition(named name: String) -> Definition? {
        index[name].map { definitions[$0] }
    }

    public var customDefinitions: [Definition] { definitions.filter(\.isCustom) }
}

extension Enterprise {
    /// The value of an attribute for this enterprise, `nil` when missing or unknown.
    ///
    /// Custom attributes are parsed from their text by the schema's declared type; text that
    /// does not parse counts as missing.
    public func value(of name: String, schema: AttributeSchema) -> AttributeValue? {
        switch name {
        case "taxpayer_type": return taxpayerType.map { .string($0.rawValue) }
        case "industry_code": return industryCode.map { .string($0) }
        case "region": return region.map { .string($0) }
        case "registered_on": return registeredOn.map { .date($0) }
        case "employees": return employees.map { .number(Double($0)) }
        case "annual_sales": return annualSales.map { .number($0) }
        case "taxable_income": return taxableIncome.map { .number($0) }
        case "total_assets": return totalAssets.map { .number($0) }
        case "credit_rating": return creditRating.map { .string($0.rawValue) }
        case "high_tech": return highTech.map { .bool($0) }
        case "sms_opt_out": return .bool(smsOptOut)
        case "wechat_opt_out": return .bool(wechatOptOut)
        case "has_mobile": return .bool(mobile != nil)
        case "has_wechat": return .bool(wechatOpenID != nil)
        default:
            guard let definition = schema.definition(named: name), definition.isCustom,
                let text = custom[name]
            else { return nil }
            return AttributeValue.parse(text, as: definition.type)
        }
    }
}

extension AttributeValue {
    /// Parses attribute text strictly by type: numbers as plain decimals, booleans as
    /// `true/false/1/0/yes/no/是/否`, dates as `YYYY-MM-DD`. Empty text is missing.
    public static func parse(_ text: String, as type: AttributeType) -> AttributeValue? {
        guard !text.isEmpty else { return nil }
        switch type {
        case .string: return .string(text)
        case .number: return StrictNumber.parse(text).map { .number($0) }
        case .bool: return StrictBool.parse(text).map { .bool($0) }
        case .date: return LocalDate(iso: text).map { .date($0) }
        }
    }
}

/// Strict decimal numbers: optional sign, digits, optional fraction. No exponent, no
/// thousands separators, no spaces inside, no `nan`/`inf`.
public enum StrictNumber {
    public static func parse(_ text: some StringProtocol) -> Double? {
        var sawDigit = false
        var sawDot = false
        var isFirst = true
        // Clinger's fast path: up to 15 significant digits and 22 decimals convert exactly
        // as mantissa / 10^decimals, with no call into strtod.
        var mantissa: Int64 = 0
        var digits = 0
        var decimals = 0
        var negative = false
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                sawDigit = true
                if mantissa != 0 || byte != UInt8(ascii: "0") { digits += 1 }
                mantissa = digits <= 18 ? mantissa &* 10 &+ Int64(byte - 48) : mantissa
                if sawDot { decimals += 1 }
            case UInt8(ascii: "."):
                if sawDot { return nil } else { sawDot = true }
            case UInt8(ascii: "-"), UInt8(ascii: "+"):
                if !isFirst { return nil }
                negative = byte == UInt8(ascii: "-")
            default: return nil
            }
            isFirst = false
        }
        guard sawDigit else { return nil }
        if digits <= 15, decimals <= 22 {
            let value = Double(mantissa) / powersOfTen[decimals]
            return negative ? -value : value
        }
        guard let value = Double(String(text)), value.isFinite else { return nil }
        return value
    }

    /// True when `text` has the form `parse` accepts, whether or not its value fits a `Double`.
    static func isWellFormed(_ text: some StringProtocol) -> Bool {
        var sawDigit = false
        var sawDot = false
        for (i, byte) in text.utf8.enumerated() {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): sawDigit = true
            case UInt8(ascii: "."):
                if sawDot { return false }
                sawDot = true
            case UInt8(ascii: "-"), UInt8(ascii: "+"):
                if i != 0 { return false }
            default: return false
            }
        }
        return sawDigit
    }

    private static let powersOfTen: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }
}

public enum StrictBool {
    public static func parse(_ text: some StringProtocol) -> Bool? {
        switch text.lowercased() {
        case "true", "1", "yes", "y", "是": true
        case "false", "0", "no", "n", "否": false
        default: nil
        }
    }
}
