import Glibc

/// Writes enterprises as an import CSV: UTF-8, the canonical columns of
/// `EnterpriseValidator.columns` (then any custom columns), RFC 4180 quoting, CRLF records.
///
/// Reading the output back with `EnterpriseFileReader` gives the same enterprises.
///
/// - Important: the writer owns an open file descriptor; use it from one thread and call
///   `close()` when done.
public final class EnterpriseCSVWriter {
    public let path: String
    /// Custom attribute columns written after the built-in ones, in this order.
    public let customColumns: [String]
    private var descriptor: Int32
    private var buffer: [UInt8] = []
    private static let flushThreshold = 1 << 20

    /// Creates (or truncates) the file at `path` and writes the header row.
    public init(path: String, customColumns: [String] = []) throws(Diagnostic) {
        self.path = path
        self.customColumns = customColumns
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw Diagnostic(file: path, line: 0, message: "cannot create file: \(String(cString: strerror(errno)))")
        }
        buffer.reserveCapacity(Self.flushThreshold + 4096)
        buffer.append(contentsOf: Self.header(customColumns: customColumns).utf8)
    }

    deinit {
        if descriptor >= 0 { Glibc.close(descriptor) }
    }

    public func write(_ enterprise: Enterprise) throws(Diagnostic) {
        buffer.append(contentsOf: Self.record(enterprise, customColumns: customColumns).utf8)
        if buffer.count >= Self.flushThreshold { try flush() }
    }

    /// Writes what is buffered and closes the file. Calling it again does nothing.
    public func close() throws(Diagnostic) {
        guard descriptor >= 0 else { return }
        defer {
            Glibc.close(descriptor)
            descriptor = -1
        }
        try flush()
    }

    /// Writes `count` enterprises from `EnterpriseGenerator(seed:)` to `path`.
    public static func generate(count: Int, seed: UInt64, to path: String) throws(Diagnostic) {
        let writer = try EnterpriseCSVWriter(path: path)
        var generator = EnterpriseGenerator(seed: seed)
        for _ in 0..<count { try writer.write(generator.next()) }
        try writer.close()
    }

    private func flush() throws(Diagnostic) {
        var written = 0
        var failure: Int32 = 0
        buffer.withUnsafeBytes { bytes in
            while written < bytes.count {
                let n = Glibc.write(descriptor, bytes.baseAddress! + written, bytes.count - written)
                if n >= 0 {
                    written += n
                } else if errno != EINTR {
                    failure = errno
                    return
                }
            }
        }
        buffer.removeAll(keepingCapacity: true)
        if failure != 0 {
            throw Diagnostic(file: path, line: 0, message: "cannot write file: \(String(cString: strerror(failure)))")
        }
    }

    // MARK: - Text

    /// The header row, CRLF included.
    public static func header(customColumns: [String] = []) -> String {
        CSVFormat.record(EnterpriseValidator.columns + customColumns)
    }

    /// One enterprise as a CSV record, CRLF included.
    public static func record(_ e: Enterprise, customColumns: [String] = []) -> String {
        var fields: [String] = [
            e.creditCode,
            e.name,
            e.taxpayerType?.rawValue ?? "",
            e.industryCode ?? "",
            e.region ?? "",
            e.registeredOn?.description ?? "",
            e.employees.map(String.init) ?? "",
            e.annualSales.map(amount) ?? "",
            e.taxableIncome.map(amount) ?? "",
            e.totalAssets.map(amount) ?? "",
            e.creditRating?.rawValue ?? "",
            e.highTech.map(String.init) ?? "",
            String(e.smsOptOut),
            String(e.wechatOptOut),
            e.mobile ?? "",
            e.wechatOpenID ?? "",
        ]
        for column in customColumns { fields.append(e.custom[column] ?? "") }
        return CSVFormat.record(fields)
    }

    /// A whole CSV document, for small sets and tests.
    public static func csv(_ enterprises: some Sequence<Enterprise>, customColumns: [String] = []) -> String {
        var out = header(customColumns: customColumns)
        for e in enterprises { out += record(e, customColumns: customColumns) }
        return out
    }

    /// A plain decimal that `StrictNumber` reads back: yuan and fen when the amount is whole
    /// cents, otherwise the shortest exact form.
    static func amount(_ value: Double) -> String {
        let cents = (value * 100).rounded()
        guard abs(cents) < 9e15, cents / 100 == value || abs(cents - value * 100) < 1e-6 else {
            return String(value)
        }
        let whole = Int64(cents)
        let sign = whole < 0 ? "-" : ""
        let magnitude = whole.magnitude
        let fraction = magnitude % 100
        if fraction == 0 { return sign + String(magnitude / 100) }
        return sign + String(magnitude / 100) + "." + (fraction < 10 ? "0" : "") + String(fraction)
    }
}
