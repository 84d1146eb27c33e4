// The redacted copy a recipient without the role receives instead of a restricted event.
// Fail closed: the copy is built from an allow-list (`keep_fields`), so a field nobody thought of
// (title, data, attachments, url …) never reaches a restricted recipient.
import GatewayPlugin

struct Redaction {
    /// Envelope fields a client needs to place the event; everything else stays out.
    static let defaultKeptFields = ["id", "category", "action", "status", "timestamp", "host", "source", "target"]

    /// Top-level fields copied from the event (when present).
    let keptFields: [String]
    /// Top-level fields set to a configured value (kept as owned copies of the config).
    let replacements: [(key: String, value: JSON)]

    init(reader: PluginConfig, typeField: String?) throws(PluginError) {
        if reader.has("remove_fields") {
            throw reader.error("remove_fields_replaced",
                               "remove_fields is gone: redaction keeps only keep_fields (an allow-list) and redact_fields; list what a restricted recipient may see")
        }
        var kept = try reader.strings("keep_fields", default: Self.defaultKeptFields)
        // The type itself is what the recipient's client shows a placeholder for.
        if let typeField, !kept.contains(typeField) { kept.append(typeField) }
        keptFields = kept
        var replacements: [(key: String, value: JSON)] = []
        for (key, value) in try reader.table("redact_fields")?.members ?? [] {
            guard let copy = value.mutableCopy() else { continue }
            replacements.append((key, copy))
        }
        // Clients expect a message text: an empty one unless told otherwise.
        if !replacements.contains(where: { $0.key == "message" }) {
            replacements.append(("message", JSON.string("")))
        }
        self.replacements = replacements
    }

    /// A fresh object with only the kept fields of `event` (deep copies: the original is shared
    /// and read-only), the replacements, and `redacted: true` so clients can show a placeholder.
    func apply(to event: JSONView) throws -> JSON {
        let copy = JSON.object()
        for key in keptFields {
            let value = event[key]
            guard value.exists else { continue }
            guard let owned = value.mutableCopy() else {
                throw PluginError(code: "message_type_filter.copy_failed", "could not copy the event to redact it")
            }
            copy.set(key, owned)
        }
        for (key, value) in replacements {
            // Each event gets its own copy: a shared value would be mutated by its next holder.
            copy.set(key, value.deepCopy())
        }
        copy.set("redacted", JSON.bool(true))
        return copy
    }
}
