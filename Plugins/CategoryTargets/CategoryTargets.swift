// category-targets: pyams_chat's message handlers as configuration. A handler is named after
// an event category and computes the event's targets (the principals that receive it).
import GatewayPlugin

@_cdecl("gateway_plugin_entry")
public func gatewayPluginEntry() -> UnsafeRawPointer { export(CategoryTargets.self) }

struct CategoryTargets: CategoryTargetsPlugin {
    static let name = "category-targets"
    static let version = "1.0.0"
    // Every category reaches this plugin; an instance answers GW_SKIP for those it has no rule for.
    static let categories = ["*"]

    let rules: [String: TargetRule]

    init(config: JSONView, host: PluginHost) throws(PluginConfigError) {
        let reader = try PluginConfig(config, codePrefix: "category_targets",
                                      allowedKeys: ["categories", "admin_principal", "site_managers"])
        let siteManagers = SiteManagers(
            admin: try reader.string("admin_principal", default: "system:admin"),
            managers: try reader.strings("site_managers", default: []))
        var rules: [String: TargetRule] = [:]
        for (category, value) in try reader.table("categories")?.members ?? [] {
            rules[category] = try TargetRule(category: category, value: value, siteManagers: siteManagers, reader: reader)
        }
        // pyams_chat registers a `user.login` handler by default: keep it unless overridden.
        if rules["user.login"] == nil {
            rules["user.login"] = TargetRule(siteManagers: siteManagers)
        }
        self.rules = rules
        host.log(.info, "category-targets: rules for \(rules.keys.sorted().joined(separator: ", "))")
    }

    func targets(for event: JSONView) throws -> Targets? {
        guard let category = event["category"].string, let rule = rules[category] else { return nil }
        return try rule.targets(for: event)
    }
}
