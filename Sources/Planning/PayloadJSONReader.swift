import Kit
import Messaging

/// Reads the JSON the outbox stores for a message (``MessagePayload/encoded()``) without
/// `JSONDecoder`: the daemon decodes one payload per message sent, and `JSONDecoder` (a keyed
/// container, a coding path and a boxed value per field) cost about 7 % of the daemon's CPU.
///
/// It reads what `JSONDecoder` reads for ``MessagePayload``: members in any order, unknown members
/// skipped, `null` for an absent optional, every JSON string escape. Anything it does not expect
/// (a number with a fraction, invalid UTF-8, a missing field) makes it give up with ``Unreadable``;
/// ``MessagePayload/decode(_:)`` then asks `JSONDecoder`, whose answer (a value or the error naming
/// the field) stands.
struct PayloadJSONReader {
    /// The text is not what ``MessagePayload/encoded()`` writes; `JSONDecoder` will say why.
    struct Unreadable: Error {}

    private let bytes: UnsafeBufferPointer<UInt8>
    private var i = 0

    private init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    static func read(_ bytes: [UInt8]) throws(Unreadable) -> MessagePayload {
        let result: Result<MessagePayload, Unreadable> = bytes.withUnsafeBufferPointer { buffer in
            var reader = PayloadJSONReader(bytes: buffer)
            do throws(Unreadable) {
                let payload = try reader.payload()
                reader.skipSpace()
                guard reader.i == buffer.count else { throw Unreadable() }
                return .success(payload)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    // MARK: The payload's shape

    private mutating func payload() throws(Unreadable) -> MessagePayload {
        var payload = MessagePayload()
        try expect(UInt8(ascii: "{"))
        var first = true
        while let key = try nextKey(&first) {
            switch key {
            case "aliyun": payload.aliyun = try isNull() ? nil : aliyun()
            case "fallbackMobile": payload.fallbackMobile = try isNull() ? nil : string()
            case "sms": payload.sms = try isNull() ? nil : sms()
            case "tencent": payload.tencent = try isNull() ? nil : tencent()
            case "wechat": payload.wechat = try isNull() ? nil : wechat()
            default: try skipValue()
            }
        }
        return payload
    }

    private mutating func sms() throws(Unreadable) -> RenderedSMS {
        var text: String?
        var length: Int?
        var segments: Int?
        var included: Int?
        try expect(UInt8(ascii: "{"))
        var first = true
        while let key = try nextKey(&first) {
            switch key {
            case "text": text = try string()
            case "length": length = try integer()
            case "segments": segments = try integer()
            case "includedPolicies": included = try integer()
            default: try skipValue()
            }
        }
        guard let text, let length, let segments, let included else { throw Unreadable() }
        return RenderedSMS(text: text, length: length, segments: segments, includedPolicies: included)
    }

    private mutating func aliyun() throws(Unreadable) -> AliyunSMS {
        var templateCode: String?
        var signName: String?
        var params: [AliyunSMS.Param]?
        try expect(UInt8(ascii: "{"))
        var first = true
        while let key = try nextKey(&first) {
            switch key {
            case "templateCode": templateCode = try string()
            case "signName": signName = try string()
            case "params":
                var list: [AliyunSMS.Param] = []
                try expect(UInt8(ascii: "["))
                var next = true
                while try nextElement(&next) {
                    let (key, value) = try keyValue()
                    list.append(AliyunSMS.Param(key: key, value: value))
                }
                params = list
            default: try skipValue()
            }
        }
        guard let templateCode, let signName, let params else { throw Unreadable() }
        return AliyunSMS(templateCode: templateCode, signName: signName, params: params)
    }

    private mutating func tencent() throws(Unreadable) -> TencentSMS {
        var templateID: String?
        var signName: String?
        var params: [String]?
        try expect(UInt8(ascii: "{"))
        var first = true
        while let key = try nextKey(&first) {
            switch key {
            case "templateID": templateID = try string()
            case "signName": signName = try string()
            case "params":
                var list: [String] = []
                try expect(UInt8(ascii: "["))
                var next = true
                while try nextElement(&next) { list.append(try string()) }
                params = list
            default: try skipValue()
            }
        }
        guard let templateID, let signName, let params else { throw Unreadable() }
        return TencentSMS(templateID: templateID, signName: signName, params: params)
    }

    private mutating func wechat() throws(Unreadable) -> RenderedWeChat {
        var templateID: String?
        var url: String?
        var fields: [RenderedWeChat.Field]?
        try expect(UInt8(ascii: "{"))
        var first = true
        while let key = try nextKey(&first) {
            switch key {
            case "templateID": templateID = try string()
            case "url": url = try isNull() ? nil : string()
            case "fields":
                var list: [RenderedWeChat.Field] = []
                try expect(UInt8(ascii: "["))
                var next = true
                while try nextElement(&next) {
                    let (key, value) = try keyValue()
                    list.append(RenderedWeChat.Field(key: key, value: value))
                }
                fields = list
            default: try skipValue()
            }
        }
        guard let templateID, let fields else { throw Unreadable() }
        return RenderedWeChat(templateID: templateID, url: url, fields: fields)
    }

    /// `{"key": …, "value": …}`, both strings.
    private mutating func keyValue() throws(Unreadable) -> (String, String) {
        var key: String?
        var value: String?
        try expect(UInt8(ascii: "{"))
        var first = true
        while let name = try nextKey(&first) {
            switch name {
            case "key": key = try string()
            case "value": value = try string()
            default: try skipValue()
            }
        }
        guard let key, let value else { throw Unreadable() }
        return (key, value)
    }

    // MARK: JSON

    /// After an object's `{`: the next member's key, its `:` read; `nil` after the closing `}`.
    /// `first` is true before the first member.
    private mutating func nextKey(_ first: inout Bool) throws(Unreadable) -> String? {
        skipSpace()
        guard let byte = peek() else { throw Unreadable() }
        if byte == UInt8(ascii: "}") {
            i += 1
            return nil
        }
        if first {
            first = false
        } else {
            try expect(UInt8(ascii: ","))
            skipSpace()
        }
        let key = try string()
        skipSpace()
        try expect(UInt8(ascii: ":"))
        skipSpace()
        return key
    }

    /// After an array's `[`: whether another element follows (then it is next to read); false
    /// after the closing `]`. `first` is true before the first element.
    private mutating func nextElement(_ first: inout Bool) throws(Unreadable) -> Bool {
        skipSpace()
        guard let byte = peek() else { throw Unreadable() }
        if byte == UInt8(ascii: "]") {
            i += 1
            return false
        }
        if first {
            first = false
        } else {
            try expect(UInt8(ascii: ","))
            skipSpace()
        }
        return true
    }

    /// Reads `null` if it comes next: `decodeIfPresent` takes it for an absent value.
    private mutating func isNull() throws(Unreadable) -> Bool {
        guard peek() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    /// A JSON integer that fits an `Int`; a fraction or an exponent gives up.
    private mutating func integer() throws(Unreadable) -> Int {
        let negative = peek() == UInt8(ascii: "-")
        if negative { i += 1 }
        var value = 0
        var digits = 0
        while let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
            guard !o1, !o2 else { throw Unreadable() }
            value = sum
            digits += 1
            i += 1
        }
        guard digits > 0 else { throw Unreadable() }
        if let byte = peek(), byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
            throw Unreadable()
        }
        return negative ? -value : value
    }

    /// A string, unescaped; its UTF-8 must be valid.
    private mutating func string() throws(Unreadable) -> String {
        try expect(UInt8(ascii: "\""))
        let start = i
        while let byte = peek(), byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
            guard byte >= 0x20 else { throw Unreadable() }
            i += 1
        }
        guard let stop = peek() else { throw Unreadable() }
        if stop == UInt8(ascii: "\"") {
            i += 1
            return try text(UnsafeBufferPointer(rebasing: bytes[start..<i - 1]))
        }
        var unescaped = Array(bytes[start..<i])
        while true {
            guard let byte = peek() else { throw Unreadable() }
            i += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: unescaped, as: UTF8.self) else { throw Unreadable() }
                return text
            case UInt8(ascii: "\\"):
                guard let escape = peek() else { throw Unreadable() }
                i += 1
                if let byte = JSONText.unescaped(escape) {
                    unescaped.append(byte)
                } else if escape == UInt8(ascii: "u") {
                    unescaped.append(contentsOf: try escapedScalar())
                } else {
                    throw Unreadable()
                }
            default:
                guard byte >= 0x20 else { throw Unreadable() }
                unescaped.append(byte)
            }
        }
    }

    /// After `\u`: the scalar's UTF-8 (a surrogate pair takes a second `\u`).
    private mutating func escapedScalar() throws(Unreadable) -> String.UTF8View {
        let high = try hex4()
        var value = high
        if (0xD800...0xDBFF).contains(high) {
            try literal("\\u")
            let low = try hex4()
            guard (0xDC00...0xDFFF).contains(low) else { throw Unreadable() }
            value = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let scalar = Unicode.Scalar(value) else { throw Unreadable() }
        return String(Character(scalar)).utf8
    }

    private mutating func hex4() throws(Unreadable) -> UInt32 {
        guard let value = JSONText.hex4(bytes, at: i) else { throw Unreadable() }
        i += 4
        return value
    }

    private func text(_ utf8: UnsafeBufferPointer<UInt8>) throws(Unreadable) -> String {
        guard let text = String(validating: utf8, as: UTF8.self) else { throw Unreadable() }
        return text
    }

    /// Skips a value of any kind (a member `MessagePayload` does not know).
    private mutating func skipValue() throws(Unreadable) {
        switch peek() {
        case UInt8(ascii: "{")?:
            i += 1
            var first = true
            while try nextKey(&first) != nil { try skipValue() }
        case UInt8(ascii: "[")?:
            i += 1
            var first = true
            while try nextElement(&first) { try skipValue() }
        case UInt8(ascii: "\"")?: _ = try string()
        case UInt8(ascii: "t")?: try literal("true")
        case UInt8(ascii: "f")?: try literal("false")
        case UInt8(ascii: "n")?: try literal("null")
        default:
            // A number: its characters; JSONDecoder is not needed to skip it.
            let start = i
            while let byte = peek(),
                byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")
                    || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
                    || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            {
                i += 1
            }
            guard i > start else { throw Unreadable() }
        }
    }

    private mutating func literal(_ word: StaticString) throws(Unreadable) {
        let count = word.utf8CodeUnitCount
        guard i + count <= bytes.count else { throw Unreadable() }
        for k in 0..<count where bytes[i + k] != word.utf8Start[k] { throw Unreadable() }
        i += count
    }

    private mutating func expect(_ byte: UInt8) throws(Unreadable) {
        guard peek() == byte else { throw Unreadable() }
        i += 1
    }

    private func peek() -> UInt8? { i < bytes.count ? bytes[i] : nil }

    private mutating func skipSpace() {
        while let byte = peek(),
            byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\t")
                || byte == UInt8(ascii: "\r")
        {
            i += 1
        }
    }
}
