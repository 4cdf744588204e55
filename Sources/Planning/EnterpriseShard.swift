import Config
import Registry
import Rules

/// One partition of the registry, held in memory in columnar form.
///
/// A shard owns the enterprises whose credit code hashes to it (`ShardKey`). Rules are
/// evaluated over its columns into bitsets; the identity and contact fields are packed
/// so that a shard holds well under 200 bytes per enterprise.
public actor EnterpriseShard {
    public nonisolated let index: Int
    let columns: EnterpriseColumns
    private let creditCodes: PackedStrings
    private let names: PackedStrings
    private let openIDs: PackedStrings
    /// Mobile numbers as integers (11 digits fit easily); 0 = none.
    private let mobiles: [UInt64]
    private let customText: [Int: [String: String]]

    public nonisolated var count: Int { columns.count }

    init(index: Int, builder: Builder) {
        var builder = builder
        self.index = index
        columns = builder.columns
        builder.creditCodes.shrinkToFit()
        builder.names.shrinkToFit()
        builder.openIDs.shrinkToFit()
        creditCodes = builder.creditCodes
        names = builder.names
        openIDs = builder.openIDs
        mobiles = Array(builder.mobiles)
        customText = builder.customText
    }

    /// Collects enterprises for a shard before the actor is created.
    struct Builder {
        var columns: EnterpriseColumns
        var creditCodes = PackedStrings()
        var names = PackedStrings()
        var openIDs = PackedStrings()
        var mobiles: [UInt64] = []
        /// Text of custom columns as imported, by row; rare, so kept sparse.
        var customText: [Int: [String: String]] = [:]

        init(schema: AttributeSchema) { columns = EnterpriseColumns(schema: schema) }

        mutating func append(_ enterprise: Enterprise) {
            let row = columns.count
            columns.append(enterprise)
            creditCodes.append(enterprise.creditCode)
            names.append(enterprise.name)
            openIDs.append(enterprise.wechatOpenID)
            mobiles.append(enterprise.mobile.flatMap { UInt64($0) } ?? 0)
            if !enterprise.custom.isEmpty { customText[row] = enterprise.custom }
        }
    }

    /// Rebuilds the full `Enterprise` of a row (for rendering and explain).
    nonisolated func enterprise(at row: Int) -> Enterprise {
        var e = Enterprise(creditCode: creditCodes[row] ?? "", name: names[row] ?? "")
        let schema = columns.schema
        for (i, definition) in schema.definitions.enumerated() {
            switch columns.columns[i] {
            case .category(let c):
                let code = Int(c.codes[row])
                guard code != 0 else { continue }
                let text = c.dictionary[code]
                switch definition.name {
                case "taxpayer_type": e.taxpayerType = TaxpayerType(rawValue: text)
                case "industry_code": e.industryCode = text
                case "region": e.region = text
                case "credit_rating": e.creditRating = CreditRating(rawValue: text)
                default: break  // custom attributes come back from their text below
                }
            case .number(let v):
                let n = v[row]
                guard !n.isNaN else { continue }
                switch definition.name {
                // Clamped: a store written before imports bounded employees may hold any Int64,
                // and Int(Double(Int.max)) traps.
                case "employees": e.employees = n >= 0x1p63 ? .max : n < -0x1p63 ? .min : Int(n)
                case "annual_sales": e.annualSales = n
                case "taxable_income": e.taxableIncome = n
                case "total_assets": e.totalAssets = n
                default: break  // custom attributes come back from their text below
                }
            case .bool(let v):
                let b = v[row]
                guard b != EnterpriseColumns.missingBool else { continue }
                switch definition.name {
                case "high_tech": e.highTech = b == 1
                case "sms_opt_out": e.smsOptOut = b == 1
                case "wechat_opt_out": e.wechatOptOut = b == 1
                case "has_mobile", "has_wechat": break
                default: break  // custom attributes come back from their text below
                }
            case .date(let v):
                let d = v[row]
                guard d != EnterpriseColumns.missingDate else { continue }
                if definition.name == "registered_on" { e.registeredOn = LocalDate(daysSinceEpoch: d) }
            }
        }
        if mobiles[row] != 0 { e.mobile = String(mobiles[row]) }
        e.wechatOpenID = openIDs[row]
        e.custom = customText[row] ?? [:]
        return e
    }

    nonisolated func hasMobile(_ row: Int) -> Bool { mobiles[row] != 0 }
    nonisolated func hasOpenID(_ row: Int) -> Bool { openIDs[row] != nil }
    /// The row's address on `channel` (mobile number or openid), if any.
    nonisolated func address(_ row: Int, on channel: Channel) -> String? {
        channel == .sms ? (mobiles[row] == 0 ? nil : String(mobiles[row])) : openIDs[row]
    }

    /// Bytes held by this shard's data (columns, packed strings, mobiles).
    public nonisolated var approximateByteCount: Int {
        columns.approximateByteCount + creditCodes.byteCount + names.byteCount + openIDs.byteCount
            + mobiles.capacity * 8
    }

    /// Evaluates rules over the shard's columns: one bitset per rule.
    public func evaluate(_ evaluator: RuleEvaluator) -> [Bitset] {
        evaluator.evaluate(columns)
    }

    /// Runs `body` with the shard's data under its isolation.
    func withContents<T: Sendable>(_ body: (borrowing ShardContents) throws -> T) rethrows -> T {
        try body(ShardContents(shard: self))
    }
}

/// Read access to a shard's rows for code running on the shard.
struct ShardContents: ~Copyable {
    let shard: EnterpriseShard
    var count: Int { shard.count }
    var columns: EnterpriseColumns { shard.columns }
    func enterprise(at row: Int) -> Enterprise { shard.enterprise(at: row) }
    func hasMobile(_ row: Int) -> Bool { shard.hasMobile(row) }
    func hasOpenID(_ row: Int) -> Bool { shard.hasOpenID(row) }
    func address(_ row: Int, on channel: Channel) -> String? { shard.address(row, on: channel) }
}

/// The stable hash that assigns a credit code to a shard (FNV-1a, 64 bit).
public enum ShardKey {
    public static func hash(_ creditCode: String) -> UInt64 { FNV1a.hash(creditCode) }

    public static func shard(of creditCode: String, shardCount: Int) -> Int {
        Int(hash(creditCode) % UInt64(shardCount))
    }
}

extension EnterpriseShard {
    /// Every enterprise of the shard, rebuilt (for tests and exports; not a hot path).
    public func allEnterprises() -> [Enterprise] {
        (0..<count).map { enterprise(at: $0) }
    }
}

extension EnterpriseShard {
    nonisolated func creditCode(at row: Int) -> String { creditCodes[row] ?? "" }
}
