/// Many strings in one byte buffer with offsets: 4 bytes of overhead per string instead of
/// a `String` each (16 bytes plus a heap object for anything over 15 UTF-8 bytes).
struct PackedStrings: Sendable {
    private var bytes: [UInt8] = []
    /// `offsets[i] ..< offsets[i + 1]` are the bytes of string `i`.
    private var offsets: [UInt32] = [0]

    var count: Int { offsets.count - 1 }

    mutating func append(_ string: String?) {
        if let string { bytes.append(contentsOf: string.utf8) }
        offsets.append(UInt32(bytes.count))
    }

    /// The string at `index`; an empty stored string reads back as `nil`.
    subscript(index: Int) -> String? {
        let start = Int(offsets[index])
        let end = Int(offsets[index + 1])
        guard end > start else { return nil }
        return bytes.withUnsafeBufferPointer {
            String(decoding: UnsafeBufferPointer(rebasing: $0[start..<end]), as: UTF8.self)
        }
    }

    mutating func shrinkToFit() {
        bytes = Array(bytes)
        offsets = Array(offsets)
    }

    var byteCount: Int { bytes.capacity + offsets.capacity * 4 }
}
