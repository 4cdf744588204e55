import Glibc

/// What reading an import file produced.
public struct ReadSummary: Sendable, Hashable {
    /// Data records read (header and blank lines not counted), accepted or not.
    public var rowsRead: Int
    public var accepted: Int
    public var rejected: Int
    /// One or more per rejected row, in file order.
    public var diagnostics: [Diagnostic]
    /// Valid credit codes of rejected rows: a replacing import keeps their stored entries.
    public var rejectedCreditCodes: [String] = []
    /// Warnings about rows kept as they are (text that messages will print changed), in file order.
    public var warnings: [Diagnostic] = []
    /// Rows with at least one warning, accepted or not.
    public var rowsWithWarnings = 0

    /// Errors and warnings together, in file order (errors first on a line).
    public var allDiagnostics: [Diagnostic] {
        var merged: [Diagnostic] = []
        merged.reserveCapacity(diagnostics.count + warnings.count)
        var e = 0
        var w = 0
        while e < diagnostics.count || w < warnings.count {
            if w == warnings.count || (e < diagnostics.count && diagnostics[e].line <= warnings[w].line) {
                merged.append(diagnostics[e])
                e += 1
            } else {
                merged.append(warnings[w])
                w += 1
            }
        }
        return merged
    }

    public init(rowsRead: Int = 0, accepted: Int = 0, rejected: Int = 0, diagnostics: [Diagnostic] = []) {
        self.rowsRead = rowsRead
        self.accepted = accepted
        self.rejected = rejected
        self.diagnostics = diagnostics
    }
}

/// Reads an enterprise import file (CSV or JSON Lines) and hands valid enterprises over in
/// batches.
///
/// The raw file is read into memory at once, decoded to UTF-8, then parsed and validated row
/// by row; only one batch of `Enterprise` values exists at a time. Bad rows are reported in
/// the summary and never stop the good ones from being delivered.
public struct EnterpriseFileReader: Sendable {
    public enum Format: String, Sendable, Hashable, CaseIterable {
        case csv
        case jsonl

        /// `.jsonl` and `.ndjson` are JSON Lines; anything else is CSV.
        public init(path: String) {
            let lower = path.lowercased()
            self = lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson") ? .jsonl : .csv
        }
    }

    public let path: String
    public let encoding: TextEncoding
    public let format: Format
    public let schema: AttributeSchema
    public let today: LocalDate

    /// - Parameters:
    ///   - format: `nil` picks the format from the file extension.
    ///   - today: registration dates after it are rejected.
    public init(
        path: String, encoding: TextEncoding = .auto, format: Format? = nil, schema: AttributeSchema, today: LocalDate
    ) {
        self.path = path
        self.encoding = encoding
        self.format = format ?? Format(path: path)
        self.schema = schema
        self.today = today
    }

    /// Reads the whole file, calling `body` with each batch of valid enterprises.
    ///
    /// - Throws: a `Diagnostic` for a problem with the whole file (unreadable, bad encoding,
    ///   missing required columns), or whatever `body` throws.
    public func read(batchSize: Int = 8192, _ body: ([Enterprise]) throws -> Void) throws -> ReadSummary {
        let raw = try Self.contents(of: path)
        let text = try TextEncoding.decode(raw, as: encoding, file: path)
        return try withoutActuallyEscaping(body) { body in
            var sink = Sink(batchSize: max(1, batchSize), body: body)
            switch format {
            case .csv: try readCSV(text, into: &sink)
            case .jsonl: try readJSONLines(text, into: &sink)
            }
            try sink.flush()
            return sink.summary
        }
    }

    /// Collects accepted enterprises into batches and counts outcomes.
    private struct Sink {
        let batchSize: Int
        let body: ([Enterprise]) throws -> Void
        var batch: [Enterprise] = []
        var summary = ReadSummary()

        init(batchSize: Int, body: @escaping ([Enterprise]) throws -> Void) {
            self.batchSize = batchSize
            self.body = body
            batch.reserveCapacity(batchSize)
        }

        mutating func take(_ outcome: consuming EnterpriseValidator.Outcome, warnings: [Diagnostic]) throws {
            if !warnings.isEmpty {
                summary.rowsWithWarnings += 1
                summary.warnings.append(contentsOf: warnings)
            }
            switch consume outcome {
            case .accepted(let enterprise):
                summary.rowsRead += 1
                summary.accepted += 1
                batch.append(enterprise)
                if batch.count >= batchSize { try flush() }
            case .rejected(let diagnostics, let creditCode):
                reject(diagnostics)
                if let creditCode { summary.rejectedCreditCodes.append(creditCode) }
            }
        }

        /// Counts a row that was read but refused.
        mutating func reject(_ diagnostics: [Diagnostic]) {
            summary.rowsRead += 1
            summary.rejected += 1
            summary.diagnostics.append(contentsOf: diagnostics)
        }

        mutating func flush() throws {
            guard !batch.isEmpty else { return }
            try body(batch)
            batch.removeAll(keepingCapacity: true)
        }
    }

    private func readCSV(_ text: [UInt8], into sink: inout Sink) throws {
        var reader = CSVReader(bytes: text)
        let header: CSVRecord
        do {
            guard let first = try reader.next() else {
                throw Diagnostic(file: path, line: 0, message: "file is empty: expected a header row")
            }
            header = first
        } catch let error as CSVError {
            throw Diagnostic(file: path, line: error.line, message: "header: \(error.message)")
        }
        let names = header.fields.map { $0.trimmingWhitespace().lowercased() }
        let layout = EnterpriseValidator.Layout(
            names: names, schema: schema, columnNumbers: names.indices.map { $0 + 1 })
        let missing = EnterpriseValidator.requiredColumns.filter { !names.contains($0) }
        guard missing.isEmpty else {
            throw Diagnostic(
                file: path, line: header.line,
                message:
                    "header is missing required column\(missing.count > 1 ? "s" : "") \(missing.joined(separator: ", "))"
            )
        }
        let duplicates = layout.duplicateNames
        guard duplicates.isEmpty else {
            throw Diagnostic(
                file: path, line: header.line,
                message: "header repeats column\(duplicates.count > 1 ? "s" : "") \(duplicates.joined(separator: ", "))"
            )
        }

        var validator = EnterpriseValidator(schema: schema, today: today, file: path)
        // Generated and exported files run about 150 bytes a row.
        validator.reserveCapacity(text.count / 150)
        var optionalValues = [String?](repeating: nil, count: names.count)
        var warnings: [Diagnostic] = []
        while true {
            let record: CSVRecord
            do {
                guard let next = try reader.next() else { break }
                record = next
            } catch {
                sink.reject([Diagnostic(file: path, line: error.line, message: error.message)])
                break
            }
            guard record.fields.count == names.count else {
                sink.reject([
                    Diagnostic(
                        file: path, line: record.line,
                        message: "row has \(record.fields.count) fields, header has \(names.count)")
                ])
                continue
            }
            for (i, field) in record.fields.enumerated() { optionalValues[i] = field }
            warnings.removeAll(keepingCapacity: true)
            let outcome = validator.validate(
                values: optionalValues, layout: layout, line: record.line, warnings: &warnings)
            try sink.take(outcome, warnings: warnings)
        }
    }

    private func readJSONLines(_ text: [UInt8], into sink: inout Sink) throws {
        var validator = EnterpriseValidator(schema: schema, today: today, file: path)
        var warnings: [Diagnostic] = []
        try JSONLineParser.forEachLine(in: text) { lineBytes, line in
            let members: [(key: String, value: String?)]
            do throws(JSONLineParser.Failure) {
                members = try JSONLineParser.parse(lineBytes)
            } catch {
                sink.reject([
                    Diagnostic(file: path, line: line, column: error.column, field: error.field, message: error.message)
                ])
                return
            }
            let layout = EnterpriseValidator.Layout(
                names: members.map(\.key), schema: schema, columnNumbers: members.map { _ in nil })
            if let repeated = layout.duplicateNames.first {
                sink.reject([Diagnostic(file: path, line: line, field: repeated, message: "key appears twice")])
                return
            }
            warnings.removeAll(keepingCapacity: true)
            let outcome = validator.validate(
                values: members.map(\.value), layout: layout, line: line, warnings: &warnings)
            try sink.take(outcome, warnings: warnings)
        }
    }

    /// The file's bytes; a `Diagnostic` with the system's reason when it cannot be read.
    static func contents(of path: String) throws(Diagnostic) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw systemError(path, "cannot open file") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw systemError(path, "cannot stat file") }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw Diagnostic(file: path, line: 0, message: "not a regular file")
        }
        var failed = false
        // Uninitialised: zero-filling 150 MB first would cost as much as reading it.
        let bytes = [UInt8](unsafeUninitializedCapacity: max(1, Int(status.st_size))) { buffer, count in
            var filled = 0
            while filled < buffer.count {
                let n = Glibc.read(descriptor, buffer.baseAddress! + filled, buffer.count - filled)
                if n > 0 {
                    filled += n
                } else if n == 0 {
                    break
                } else if errno != EINTR {
                    failed = true
                    break
                }
            }
            count = filled
        }
        if failed { throw systemError(path, "cannot read file") }
        return bytes
    }

    private static func systemError(_ path: String, _ what: String) -> Diagnostic {
        Diagnostic(file: path, line: 0, message: "\(what): \(String(cString: strerror(errno)))")
    }
}
