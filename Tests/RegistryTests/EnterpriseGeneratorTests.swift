import Foundation
import Testing

@testable import Registry

struct EnterpriseGeneratorTests {
    @Test func sameSeedGivesSameEnterprises() {
        var a = EnterpriseGenerator(seed: 42)
        var b = EnterpriseGenerator(seed: 42)
        var c = EnterpriseGenerator(seed: 43)
        let first = (0..<200).map { _ in a.next() }
        #expect(first == (0..<200).map { _ in b.next() })
        #expect(first != (0..<200).map { _ in c.next() })
    }

    @Test func sameSeedGivesByteIdenticalFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gen-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let one = directory.appendingPathComponent("one.csv").path
        let two = directory.appendingPathComponent("two.csv").path
        try EnterpriseCSVWriter.generate(count: 500, seed: 7, to: one)
        try EnterpriseCSVWriter.generate(count: 500, seed: 7, to: two)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: one))
        #expect(bytes == (try Data(contentsOf: URL(fileURLWithPath: two))))
        #expect(String(decoding: bytes.prefix(40), as: UTF8.self).hasPrefix("credit_code,name,taxpayer_type"))
    }

    @Test func everyGeneratedRowPassesTheValidatorAndRoundTrips() throws {
        var generator = EnterpriseGenerator(seed: 2026)
        let enterprises = (0..<5000).map { _ in generator.next() }
        let file = try TemporaryFile(name: "gen.csv", text: EnterpriseCSVWriter.csv(enterprises))
        defer { file.remove() }
        let reader = EnterpriseFileReader(
            path: file.path, schema: AttributeSchema(), today: LocalDate(year: 2026, month: 1, day: 1)!)
        var read: [Enterprise] = []
        let summary = try reader.read { read += $0 }
        #expect(summary.diagnostics == [])
        #expect(summary.accepted == 5000)
        #expect(read == enterprises)
    }

    @Test func distributionsLookLikeADistrict() {
        var generator = EnterpriseGenerator(seed: 1)
        let enterprises = (0..<20000).map { _ in generator.next() }
        func share(_ predicate: (Enterprise) -> Bool) -> Double {
            Double(enterprises.filter(predicate).count) / Double(enterprises.count)
        }
        #expect(abs(share { $0.taxpayerType == .smallScale } - 0.55) < 0.02)
        #expect(abs(share { $0.taxpayerType == .individual } - 0.15) < 0.02)
        #expect(abs(share { $0.creditRating == .b } - 0.45) < 0.02)
        #expect(abs(share { $0.mobile != nil } - 0.88) < 0.02)
        #expect(abs(share { $0.wechatOpenID != nil } - 0.45) < 0.02)
        #expect(share { $0.mobile == nil && $0.wechatOpenID == nil } > 0.01)
        #expect(share { ($0.taxableIncome ?? 0) < 0 } > 0.05)
        #expect(share { $0.highTech == true && $0.taxpayerType != .general } == 0)
        #expect(share { $0.creditCode.hasPrefix("92") } == share { $0.taxpayerType == .individual })
        let small = enterprises.filter { $0.taxpayerType == .smallScale }
        let under5M = small.filter { ($0.annualSales ?? 0) < 5_000_000 }.count
        let underOnePointTwoMillion = small.filter { ($0.annualSales ?? 0) < 1_200_000 }.count
        #expect(Double(under5M) / Double(small.count) > 0.95)
        #expect(Double(underOnePointTwoMillion) / Double(small.count) > 0.5)
        #expect(enterprises.allSatisfy { $0.wechatOpenID.map { $0.count == 28 && $0.hasPrefix("o") } ?? true })
        #expect(Set(enterprises.map(\.creditCode)).count == enterprises.count)
    }
}
