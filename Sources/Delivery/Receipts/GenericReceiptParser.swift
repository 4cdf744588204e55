import Foundation

/// Parses the generic JSON gateway's receipt push (Delivery/Gateways.md §7), a JSON array of items like
/// `{"idempotency_key":"…","id":"…","status":"delivered"|"failed","code":"…","time":"2026-01-02T03:04:05Z"}`.
///
/// An item names its message with one or more of four string fields: `idempotency_key`, our id
/// (the `Idempotency-Key` we sent); `provider_id`, the gateway's own id (from its answer); and
/// `id` and `message_id`, either one, depending on the provider. An empty string counts as
/// absent, and an item with none of the four is `.malformed`.
/// - Our id (``Receipt/messageID``) is `idempotency_key` if present, else `id`, else `message_id`.
/// - The provider's id (``Receipt/providerID``) is `provider_id` if present, else the first of
///   `id`, `message_id` that was not taken as our id, else, when our id came from the item's
///   only `id` or `message_id`, that same value: it may be either, and the store matches our id
///   first, then the gateway and provider id.
///
/// So `{"id":"m1"}` gives our id and provider id `m1`; `{"id":"m1","provider_id":"p1"}` (the
/// stub's shape) gives `m1` and `p1`; `{"idempotency_key":"m1","id":"p1"}` and
/// `{"id":"m1","message_id":"p1"}` give `m1` and `p1`; `{"provider_id":"p1"}` gives no id of ours.
///
/// `status` is required; `code` is optional (defaults to the status in capitals); `time`, when
/// present, must be ISO 8601 (fractional seconds allowed) and between 2000-01-01 and one day
/// past now. The dedupe key is
/// `generic:<our id>|<status>|<code>|<time>`, or `generic:|<provider id>|<status>|<code>|<time>`
/// for an item without an id of ours.
///
/// Fields are capped in UTF-8 bytes, over the cap is `.malformed`: the four ids and `code` 128,
/// `time` 64.
public enum GenericReceiptParser {
    /// The body the generic gateway expects once the receipts are stored.
    public static let successReply = #"{"ok":true}"#

    /// Most receipts accepted in one push.
    public static let defaultMaxItems = 1000

    /// Field caps in UTF-8 bytes.
    enum Cap {
        static let id = 128
        static let code = 128
        static let time = 64
    }

    struct Item: Decodable {
        var idempotencyKey: String?
        var providerID: String?
        var id: String?
        var messageID: String?
        var status: String
        var code: String?
        var time: String?

        enum CodingKeys: String, CodingKey {
            case id, status, code, time
            case idempotencyKey = "idempotency_key"
            case providerID = "provider_id"
            case messageID = "message_id"
        }

        /// Our id and the provider's, by the rule in ``GenericReceiptParser``'s description.
        var ids: (ours: String?, provider: String?) {
            let either = [id, messageID].compactMap(nonEmpty)
            let ours: String?
            let unused: ArraySlice<String>
            if let key = nonEmpty(idempotencyKey) {
                ours = key
                unused = either[...]
            } else {
                ours = either.first
                unused = either.dropFirst()
            }
            let alsoOurs = nonEmpty(idempotencyKey) == nil ? ours : nil
            return (ours, nonEmpty(providerID) ?? unused.first ?? alsoOurs)
        }
    }

    /// Parses one push body.
    ///
    /// - Parameters:
    ///   - body: the request body.
    ///   - gateway: the configured gateway name, copied into every receipt.
    ///   - now: the current time; times more than a day past it are refused.
    ///   - maxItems: most receipts accepted in one body; more is ``ReceiptError/Code/tooLarge``.
    /// - Throws: ``ReceiptError`` `.malformed` (syntax, no id field, wrong types, unreadable or
    ///   implausible `time`), `.unsupported` (a status other than `delivered`/`failed`), `.tooLarge`.
    public static func parse(
        _ body: [UInt8], gateway: String, now: Date = Date(), maxItems: Int = defaultMaxItems
    ) throws(ReceiptError) -> [Receipt] {
        let items = try ReceiptJSON.decode([Item].self, from: body, what: "generic receipt")
        try ReceiptJSON.checkCount(items.count, limit: maxItems, what: "generic receipt")
        var receipts: [Receipt] = []
        receipts.reserveCapacity(items.count)
        for item in items {
            for (value, name) in [
                (item.idempotencyKey, "idempotency_key"), (item.providerID, "provider_id"), (item.id, "id"),
                (item.messageID, "message_id"),
            ] {
                try ReceiptCheck.length(value, Cap.id, "generic receipt \(name)")
            }
            try ReceiptCheck.length(item.code, Cap.code, "generic receipt code")
            try ReceiptCheck.length(item.time, Cap.time, "generic receipt time")
            let (ours, provider) = item.ids
            let identity: [String]
            if let ours {
                identity = [ours]
            } else if let provider {
                identity = ["", provider]
            } else {
                throw ReceiptError(.malformed, "generic receipt without id")
            }
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
                occurredAt = try ReceiptCheck.plausible(date, now: now, "generic receipt time")
            }
            let code = nonEmpty(item.code) ?? item.status.uppercased()
            receipts.append(
                Receipt(
                    gateway: gateway, messageID: ours, providerID: provider, status: status, reasonCode: code,
                    occurredAt: occurredAt,
                    dedupeKey: "generic:" + (identity + [item.status, code, item.time ?? ""]).joined(separator: "|")
                ))
        }
        return receipts
    }

    static func parseISO8601(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        return try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
