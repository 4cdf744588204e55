/// Attributes of many enterprises in columnar form, for rules evaluated over whole columns.
///
/// Strings are dictionary-encoded (code 0 is missing), numbers are `Double` with NaN for
/// missing, booleans are bytes (0 false, 1 true, 2 missing), dates are days since the epoch
/// with `Int32.min` for missing. Row `i` of every column is the same enterprise.
public struct EnterpriseColumns: Sendable {
    public enum Column: Sendable {
        case category(CategoryColumn)
        case number([Double])
        case bool([UInt8])
        case date([Int32])
    }

    public static let missingBool: UInt8 = 2
    public static let missingDate: Int32 = .min

    public let schema: AttributeSchema
    public private(set) var count: Int = 0
    /// Indexed like `schema.definitions`.
    public private(set) var columns: [Column]

    public init(schema: AttributeSchema) {
        self.schema = schema
        columns = schema.definitions.map { definition in
            switch definition.type {
            case .string: .category(CategoryColumn())
            case .number: .number([])
            case .bool: .bool([])
            case .date: .date([])
            }
        }
    }

    public init(schema: AttributeSchema, enterprises: some Sequence<Enterprise>) {
        self.init(schema: schema)
        reserveCapacity(enterprises.underestimatedCount)
        for enterprise in enterprises { append(enterprise) }
    }

    public func column(named name: String) -> Column? {
        guard let i = schema.definitions.firstIndex(where: { $0.name == name }) else { return nil }
        return columns[i]
    }

    public mutating func reserveCapacity(_ n: Int) {
        for i in columns.indices {
            switch columns[i] {
            case .category(var c):
                columns[i] = .number([])
                c.reserveCapacity(n)
                columns[i] = .category(c)
            case .number(var v):
                columns[i] = .bool([])
                v.reserveCapacity(n)
                columns[i] = .number(v)
            case .bool(var v):
                columns[i] = .number([])
                v.reserveCapacity(n)
                columns[i] = .bool(v)
            case .date(var v):
                columns[i] = .number([])
                v.reserveCapacity(n)
                columns[i] = .date(v)
            }
        }
    }

    public mutating func append(_ enterprise: Enterprise) {
        for (i, definition) in schema.definitions.enumerated() {
            let value = enterprise.value(of: definition.name, schema: schema)
            // Move the column out so the array append does not copy it.
            switch columns[i] {
            case .category(var c):
                columns[i] = .bool([])
                if case .string(let s)? = value { c.append(s) } else { c.appendMissing() }
                columns[i] = .category(c)
            case .number(var v):
                columns[i] = .bool([])
                if case .number(let n)? = value { v.append(n) } else { v.append(.nan) }
                columns[i] = .number(v)
            case .bool(var v):
                columns[i] = .number([])
                if case .bool(let b)? = value { v.append(b ? 1 : 0) } else { v.append(Self.missingBool) }
                columns[i] = .bool(v)
            case .date(var v):
                columns[i] = .number([])
                if case .date(let d)? = value { v.append(d.daysSinceEpoch) } else { v.append(Self.missingDate) }
                columns[i] = .date(v)
            }
        }
        count += 1
    }

    /// Bytes held by the columns (payload arrays and dictionaries), for memory budgets.
    public var approximateByteCount: Int {
        columns.reduce(0) { total, column in
            switch column {
            case .category(let c): total + c.codes.capacity * 4 + c.dictionary.reduce(0) { $0 + $1.utf8.count + 16 }
            case .number(let v): total + v.capacity * 8
            case .bool(let v): total + v.capacity
            case .date(let v): total + v.capacity * 4
            }
        }
    }
}

/// A dictionary-encoded string column. Code 0 means missing; `dictionary[0]` is a placeholder.
public struct CategoryColumn: Sendable {
    public private(set) var codes: [UInt32] = []
    public private(set) var dictionary: [String] = [""]
    private var lookup: [String: UInt32] = [:]

    public init() {}

    public mutating func append(_ value: String) {
        if let code = lookup[value] {
            codes.append(code)
        } else {
            let code = UInt32(dictionary.count)
            dictionary.append(value)
            lookup[value] = code
            codes.append(code)
        }
    }

    public mutating func appendMissing() { codes.append(0) }

    public mutating func reserveCapacity(_ n: Int) { codes.reserveCapacity(n) }

    /// The code of a value, or `nil` when no row holds it.
    public func code(of value: String) -> UInt32? { lookup[value] }
}
