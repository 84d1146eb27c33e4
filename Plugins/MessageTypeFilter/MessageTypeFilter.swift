// message-type-filter: chat_api's "is this message visible to this user?" filter. Events whose
// type is restricted reach only recipients holding one of the allowed principals (a role, a
// group, or a user id); everyone else gets nothing, or a redacted copy when configured.
import GatewayPlugin

@_cdecl("gateway_plugin_entry")
public func gatewayPluginEntry() -> UnsafeRawPointer { export(MessageTypeFilter.self) }

struct MessageTypeFilter: RecipientFilterPlugin {
    static let name = "message-type-filter"
    static let version = "1.0.0"

    /// Path of the field holding the type, split on "." ("type", "data.kind").
    let fieldPath: [String]
    let restrictedTypes: Set<String>
    let allowedPrincipals: [String]
    let redaction: Redaction?

    init(config: JSONView, host: PluginHost) throws(PluginConfigError) {
        let reader = try PluginConfig(config, codePrefix: "message_type_filter", allowedKeys: [
            "field", "types", "allowed_principals", "redact", "redact_fields", "keep_fields", "remove_fields",
        ])
        let field = try reader.string("field", default: "type")
        fieldPath = field.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if fieldPath.contains(where: \.isEmpty) {
            throw reader.error("bad_field", "field '\(field)' is not a valid path; use names separated by dots, e.g. \"type\" or \"data.kind\"")
        }
        restrictedTypes = Set(try reader.strings("types", default: ["secret"]))
        if restrictedTypes.isEmpty {
            throw reader.error("no_types", "types is empty, so this filter would do nothing; list at least one restricted type")
        }
        allowedPrincipals = try reader.strings("allowed_principals", default: [])
        // A nested type field ("data.kind") is not kept: keeping its top-level object would keep
        // everything beside the type.
        redaction = try reader.bool("redact", default: false)
            ? try Redaction(reader: reader, typeField: fieldPath.count == 1 ? fieldPath[0] : nil) : nil
        if redaction == nil && (reader.has("redact_fields") || reader.has("keep_fields") || reader.has("remove_fields")) {
            throw reader.error("redaction_disabled", "redact_fields / keep_fields are set but redact is false; set redact = true or remove them")
        }
        if allowedPrincipals.isEmpty {
            host.log(.warning, "message-type-filter: allowed_principals is empty; nobody sees events of type \(restrictedTypes.sorted())")
        }
    }

    /// Only events of a restricted type need a per-recipient decision: every other event is
    /// delivered as is, so the gateway need not call `filter` for each of its recipients.
    func concerns(_ event: JSONView) -> Bool {
        restrictedType(of: event) != nil
    }

    private func restrictedType(of event: JSONView) -> String? {
        var field = event
        for name in fieldPath { field = field[name] }
        guard let type = field.string, restrictedTypes.contains(type) else { return nil }
        return type
    }

    func filter(_ event: JSONView, recipient: Recipient) throws -> FilterDecision {
        guard restrictedType(of: event) != nil else { return .deliver }
        if recipient.holdsAny(of: allowedPrincipals) { return .deliver }
        guard let redaction else { return .drop }
        return .redact(try redaction.apply(to: event))
    }
}
