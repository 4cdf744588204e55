/// One row of an uptake export: an enterprise claimed a relief on a day.
public struct UptakeRow: Sendable, Hashable {
    /// Normalised (upper case, no spaces).
    public var creditCode: String
    public var policyID: String
    public var claimedOn: LocalDate
    /// In fen (0.01 yuan).
    public var amountFen: Int64?
    /// Where the row starts in the file.
    public var line: Int

    public init(creditCode: String, policyID: String, claimedOn: LocalDate, amountFen: Int64?, line: Int) {
        self.creditCode = creditCode
        self.policyID = policyID
        self.claimedOn = claimedOn
        self.amountFen = amountFen
        self.line = line
    }
}

/// Reads the tax system's export of who claimed which relief: CSV or JSON Lines, UTF-8 or
/// GB18030, as the enterprise registry's import reads them (``EnterpriseFileReader``'s
/// encoding detection, CSV reader and JSON Lines parser).
///
/// Columns (keys): `credit_code`, `policy_id`, `claimed_on` (`YYYY-MM-DD`), and optionally
/// `amount` (yuan, a plain decimal with at most two places, no thousands separators). Other
/// columns are ignored. A bad row is reported (line, column, field, reason) and never stops the
/// good ones.
public struct UptakeFileReader: Sendable {
    public static let requiredColumns = ["credit_code", "policy_id", "claimed_on"]

    public let path: String
    public let encoding: TextEncoding
    public let format: EnterpriseFileReader.Format

    public init(path: String, encoding: TextEncoding = .auto, format: EnterpriseFileReader.Format? = nil) {
        self.path = path
        self.encoding = encoding
        self.format = format ?? EnterpriseFileReader.Format(path: path)
    }

    /// The good rows in file order, and what was read and refused.
    ///
    /// - Throws: a `Diagnostic` for a problem with the whole file (unreadable, bad encoding,
    ///   missing required columns).
    public func read() throws(Diagnostic) -> (rows: [UptakeRow], summary: ReadSummary) {
        let raw = try EnterpriseFileReader.contents(of: path)
        let text = try TextEncoding.decode(raw, as: encoding, file: path)
        var rows: [UptakeRow] = []
        var summary = ReadSummary()
        func take(_ fields: [String: (value: String?, column: Int?)], line: Int) {
            summary.rowsRead += 1
            switch validate(fields, line: line) {
            case .success(let row):
                summary.accepted += 1
                rows.append(row)
            case .failure(let problems):
                summary.rejected += 1
                summary.diagnostics.append(contentsOf: problems.diagnostics)
            }
        }
        func refuse(_ diagnostic: Diagnostic) {
            summary.rowsRead += 1
            summary.rejected += 1
            summary.diagnostics.append(diagnostic)
        }
        switch format {
        case .csv: try readCSV(text, take: take, refuse: refuse)
        case .jsonl: readJSONLines(text, take: take, refuse: refuse)
        }
        return (rows, summary)
    }

    private struct Problems: Error {
        var diagnostics: [Diagnostic]
    }

    private func validate(
        _ fields: [String: (value: String?, column: Int?)], line: Int
    ) -> Result<UptakeRow, Problems> {
        var problems: [Diagnostic] = []
        func value(_ name: String) -> String? {
            guard let text = fields[name]?.value?.trimmingWhitespace(), !text.isEmpty else { return nil }
            return text
        }
        func problem(_ name: String, _ message: String) {
            problems.append(
                Diagnostic(file: path, line: line, column: fields[name]?.column, field: name, message: message))
        }
        var code: String?
        if let text = value("credit_code") {
            switch CreditCode.normalize(text) {
            case .success(let normalized): code = normalized
            case .failure(let invalid): problem("credit_code", invalid.message)
            }
        } else {
            problem("credit_code", "is missing")
        }
        let policy = value("policy_id")
        if policy == nil { problem("policy_id", "is missing") }
        var day: LocalDate?
        if let text = value("claimed_on") {
            day = LocalDate(iso: text)
            if day == nil { problem("claimed_on", "'\(text)' is not a date (expected YYYY-MM-DD)") }
        } else {
            problem("claimed_on", "is missing")
        }
        var amount: Int64?
        if let text = value("amount") {
            amount = Self.fen(text)
            if amount == nil {
                problem("amount", "'\(text)' is not an amount in yuan (a number ≥ 0 with at most two decimals)")
            }
        }
        guard problems.isEmpty, let code, let policy, let day else { return .failure(Problems(diagnostics: problems)) }
        return .success(UptakeRow(creditCode: code, policyID: policy, claimedOn: day, amountFen: amount, line: line))
    }

    /// `1234.5` yuan → 123450 fen; `nil` for anything but digits with at most two decimals, or
    /// more than a trillion yuan.
    public static func fen(_ text: String) -> Int64? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = parts.first, !whole.isEmpty, whole.count <= 13,
            whole.allSatisfy({ $0.isASCII && $0.isNumber }), let yuan = Int64(whole)
        else { return nil }
        var cents: Int64 = 0
        if parts.count == 2 {
            let decimals = parts[1]
            guard (1...2).contains(decimals.count), decimals.allSatisfy({ $0.isASCII && $0.isNumber }),
                let value = Int64(decimals)
            else { return nil }
            cents = decimals.count == 1 ? value * 10 : value
        }
        return yuan * 100 + cents
    }

    private func readCSV(
        _ text: [UInt8], take: ([String: (value: String?, column: Int?)], Int) -> Void, refuse: (Diagnostic) -> Void
    ) throws(Diagnostic) {
        var reader = CSVReader(bytes: text)
        let first: CSVRecord?
        do throws(CSVError) {
            first = try reader.next()
        } catch {
            throw Diagnostic(file: path, line: error.line, message: "header: \(error.message)")
        }
        guard let header = first else {
            throw Diagnostic(file: path, line: 0, message: "file is empty: expected a header row")
        }
        let names = header.fields.map { $0.trimmingWhitespace().lowercased() }
        let missing = Self.requiredColumns.filter { !names.contains($0) }
        guard missing.isEmpty else {
            throw Diagnostic(
                file: path, line: header.line,
                message:
                    "header is missing required column\(missing.count > 1 ? "s" : "") \(missing.joined(separator: ", "))"
            )
        }
        if let repeated = names.first(where: { name in names.filter { $0 == name }.count > 1 }) {
            throw Diagnostic(file: path, line: header.line, field: repeated, message: "header repeats this column")
        }
        while true {
            let record: CSVRecord
            do {
                guard let next = try reader.next() else { break }
                record = next
            } catch {
                refuse(Diagnostic(file: path, line: error.line, message: error.message))
                break
            }
            guard record.fields.count == names.count else {
                refuse(
                    Diagnostic(
                        file: path, line: record.line,
                        message: "row has \(record.fields.count) fields, header has \(names.count)"))
                continue
            }
            var fields: [String: (value: String?, column: Int?)] = [:]
            for (i, name) in names.enumerated() { fields[name] = (record.fields[i], i + 1) }
            take(fields, record.line)
        }
    }

    private func readJSONLines(
        _ text: [UInt8], take: ([String: (value: String?, column: Int?)], Int) -> Void, refuse: (Diagnostic) -> Void
    ) {
        JSONLineParser.forEachLine(in: text) { lineBytes, line in
            do throws(JSONLineParser.Failure) {
                let members = try JSONLineParser.parse(lineBytes)
                var fields: [String: (value: String?, column: Int?)] = [:]
                for member in members {
                    guard fields[member.key] == nil else {
                        refuse(Diagnostic(file: path, line: line, field: member.key, message: "key appears twice"))
                        return
                    }
                    fields[member.key] = (member.value, nil)
                }
                take(fields, line)
            } catch {
                refuse(
                    Diagnostic(file: path, line: line, column: error.column, field: error.field, message: error.message)
                )
            }
        }
    }
}
