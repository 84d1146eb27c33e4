// The C functions behind the ABI 1.3 hooks (on_publish, on_routed), as Hooks.swift does for the
// older ones: recover the instance, call the Swift plugin, convert its answer.
import CGatewayPlugin
import CJansson

func publishHook(
    _ instance: OpaquePointer?, _ request: UnsafePointer<gw_publish_request>?, _ rewrittenOut: CJSONOut?,
    _ message: CMessagePointer?
) -> gw_result {
    guard let plugin = PluginInstance.from(instance), let hook = plugin.guardPublish, let request else {
        CMessage.write("plugin.no_instance: on_publish called without a valid instance or request", to: message)
        return result(GW_ERROR)
    }
    let r = request.pointee
    let value = PublishRequest(
        event: JSONView(r.event), publisher: JSONView(r.publisher),
        memberships: JSONView(r.memberships).elements.compactMap(Membership.init),
        ingress: r.ingress.map { String(cString: $0) } ?? "")
    do {
        switch try hook(value) {
        case .skip:
            return result(GW_SKIP)
        case .accept:
            return result(GW_OK)
        case .rewrite(let replacement):
            guard let rewrittenOut, replacement.view.isObject else {
                CMessage.write("plugin.bad_rewrite: a rewrite must be a JSON object", to: message)
                return result(GW_ERROR)
            }
            json_incref(replacement.pointer)
            rewrittenOut.pointee = replacement.pointer
            return result(GW_REWRITE)
        case .refuse(let code, let status, let reason):
            CMessage.write(reason, code: code, status: status, host: plugin.host, to: message)
            return result(GW_REJECT)
        }
    } catch {
        CMessage.write(describe(error), to: message)
        return result(GW_ERROR)
    }
}

func routedHook(_ instance: OpaquePointer?, _ event: UnsafePointer<json_t>?, _ message: CMessagePointer?) -> gw_result {
    guard let plugin = PluginInstance.from(instance), let hook = plugin.routed else {
        CMessage.write("plugin.no_instance: on_routed called without a valid instance", to: message)
        return result(GW_ERROR)
    }
    do {
        try hook(JSONView(event))
        return result(GW_OK)
    } catch {
        CMessage.write(describe(error), to: message)
        return result(GW_ERROR)
    }
}

func queryHook(
    _ instance: OpaquePointer?, _ path: UnsafePointer<CChar>?, _ caller: UnsafePointer<json_t>?,
    _ query: UnsafePointer<json_t>?, _ answerOut: CJSONOut?, _ message: CMessagePointer?
) -> gw_result {
    guard let plugin = PluginInstance.from(instance), let hook = plugin.query, let answerOut else {
        CMessage.write("plugin.no_instance: on_query called without a valid instance or answer_out", to: message)
        return result(GW_ERROR)
    }
    var parameters: [String: String] = [:]
    for (key, value) in JSONView(query).members { if let text = value.string { parameters[key] = text } }
    do {
        switch try hook(path.map { String(cString: $0) } ?? "", QueryCaller(JSONView(caller)), parameters) {
        case .answer(let body):
            json_incref(body.pointer)
            answerOut.pointee = body.pointer
            return result(GW_OK)
        case .notFound:
            return result(GW_SKIP)
        case .refuse(let code, let status, let reason):
            CMessage.write(reason, code: code, status: status, host: plugin.host, to: message)
            return result(GW_REJECT)
        }
    } catch {
        CMessage.write(describe(error), to: message)
        return result(GW_ERROR)
    }
}
