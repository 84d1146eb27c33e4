// One category's rule: a fixed list of principals and groups, pyams_chat's site managers,
// and/or the principals the event itself lists in target.principals.
import GatewayPlugin

/// pyams_chat's `user.login` handler: the admin principal plus every holder of the site's
/// system-manager role, which here is a configured list (the gateway has no role registry).
struct SiteManagers {
    let admin: String
    let managers: [String]

    var principals: [String] { (admin.isEmpty ? [] : [admin]) + managers }
}

struct TargetRule {
    var fixed: [String] = []
    var includeSiteManagers = false
    var includeEventPrincipals = false
    let siteManagers: SiteManagers

    init(siteManagers: SiteManagers) {
        self.siteManagers = siteManagers
        includeSiteManagers = true
    }

    /// value is one of: ["p1", "group:g"] | "site-managers" | "event-principals" |
    /// { principals = [...], groups = [...], site_managers = bool, event_principals = bool }
    init(category: String, value: JSONView, siteManagers: SiteManagers, reader: PluginConfig) throws(PluginError) {
        self.siteManagers = siteManagers
        if let list = value.strings {
            fixed = list
        } else if let name = value.string {
            switch name {
            case "site-managers": includeSiteManagers = true
            case "event-principals": includeEventPrincipals = true
            default:
                throw reader.error("unknown_rule", "category '\(category)': unknown rule '\(name)'; use \"site-managers\", \"event-principals\", a list of principals or a table")
            }
        } else if value.isObject {
            let table = try PluginConfig(value, codePrefix: reader.codePrefix,
                                         allowedKeys: ["principals", "groups", "site_managers", "event_principals"])
            fixed = try table.strings("principals", default: []) + table.strings("groups", default: [])
            includeSiteManagers = try table.bool("site_managers", default: false)
            includeEventPrincipals = try table.bool("event_principals", default: false)
        } else {
            throw reader.error("bad_rule", "category '\(category)': a rule must be a list of principals, a rule name or a table")
        }
        if fixed.isEmpty && !includeSiteManagers && !includeEventPrincipals {
            throw reader.error("empty_rule", "category '\(category)': the rule targets nobody; list principals or groups, or enable a rule")
        }
    }

    func targets(for event: JSONView) throws -> Targets {
        var targets = Targets(principals: fixed)
        if includeSiteManagers { targets.append(contentsOf: siteManagers.principals) }
        if includeEventPrincipals {
            let listed = event["target"]["principals"]
            if listed.exists {
                guard let principals = listed.strings else {
                    throw PluginError(code: "category_targets.bad_event_target",
                                      "event target.principals must be an array of strings")
                }
                targets.append(contentsOf: principals)
            }
        }
        return targets
    }
}
