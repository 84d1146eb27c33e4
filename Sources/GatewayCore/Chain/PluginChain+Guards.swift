// The publish-guard and responder hooks (ABI 1.3). Guards run where the publish runs (an event
// loop, or the blocking pool when a guard declared GW_GUARD_MAY_BLOCK or the event needed it);
// on_routed runs on the blocking pool only (EventPipeline sends it there).
import CGatewayPlugin
import CJansson
import GatewayJSON

typealias PublishGuardFunction = @convention(c) (
    OpaquePointer?, UnsafePointer<gw_publish_request>?, UnsafeMutablePointer<UnsafeMutablePointer<json_t>?>?,
    UnsafeMutablePointer<gw_message>?
) -> gw_result
typealias RoutedFunction = @convention(c) (OpaquePointer?, UnsafePointer<json_t>?, UnsafeMutablePointer<gw_message>?) -> gw_result

struct GuardHook {
    let plugin: PluginInstance
    let call: PublishGuardFunction
    let mayBlock: Bool
}

struct RoutedHook {
    let plugin: PluginInstance
    let call: RoutedFunction
}

/// What the plugin guards decided about one event, before the host's member-state rule.
public enum PluginGuardOutcome {
    /// Not refused. `event` is what to route (the original, or a guard's rewrite); `accepted`:
    /// some guard answered GW_OK or GW_REWRITE (it vouches for a scripted member's answer).
    case passed(event: JSON, accepted: Bool)
    case refused(GatewayError)
}

extension PluginChain {
    /// Runs every publish guard in chain order (see the header's "How results combine").
    /// `memberships`: the publisher's membership in each room the event names.
    public func guardPublish(_ event: JSON, publisher: Publisher, memberships: [RoomMembership],
                             ingress: Ingress) -> PluginGuardOutcome {
        guard !guardHooks.isEmpty else { return .passed(event: event, accepted: false) }
        let publisherJSON = JSON.object()
        publisherJSON.set("id", publisher.id)
        publisherJSON.set("title", publisher.title.map { JSON.string($0) } ?? .null())
        publisherJSON.set("principals", .strings(publisher.principals.isEmpty ? [publisher.id] : publisher.principals))
        let membershipsJSON = JSON.array()
        for membership in memberships { membershipsJSON.append(membership.json) }
        var current = event
        var accepted = false
        for hook in guardHooks {
            hook.plugin.publishCalls.increment()
            var message = gw_message()
            var rewritten: UnsafeMutablePointer<json_t>?
            let answer = ingress.rawValue.withCString { ingressPointer in
                var request = gw_publish_request(
                    struct_size: MemoryLayout<gw_publish_request>.size, event: current.pointer,
                    publisher: publisherJSON.pointer, memberships: membershipsJSON.pointer, ingress: ingressPointer)
                return hook.call(hook.plugin.instance, &request, &rewritten, &message)
            }
            switch answer {
            case Int32(GW_SKIP):
                continue
            case Int32(GW_OK):
                accepted = true
            case Int32(GW_REWRITE):
                guard let rewritten else {
                    hook.plugin.logInvalid(hook: "publish", "GW_REWRITE without rewritten_out")
                    hook.plugin.publishErrors.increment()
                    return .refused(Self.guardFailed(hook.plugin))
                }
                let replacement = JSON(owning: rewritten)
                guard replacement.view.isObject else {
                    hook.plugin.logInvalid(hook: "publish", "rewritten_out is not a JSON object")
                    hook.plugin.publishErrors.increment()
                    return .refused(Self.guardFailed(hook.plugin))
                }
                // A guard may change what an event says, never who sent it, where it goes or its id.
                for key in ["id", "source", "host", "target", "timestamp"] {
                    if let original = current.view[key].pointer {
                        replacement.set(key, JSON(owning: json_deep_copy(original)))
                    } else {
                        replacement.remove(key)
                    }
                }
                current = replacement
                accepted = true
            case Int32(GW_REJECT):
                let reason = PluginInstance.messageText(&message)
                let (code, status) = PluginInstance.refusalCode(&message)
                return .refused(GatewayError(
                    code: code ?? "event.refused",
                    message: reason.isEmpty ? "The event was refused by the '\(hook.plugin.entryName)' guard." : reason,
                    status: status ?? 403))
            default:
                if let rewritten { json_decref(rewritten) }
                hook.plugin.logFailure(hook: "publish", result: answer, message: &message)
                hook.plugin.publishErrors.increment()
                return .refused(Self.guardFailed(hook.plugin))
            }
        }
        return .passed(event: current, accepted: accepted)
    }

    private static func guardFailed(_ plugin: PluginInstance) -> GatewayError {
        GatewayError(code: "event.guard_failed",
                     message: "The '\(plugin.entryName)' publish guard failed; the event was not routed (see the gateway log).",
                     status: 500)
    }

    /// Tells every responder that `event` was routed. Blocking pool only.
    public func routed(_ event: JSONView) {
        for hook in routedHooks {
            hook.plugin.routedCalls.increment()
            var message = gw_message()
            let answer = hook.call(hook.plugin.instance, event.pointer, &message)
            if answer != Int32(GW_OK) && answer != Int32(GW_SKIP) {
                hook.plugin.logFailure(hook: "routed", result: answer, message: &message)
                hook.plugin.routedErrors.increment()
            }
        }
    }
}

// MARK: Queries (on_query): a plugin's own GET endpoints

typealias QueryFunction = @convention(c) (
    OpaquePointer?, UnsafePointer<CChar>?, UnsafePointer<json_t>?, UnsafePointer<json_t>?,
    UnsafeMutablePointer<UnsafeMutablePointer<json_t>?>?, UnsafeMutablePointer<gw_message>?
) -> gw_result

struct QueryHook {
    let plugin: PluginInstance
    let call: QueryFunction
}

/// What a plugin answered to GET /api/v1/plugins/<entry>/<path>.
public enum QueryAnswer {
    case answer(JSON)
    /// GW_SKIP: nothing at that path.
    case notFound
    case refused(GatewayError)
}

extension PluginChain {
    /// Asks the plugin of entry `entry`; nil when no plugin of that entry has the query capability.
    /// Blocking pool only.
    public func query(entry: String, path: String, caller: JSON, parameters: JSON) -> QueryAnswer? {
        guard let hook = queryHooks.first(where: { $0.plugin.entryName == entry }) else { return nil }
        hook.plugin.queryCalls.increment()
        var message = gw_message()
        var out: UnsafeMutablePointer<json_t>?
        let answer = path.withCString { hook.call(hook.plugin.instance, $0, caller.pointer, parameters.pointer, &out, &message) }
        switch answer {
        case Int32(GW_OK):
            guard let out else {
                hook.plugin.logInvalid(hook: "query", "GW_OK without answer_out")
                hook.plugin.queryErrors.increment()
                return .refused(Self.queryFailed(entry))
            }
            return .answer(JSON(owning: out))
        case Int32(GW_SKIP):
            if let out { json_decref(out) }
            return .notFound
        case Int32(GW_REJECT):
            if let out { json_decref(out) }
            let reason = PluginInstance.messageText(&message)
            let (code, status) = PluginInstance.refusalCode(&message)
            return .refused(GatewayError(code: code ?? "plugin.query_forbidden",
                                         message: reason.isEmpty ? "The '\(entry)' plugin refused this request." : reason,
                                         status: status ?? 403))
        default:
            if let out { json_decref(out) }
            hook.plugin.logFailure(hook: "query", result: answer, message: &message)
            hook.plugin.queryErrors.increment()
            return .refused(Self.queryFailed(entry))
        }
    }

    private static func queryFailed(_ entry: String) -> GatewayError {
        GatewayError(code: "plugin.query_failed", message: "The '\(entry)' plugin failed to answer (see the gateway log).", status: 500)
    }
}
