import Registry

/// A stable 64-bit FNV-1a hash of every attribute of an enterprise.
///
/// It tells an unchanged row from an updated one without reading the stored row back. The
/// serialisation is canonical and independent of the process (no random seeding, unlike
/// `Hasher`): each field in a fixed order, a presence byte before optionals, strings
/// length-prefixed, numbers as little-endian bit patterns, `custom` as its sorted-key JSON.
/// Changing it makes the next import report every row as updated once, nothing worse.
struct ContentHash {
    private var fnv = FNV1a()

    static func of(_ enterprise: Enterprise, customJSON: String?) -> Int64 {
        var hash = ContentHash()
        hash.add(enterprise.creditCode)
        hash.add(enterprise.name)
        hash.add(enterprise.taxpayerType?.rawValue)
        hash.add(enterprise.industryCode)
        hash.add(enterprise.region)
        hash.add(enterprise.registeredOn.map { Int64($0.daysSinceEpoch) })
        hash.add(enterprise.employees.map(Int64.init))
        hash.add(enterprise.annualSales)
        hash.add(enterprise.taxableIncome)
        hash.add(enterprise.totalAssets)
        hash.add(enterprise.creditRating?.rawValue)
        hash.add(enterprise.highTech.map { $0 ? Int64(1) : 0 })
        hash.add(enterprise.mobile)
        hash.add(enterprise.wechatOpenID)
        hash.add(Int64(enterprise.smsOptOut ? 1 : 0))
        hash.add(Int64(enterprise.wechatOptOut ? 1 : 0))
        hash.add(customJSON)
        return Int64(bitPattern: hash.fnv.value)
    }

    private mutating func byte(_ byte: UInt8) { fnv.combine(byte) }

    private mutating func word(_ value: UInt64) {
        var value = value
        for _ in 0..<8 {
            byte(UInt8(truncatingIfNeeded: value))
            value >>= 8
        }
    }

    private mutating func add(_ value: String?) {
        guard let value else { return byte(0) }
        byte(1)
        word(UInt64(value.utf8.count))
        for b in value.utf8 { byte(b) }
    }

    private mutating func add(_ value: Int64?) {
        guard let value else { return byte(0) }
        byte(1)
        word(UInt64(bitPattern: value))
    }

    private mutating func add(_ value: Double?) {
        guard let value else { return byte(0) }
        byte(1)
        // -0.0 and 0.0 are the same amount; SQLite stores both as 0.0.
        word(value == 0 ? 0 : value.bitPattern)
    }
}
