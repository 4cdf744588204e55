import Glibc
import Kit

/// Generates realistic enterprises of one Beijing district (朝阳区) for demos, load tests and
/// fixtures.
///
/// Output depends only on the seed: the same seed gives the same sequence on every run.
/// Every enterprise passes `EnterpriseValidator` (for any `today` from 2026 on), and credit
/// codes never repeat within one generator for the first 10⁸ enterprises.
public struct EnterpriseGenerator: Sendable {
    private var random: SplitMix64
    private var serial: UInt64 = 0

    public init(seed: UInt64) {
        random = SplitMix64(seed: seed)
    }

    public mutating func next() -> Enterprise {
        serial += 1
        let type = pickTaxpayerType()
        let industry = pickIndustry(for: type)
        let registeredOn = pickRegistrationDate(for: type)
        let size = pickSize(for: type)
        let highTech =
            type == .general && ["C", "I", "M"].contains(industry.section) && random.chance(0.08)
        let mobile = random.chance(0.88) ? pickMobile() : nil
        let openID = random.chance(0.45) ? pickOpenID() : nil
        return Enterprise(
            creditCode: makeCreditCode(type: type, registeredOn: registeredOn),
            name: makeName(type: type, industry: industry),
            taxpayerType: type,
            industryCode: industry.code,
            region: random.element(Self.subdistricts),
            registeredOn: registeredOn,
            employees: size.employees,
            annualSales: size.sales,
            taxableIncome: size.income,
            totalAssets: size.assets,
            creditRating: random.weighted(Self.ratings),
            highTech: highTech,
            mobile: mobile,
            wechatOpenID: openID,
            smsOptOut: random.chance(0.03),
            wechatOptOut: random.chance(0.02)
        )
    }

    // MARK: - Identity

    private mutating func pickTaxpayerType() -> TaxpayerType {
        random.weighted([(TaxpayerType.smallScale, 55), (.general, 30), (.individual, 15)])
    }

    /// `9` (registered with market regulation), type `1` company / `2` individual business /
    /// `3` cooperative, the district's division code, an organisation code and check digits.
    private mutating func makeCreditCode(type: TaxpayerType, registeredOn: LocalDate) -> String {
        let organisationType: String
        switch type {
        case .individual: organisationType = "2"
        case .general: organisationType = "1"
        case .smallScale: organisationType = random.chance(0.04) ? "3" : "1"
        }
        // Individual businesses register where they trade; a tenth of companies moved in from
        // another district and keep their original division code.
        let division =
            type == .individual || random.chance(0.9) ? "110105" : random.element(Self.otherDivisions)
        var body: [UInt8]
        // Codes issued since the 2015 reform start with "MA"; older ones are the former
        // all-digit organisation codes. A bijection of the serial keeps them unique.
        if registeredOn.components.year >= 2016 {
            var n = (serial &* 387_420_489 &+ 12_345) % 887_503_681  // 31^6; the multiplier is 3^18
            body = Array("MA".utf8)
            var tail: [UInt8] = []
            for _ in 0..<6 {
                tail.append(CreditCode.alphabet[Int(n % 31)])
                n /= 31
            }
            body += tail.reversed()
        } else {
            let n = (serial &* 73_939_133 &+ 10_000_000) % 100_000_000  // the multiplier is prime to 10
            var digits = Array(String(n).utf8)
            while digits.count < 8 { digits.insert(UInt8(ascii: "0"), at: 0) }
            body = digits
        }
        var code = Array(("9" + organisationType + division).utf8) + body
        code.append(CreditCode.organisationCheckCharacter(body))
        code.append(CreditCode.checkCharacter(code))
        return String(decoding: code, as: UTF8.self)
    }

    private mutating func makeName(type: TaxpayerType, industry: Industry) -> String {
        let tradeName = random.element(Self.tradeNameCharacters) + random.element(Self.tradeNameCharacters)
        if type == .individual {
            return "朝阳区" + tradeName + random.element(industry.shops)
        }
        let suffix = type == .general && random.chance(0.1) ? "股份有限公司" : "有限公司"
        return "北京" + tradeName + random.element(industry.words) + suffix
    }

    // MARK: - Attributes

    struct Industry: Sendable {
        var code: String
        var section: String
        var words: [String]
        var shops: [String]
    }

    private mutating func pickIndustry(for type: TaxpayerType) -> Industry {
        let code = type == .individual ? random.weighted(Self.shopIndustries) : random.weighted(Self.industries)
        let section = String(code.prefix(1))
        // A quarter of records carry the four-digit class rather than the major group.
        let full = random.chance(0.25) ? code + String(1 + random.below(4)) + String(random.below(10)) : code
        let (words, shops) = Self.sectionWords[section] ?? (["服务"], ["工作室"])
        return Industry(code: full, section: section, words: words, shops: shops)
    }

    private mutating func pickRegistrationDate(for type: TaxpayerType) -> LocalDate {
        // Younger firms dominate, individual businesses even more so.
        let skew = type == .general ? 0.8 : 0.5
        let year = 1995 + min(30, Int(31 * pow(random.unit(), skew)))
        let start = LocalDate(year: year, month: 1, day: 1)!.daysSinceEpoch
        let length: Int32 = LocalDate(year: year, month: 12, day: 31)!.daysSinceEpoch - start
        return LocalDate(daysSinceEpoch: start + Int32(random.below(Int(length) + 1)))
    }

    private struct Size {
        var employees: Int
        var sales: Double
        var income: Double
        var assets: Double
    }

    private mutating func pickSize(for type: TaxpayerType) -> Size {
        let employees: Double
        var sales: Double
        switch type {
        case .general:
            employees = random.logNormal(median: 35, sigma: 1.1)
            sales = random.logNormal(median: 12_000_000, sigma: 1.3)
        case .smallScale:
            employees = random.logNormal(median: 7, sigma: 0.8)
            sales = random.logNormal(median: 800_000, sigma: 0.9)
            // Above 5M a firm must register as a general taxpayer; a few lag behind.
            if sales > 5_000_000, !random.chance(0.05) { sales = 1_000_000 + random.unit() * 3_900_000 }
        case .individual:
            employees = random.logNormal(median: 2, sigma: 0.6)
            sales = random.logNormal(median: 250_000, sigma: 0.8)
        }
        let margin = 0.05 + 0.09 * random.normal()
        let assets = sales * random.logNormal(median: 0.8, sigma: 0.6)
        return Size(
            employees: max(type == .individual ? 1 : 0, Int(employees.rounded())),
            sales: Self.cents(sales),
            income: Self.cents(sales * margin),
            assets: Self.cents(assets)
        )
    }

    private static func cents(_ amount: Double) -> Double { (amount * 100).rounded() / 100 }

    private mutating func pickMobile() -> String {
        let prefix = random.element(Self.mobilePrefixes)
        var number = prefix
        for _ in 0..<(11 - prefix.count) { number += String(random.below(10)) }
        return number
    }

    private mutating func pickOpenID() -> String {
        var openID = "o"
        for _ in 0..<27 { openID.append(random.element(Self.openIDCharacters)) }
        return openID
    }

    // MARK: - Tables

    static let ratings: [(CreditRating, Int)] = [(.a, 25), (.b, 45), (.m, 15), (.c, 10), (.d, 5)]

    /// Major groups of GB/T 4754-2017 with rough weights for an urban district.
    static let industries: [(String, Int)] = [
        ("C13", 2), ("C14", 2), ("C16", 1), ("C17", 1), ("C18", 2), ("C22", 1), ("C23", 2), ("C26", 2),
        ("C27", 1), ("C29", 2), ("C30", 1), ("C33", 2), ("C34", 2), ("C35", 2), ("C38", 2), ("C39", 3),
        ("C40", 1), ("C41", 1), ("C43", 1),
        ("F51", 14), ("F52", 10), ("I64", 5), ("I65", 10), ("M73", 3), ("M75", 6), ("H61", 2), ("H62", 6),
        ("K70", 3), ("L72", 7), ("G54", 2), ("G58", 2), ("D44", 1), ("N77", 1), ("R90", 1), ("E47", 2),
        ("A01", 1), ("O80", 2),
    ]

    static let shopIndustries: [(String, Int)] = [
        ("F52", 40), ("H62", 30), ("O80", 18), ("R90", 4), ("C13", 3), ("G54", 5),
    ]

    static let sectionWords: [String: (words: [String], shops: [String])] = [
        "A": (["农业科技", "种植", "生态农业"], ["农产品店", "花卉店"]),
        "C": (["制造", "机械制造", "电子科技", "食品", "塑料制品", "包装材料", "医疗器械", "家具制造"], ["食品加工坊", "服装加工部"]),
        "D": (["能源", "电力工程", "热力"], ["维修部"]),
        "E": (["建筑工程", "装饰工程", "建设"], ["装修队"]),
        "F": (["商贸", "贸易", "百货", "医药", "供应链管理"], ["便利店", "五金店", "水果店", "超市", "烟酒店", "文具店"]),
        "G": (["物流", "运输", "快递服务"], ["搬家服务部", "快递驿站"]),
        "H": (["餐饮管理", "酒店管理", "餐饮"], ["餐馆", "小吃店", "面馆", "饺子馆", "烧烤店"]),
        "I": (["科技", "信息技术", "软件", "网络科技", "数据科技"], ["电脑维修部"]),
        "K": (["房地产开发", "物业管理", "置业"], ["房屋中介"]),
        "L": (["咨询", "企业管理", "广告", "文化传播"], ["广告部"]),
        "M": (["科技", "技术服务", "设计", "检测技术", "生物科技"], ["设计工作室"]),
        "N": (["环保科技", "环境工程", "园林绿化"], ["保洁部"]),
        "O": (["家政服务", "物业服务", "汽车服务"], ["美发店", "干洗店", "修理部", "洗车店", "家电维修部"]),
        "R": (["文化传媒", "影视", "体育文化"], ["书店", "棋牌室"]),
    ]

    static let tradeNameCharacters: [String] = [
        "华", "盛", "鑫", "泰", "宏", "创", "智", "达", "恒", "信", "通", "嘉", "瑞", "丰", "博", "远", "安", "新",
        "德", "兴", "元", "明", "中", "天", "海", "金", "联", "源", "晨", "星", "卓", "越", "睿", "诚", "和", "景",
        "汇", "普", "润", "腾", "优", "益", "祥", "云", "众", "宇", "科", "航", "正", "美",
    ]

    /// 朝阳区 subdistricts.
    static let subdistricts: [String] = [
        "建外街道", "朝外街道", "呼家楼街道", "三里屯街道", "左家庄街道", "香河园街道", "和平街街道", "安贞街道",
        "亚运村街道", "小关街道", "酒仙桥街道", "麦子店街道", "团结湖街道", "六里屯街道", "八里庄街道", "双井街道",
        "劲松街道", "潘家园街道", "垡头街道", "望京街道", "奥运村街道", "大屯街道", "东湖街道", "首都机场街道",
    ]

    /// Other Beijing divisions, for firms that moved in.
    static let otherDivisions: [String] = ["110101", "110102", "110106", "110108", "110112", "110114"]

    static let mobilePrefixes: [String] = [
        "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155", "156",
        "157", "158", "159", "166", "170", "171", "173", "175", "176", "177", "178", "180", "181", "182", "183",
        "185", "186", "187", "188", "189", "191", "193", "195", "198", "199",
    ]

    static let openIDCharacters: [Character] = Array(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
}
