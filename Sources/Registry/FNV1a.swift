/// The 64-bit FNV-1a hash: stable across runs, processes and machines (unlike `Hasher`), for
/// shard assignment, link tokens and content fingerprints.
public struct FNV1a: Sendable, Hashable {
    public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    public static let prime: UInt64 = 0x0000_0100_0000_01b3

    public private(set) var value: UInt64 = offsetBasis

    public init() {}

    @inline(__always)
    public mutating func combine(_ byte: UInt8) {
        value = (value ^ UInt64(byte)) &* Self.prime
    }

    public mutating func combine(_ bytes: some Sequence<UInt8>) {
        for byte in bytes { combine(byte) }
    }

    /// The hash of a string's UTF-8 bytes.
    public static func hash(_ text: String) -> UInt64 {
        var h = FNV1a()
        h.combine(text.utf8)
        return h.value
    }
}
