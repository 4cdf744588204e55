import Foundation

/// Parses the generic JSON gateway's receipt push (GATEWAYS.md §7):
/// `[{"id":"…","provider_id":"…","status":"delivered"|"failed","code":"…","time":"2026-01-02T03:04:05Z"}]`.
///
/// `id` is our message id (the `Idempotency-Key` we sent); `provider_id`, optional, is the
/// gateway's own id from its answer. `code` is optional (defaults to the
/// status in capitals); `time`, when present, must be ISO 8601 (fractional seconds allowed).
public enum GenericReceiptParser {
    /// The body the generic gateway expects once the receipts are stored.
    public static let successReply = #"{"ok":true}"#

    /// Most receipts accepted in one push.
    public static let defaultMaxItems = 1000

    struct Item: Decodable {
        var id: String
        var providerID: String?
        var status: String
        var code: String?
        var time: String?

        enum CodingKeys: String, CodingKey {
            case id, status, code, time
            case providerID = "provider_id"
        }
    }

    /// Parses one push body.
    ///
    /// - Throws: ``ReceiptError`` `.malformed` (syntax, empty `id`, wrong types, unreadable `time`),
    ///   `.unsupported` (a status other than `delivered`/`failed`), `.tooLarge`.
    public static func parse(
        _ body: [UInt8], gateway: String, maxItems: Int = defaultMaxItems
    ) throws(ReceiptError) -> [Receipt] {
        let items = try ReceiptJSON.decode([Item].self, from: body, what: "generic receipt")
        try ReceiptJSON.checkCount(items.count, limit: maxItems, what: "generic receipt")
        var receipts: [Receipt] = []
        receipts.reserveCapacity(items.count)
        for item in items {
            guard !item.id.isEmpty else { throw ReceiptError(.malformed, "generic receipt without id") }
            let status: Receipt.Status
            switch item.status {
            case "delivered": status = .delivered
            case "failed": status = .failed
            default: throw ReceiptError(.unsupported, "unknown generic receipt status")
            }
            var occurredAt: Date?
            if let time = item.time {
                guard let date = parseISO8601(time) else {
                    throw ReceiptError(.malformed, "generic receipt time is not ISO 8601")
                }
                occurredAt = date
            }
            let code = nonEmpty(item.code) ?? item.status.uppercased()
            receipts.append(
                Receipt(
                    gateway: gateway, messageID: item.id, providerID: nonEmpty(item.providerID), status: status, reasonCode: code, occurredAt: occurredAt,
                    dedupeKey: "generic:" + [item.id, item.status, code, item.time ?? ""].joined(separator: "|")
                ))
        }
        return receipts
    }

    static func parseISO8601(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        return try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
