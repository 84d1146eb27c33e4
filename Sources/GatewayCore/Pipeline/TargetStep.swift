import GatewayJSON

/// Step 3: who receives the event. The publisher's explicit `target`, else the union of what
/// the category-targets plugins compute (written into the event's `target`), else a refusal.
public struct TargetStep: Sendable {
    public init() {}

    public func run(_ event: JSON, chain: PluginChain) throws(GatewayError) -> [String] {
        let view = event.view
        if let explicit = view["target"]["principals"].strings { return explicit }
        if let computed = chain.targets(for: view) {
            event.set("target", EventNormalizer.targetObject(computed))
            return computed
        }
        let category = view["category"].string ?? ""
        throw GatewayError(code: "event.no_targets",
                           message: "The event has no 'target' and no category-targets plugin handles category '\(category)'. Give {\"target\": {\"principals\": [...]}} or configure a plugin for it.",
                           status: 422)
    }
}
