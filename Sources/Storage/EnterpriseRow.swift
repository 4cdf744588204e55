import Registry

/// How an `Enterprise` maps onto a row of the `enterprises` table.
enum EnterpriseRow {
    /// The attribute columns, in the order `bind` numbers its parameters (from 1) and `read`
    /// reads its columns (from 0).
    private static let attributeColumns = [
        "credit_code", "name", "taxpayer_type", "industry_code", "region", "registered_on", "employees",
        "annual_sales", "taxable_income", "total_assets", "credit_rating", "high_tech", "mobile",
        "wechat_openid", "sms_opt_out", "wechat_opt_out", "custom",
    ]
    /// Bookkeeping columns bound after the attributes.
    private static let writeColumns = attributeColumns + ["content_hash", "import_run", "updated_at", "created_at"]

    static let selectList = attributeColumns.joined(separator: ", ")

    static let insertSQL = """
        INSERT INTO enterprises (\(writeColumns.joined(separator: ", ")))
        VALUES (\((1...writeColumns.count).map { "?\($0)" }.joined(separator: ", ")))
        """

    /// Rewrites every column but the key and `created_at`; same parameters as `insertSQL`.
    static let updateSQL = """
        UPDATE enterprises
        SET \(writeColumns.enumerated().dropFirst().dropLast().map { "\($1) = ?\($0 + 1)" }.joined(separator: ", "))
        WHERE credit_code = ?1
        """

    /// The attribute columns and `content_hash`: what an import computes per row, before the
    /// bookkeeping the store adds (run, timestamps).
    static let stagedColumns = attributeColumns + ["content_hash"]

    /// Calls `body` with the value of each of `stagedColumns`, in order, as `bind` binds them.
    ///
    /// One walk over the fields without an array of boxed values: an import runs it a million
    /// times, for SQLite's parameters and for PostgreSQL's COPY rows alike.
    @inline(__always)
    static func forEachStagedValue(
        _ e: Enterprise, custom: String?, hash: Int64, _ body: (SQLiteValue) throws -> Void
    ) rethrows {
        try body(.text(e.creditCode))
        try body(.text(e.name))
        try body(e.taxpayerType.map { .text($0.rawValue) } ?? .null)
        try body(e.industryCode.map { .text($0) } ?? .null)
        try body(e.region.map { .text($0) } ?? .null)
        try body(e.registeredOn.map { .integer(Int64($0.daysSinceEpoch)) } ?? .null)
        try body(e.employees.map { .integer(Int64($0)) } ?? .null)
        try body(e.annualSales.map { .real($0) } ?? .null)
        try body(e.taxableIncome.map { .real($0) } ?? .null)
        try body(e.totalAssets.map { .real($0) } ?? .null)
        try body(e.creditRating.map { .text($0.rawValue) } ?? .null)
        try body(e.highTech.map { .integer($0 ? 1 : 0) } ?? .null)
        try body(e.mobile.map { .text($0) } ?? .null)
        try body(e.wechatOpenID.map { .text($0) } ?? .null)
        try body(.integer(e.smsOptOut ? 1 : 0))
        try body(.integer(e.wechatOptOut ? 1 : 0))
        try body(custom.map { .text($0) } ?? .null)
        try body(.integer(hash))
    }

    /// Binds `writeColumns` but the last in order from parameter 1; an insert passes `createdAt`,
    /// the last, and an update (which keeps it) does not.
    static func bind(
        _ e: Enterprise, custom: String?, hash: Int64, run: Int64, updatedAt timestamp: String,
        createdAt: String? = nil, to statement: Statement
    ) throws {
        statement.reset()
        var index: Int32 = 1
        try forEachStagedValue(e, custom: custom, hash: hash) { value in
            try statement.bind(value, at: index)
            index += 1
        }
        try statement.bind(.integer(run), at: index)
        try statement.bind(.text(timestamp), at: index + 1)
        if let createdAt { try statement.bind(.text(createdAt), at: index + 2) }
    }

    /// The case whose raw value has these UTF-8 bytes, matched without building a `String`
    /// (the scan reads a million rows a second; `init(rawValue:)` would dominate it).
    private static func decodeCase<E: RawRepresentable & CaseIterable>(
        _: E.Type, _ bytes: UnsafeBufferPointer<UInt8>
    ) -> E? where E.RawValue == String {
        E.allCases.first { $0.rawValue.utf8.elementsEqual(bytes) }
    }

    /// Reads the enterprise from the current row of a statement selecting `selectList`.
    static func read(_ row: some SQLCursor) throws -> Enterprise {
        let creditCode = row.text(0) ?? ""
        func corrupt(_ column: String, _ value: String) -> StorageError {
            StorageError(
                code: .corrupt, message: "enterprise \(creditCode): \(column) has unreadable value \(value)",
                sql: row.sql)
        }

        var taxpayerType: TaxpayerType?
        if let value = row.withText(2, { decodeCase(TaxpayerType.self, $0) }) {
            guard let value else { throw corrupt("taxpayer_type", row.text(2) ?? "") }
            taxpayerType = value
        }
        var registeredOn: LocalDate?
        if let days = try row.optionalInt64(5) {
            guard let value = Int32(exactly: days) else { throw corrupt("registered_on", String(days)) }
            registeredOn = LocalDate(daysSinceEpoch: value)
        }
        var employees: Int?
        if let count = try row.optionalInt64(6) {
            guard let value = Int(exactly: count) else { throw corrupt("employees", String(count)) }
            employees = value
        }
        var creditRating: CreditRating?
        if let value = row.withText(10, { decodeCase(CreditRating.self, $0) }) {
            guard let value else { throw corrupt("credit_rating", row.text(10) ?? "") }
            creditRating = value
        }
        var custom: [String: String] = [:]
        if let value = row.withText(16, { CustomAttributes.decode(utf8: $0) }) {
            guard let value else { throw corrupt("custom", row.text(16) ?? "") }
            custom = value
        }
        return try Enterprise(
            creditCode: creditCode,
            name: row.text(1) ?? "",
            taxpayerType: taxpayerType,
            industryCode: row.text(3),
            region: row.text(4),
            registeredOn: registeredOn,
            employees: employees,
            annualSales: row.optionalDouble(7),
            taxableIncome: row.optionalDouble(8),
            totalAssets: row.optionalDouble(9),
            creditRating: creditRating,
            highTech: row.optionalInt64(11).map { $0 != 0 },
            mobile: row.text(12),
            wechatOpenID: row.text(13),
            smsOptOut: row.int64(14) != 0,
            wechatOptOut: row.int64(15) != 0,
            custom: custom
        )
    }
}
