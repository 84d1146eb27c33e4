// The redacted copy a recipient without the role receives instead of a restricted event.
import GatewayPlugin

struct Redaction {
    /// Top-level fields replaced by a configured value (kept as owned copies of the config).
    let replacements: [(key: String, value: JSON)]
    let removals: [String]

    init(reader: PluginConfig) throws(PluginError) {
        var replacements: [(key: String, value: JSON)] = []
        for (key, value) in try reader.table("redact_fields")?.members ?? [] {
            guard let copy = value.mutableCopy() else { continue }
            replacements.append((key, copy))
        }
        removals = try reader.strings("remove_fields", default: [])
        // Redacting nothing would leak the content; blank the message text unless told otherwise.
        if replacements.isEmpty && removals.isEmpty {
            replacements.append(("message", JSON.string("")))
        }
        self.replacements = replacements
    }

    /// A fresh copy of `event` (the original is shared and read-only) with fields replaced or
    /// removed and `redacted: true` so clients can show a placeholder.
    func apply(to event: JSONView) throws -> JSON {
        guard let copy = event.mutableCopy() else {
            throw PluginError(code: "message_type_filter.copy_failed", "could not copy the event to redact it")
        }
        for (key, value) in replacements {
            // Each event gets its own copy: a shared value would be mutated by its next holder.
            copy.set(key, value.deepCopy())
        }
        for key in removals { copy.remove(key) }
        copy.set("redacted", JSON.bool(true))
        return copy
    }
}
