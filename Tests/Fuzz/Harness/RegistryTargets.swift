// Enterprise import files: CSV (UTF-8 or GB18030) and JSON Lines.

import Registry

private let schema = AttributeSchema(custom: ["export_share": .number, "founded": .date, "zone": .string])
private let today = LocalDate(iso: "2026-06-01")!

/// The CSV reader on the raw bytes (every record, no header needed), the decoders, then the
/// whole import path: encoding detection, header, validation, batches.
func fuzzCSV(_ bytes: [UInt8]) {
    var reader = CSVReader(bytes: bytes)
    while true {
        do {
            guard try reader.next() != nil else { break }
        } catch {
            break
        }
    }
    _ = try? TextEncoding.decode(bytes, as: .gb18030, file: "fuzz.csv")
    _ = try? TextEncoding.decode(bytes, as: .utf8, file: "fuzz.csv")
    let path = writeScratch("fuzz.csv", bytes)
    let file = EnterpriseFileReader(path: path, encoding: .auto, format: .csv, schema: schema, today: today)
    _ = try? file.read(batchSize: 3) { _ in }
}

/// The JSON Lines import path: line splitting, `JSONLineParser`, validation.
func fuzzJSONLines(_ bytes: [UInt8]) {
    let path = writeScratch("fuzz.jsonl", bytes)
    let file = EnterpriseFileReader(path: path, encoding: .auto, format: .jsonl, schema: schema, today: today)
    _ = try? file.read(batchSize: 3) { _ in }
}
