/// A taxpayer in the district: identity, the attributes rules read, and how to reach it.
///
/// Values are already validated and normalised (see `EnterpriseValidator`): the credit code
/// passed its check digits, the mobile number is 11 bare digits. An attribute that is `nil`
/// is missing; rules compare missing values as false and explain says so.
public struct Enterprise: Sendable, Hashable {
    public var creditCode: String
    public var name: String
    public var taxpayerType: TaxpayerType?
    /// GB/T 4754 industry code: a section letter and up to four digits, e.g. `C13`, `I65`.
    public var industryCode: String?
    public var region: String?
    public var registeredOn: LocalDate?
    public var employees: Int?
    /// Annual sales in yuan.
    public var annualSales: Double?
    /// Taxable income in yuan; the only amount that may be negative (a loss).
    public var taxableIncome: Double?
    public var totalAssets: Double?
    public var creditRating: CreditRating?
    public var highTech: Bool?
    /// Mainland mobile number, 11 digits, no prefix.
    public var mobile: String?
    public var wechatOpenID: String?
    public var smsOptOut: Bool
    public var wechatOptOut: Bool
    /// Columns of the import file that are not built-in attributes, kept as text.
    public var custom: [String: String]

    public init(
        creditCode: String, name: String, taxpayerType: TaxpayerType? = nil, industryCode: String? = nil,
        region: String? = nil, registeredOn: LocalDate? = nil, employees: Int? = nil, annualSales: Double? = nil,
        taxableIncome: Double? = nil, totalAssets: Double? = nil, creditRating: CreditRating? = nil,
        highTech: Bool? = nil, mobile: String? = nil, wechatOpenID: String? = nil, smsOptOut: Bool = false,
        wechatOptOut: Bool = false, custom: [String: String] = [:]
    ) {
        self.creditCode = creditCode
        self.name = name
        self.taxpayerType = taxpayerType
        self.industryCode = industryCode
        self.region = region
        self.registeredOn = registeredOn
        self.employees = employees
        self.annualSales = annualSales
        self.taxableIncome = taxableIncome
        self.totalAssets = totalAssets
        self.creditRating = creditRating
        self.highTech = highTech
        self.mobile = mobile
        self.wechatOpenID = wechatOpenID
        self.smsOptOut = smsOptOut
        self.wechatOptOut = wechatOptOut
        self.custom = custom
    }
}

public enum TaxpayerType: String, Sendable, Hashable, CaseIterable {
    case general
    case smallScale = "small_scale"
    case individual
}

public enum CreditRating: String, Sendable, Hashable, CaseIterable {
    case a = "A"
    case b = "B"
    case m = "M"
    case c = "C"
    case d = "D"
}

/// A delivery channel of a policy package.
public enum Channel: String, Sendable, Hashable, CaseIterable, Codable {
    case wechat
    case sms
}
