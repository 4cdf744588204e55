import Foundation
import Kit

/// A JSON value written with its keys in the order given, as providers write them.
enum StubJSON: Sendable {
    case string(String)
    case int(Int64)
    case bool(Bool)
    case null
    case array([StubJSON])
    case object([(String, StubJSON)])

    static func int(_ value: Int) -> StubJSON { .int(Int64(value)) }

    var rendered: String {
        var out = ""
        write(into: &out)
        return out
    }

    private func write(into out: inout String) {
        switch self {
        case .string(let text): Self.quote(text, into: &out)
        case .int(let value): out += String(value)
        case .bool(let value): out += value ? "true" : "false"
        case .null: out += "null"
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                item.write(into: &out)
            }
            out += "]"
        case .object(let pairs):
            out += "{"
            for (index, pair) in pairs.enumerated() {
                if index > 0 { out += "," }
                Self.quote(pair.0, into: &out)
                out += ":"
                pair.1.write(into: &out)
            }
            out += "}"
        }
    }

    private static func quote(_ text: String, into out: inout String) {
        out += "\""
        JSONText.append(escaped: text, to: &out)
        out += "\""
    }

    /// Parses `bytes` as a JSON object; `nil` when it is not one.
    static func object(_ bytes: [UInt8]) -> [String: Any]? {
        guard !bytes.isEmpty else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) as? [String: Any]
    }
}

/// The stub's draws for faults and receipts, from a seeded `SplitMix64`.
struct StubRandom: Sendable {
    private var generator: SplitMix64

    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    mutating func next() -> UInt64 { generator.next() }

    /// A uniform draw in `0..<1`.
    mutating func unit() -> Double { generator.unit() }

    /// Whether an event of probability `rate` happens; no draw is spent on rate 0.
    mutating func chance(_ rate: Double) -> Bool { rate > 0 && unit() < rate }

    mutating func index(below count: Int) -> Int { count <= 1 ? 0 : Int(next() % UInt64(count)) }

    /// A version-4-shaped UUID string, uppercase like Aliyun's `RequestId`.
    mutating func uuid() -> String {
        let hex = String(format: "%016llX%016llX", next(), next())
        let characters = Array(hex)
        func part(_ range: Range<Int>) -> String { String(characters[range]) }
        return "\(part(0..<8))-\(part(8..<12))-4\(part(13..<16))-A\(part(17..<20))-\(part(20..<32))"
    }
}

/// A binary min-heap of scheduled pushes, ordered by due time then insertion.
struct PushHeap: Sendable {
    private(set) var items: [PushJob] = []

    var isEmpty: Bool { items.isEmpty }
    var first: PushJob? { items.first }

    mutating func insert(_ job: PushJob) {
        items.append(job)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.before(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func popFirst() -> PushJob? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < items.count, Self.before(items[left], items[smallest]) { smallest = left }
            if right < items.count, Self.before(items[right], items[smallest]) { smallest = right }
            if smallest == parent { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }

    private static func before(_ a: PushJob, _ b: PushJob) -> Bool {
        a.due != b.due ? a.due < b.due : a.sequence < b.sequence
    }
}
