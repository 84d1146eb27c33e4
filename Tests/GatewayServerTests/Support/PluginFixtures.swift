import GatewayCore

/// gateway.conf [[plugins]] entries for the bundled plugins, as tests configure them.
enum PluginFixtures {
    static func categoryTargets(_ rules: [String: [String]], name: String = "category-targets") -> GatewayConfig.Plugin {
        let table = rules.sorted { $0.key < $1.key }.map { (key: $0.key, value: ConfigValue.array($0.value.map { .string($0) })) }
        return GatewayConfig.Plugin(name: name, library: "libCategoryTargets.so", config: [(key: "categories", value: .table(table))])
    }

    static func messageTypeFilter(_ config: [(key: String, value: ConfigValue)], name: String = "message-type-filter") -> GatewayConfig.Plugin {
        GatewayConfig.Plugin(name: name, library: "libMessageTypeFilter.so", config: config)
    }

    static func consoleAudit(path: String) -> GatewayConfig.Plugin {
        GatewayConfig.Plugin(name: "console-audit", library: "libConsoleAudit.so",
                             config: [(key: "output", value: .string(path))])
    }
}
