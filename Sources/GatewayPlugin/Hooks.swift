// The C functions the descriptor points at. Each recovers the PluginInstance from the
// gw_instance pointer, calls the Swift plugin, and converts the answer to the header's rules:
// *_out values are NEW references, errors become GW_ERROR with "code: message" text.
import CGatewayPlugin
import CJansson

typealias CJSONOut = UnsafeMutablePointer<UnsafeMutablePointer<json_t>?>
typealias CMessagePointer = UnsafeMutablePointer<gw_message>

func result(_ code: Int) -> gw_result { gw_result(truncatingIfNeeded: code) }

func describe(_ error: any Error) -> String {
    (error as? PluginError)?.description ?? "plugin.failed: \(error)"
}

/// Hands one reference of `value` to the host: the JSON wrapper keeps (and later drops) its own.
private func handOver(_ value: JSON) -> UnsafeMutablePointer<json_t> {
    json_incref(value.pointer)
    return value.pointer
}

func createInstanceHook(
    _ services: UnsafePointer<gw_host_services>?, _ context: OpaquePointer?,
    _ config: UnsafePointer<json_t>?, _ error: CMessagePointer?
) -> OpaquePointer? {
    guard let type = exportedPluginType else {
        CMessage.write("plugin.not_exported: the entry function was not called before create()", to: error)
        return nil
    }
    guard let services else {
        CMessage.write("plugin.no_host_services: create() was called without host services", to: error)
        return nil
    }
    // The header promises {} when the entry has no config table; treat a NULL the same way.
    // The view borrows, so the empty object must stay alive until init has returned.
    let emptyConfig = JSON.object()
    return withExtendedLifetime(emptyConfig) { () -> OpaquePointer? in
        let configView = config.map { JSONView($0) } ?? emptyConfig.view
        guard configView.isObject else {
            CMessage.write("plugin.config_not_object: the plugin's config must be a table (JSON object)", to: error)
            return nil
        }
        let host = PluginHost(services: services, context: context)
        do throws(PluginConfigError) {
            let plugin = try type.init(config: configView, host: host)
            return PluginInstance(plugin: plugin, host: host).opaquePointer
        } catch let configError {
            CMessage.write(configError.description, to: error)
            return nil
        }
    }
}

func destroyInstanceHook(_ instance: OpaquePointer?) {
    PluginInstance.release(instance)
}

func targetsHook(
    _ instance: OpaquePointer?, _ event: UnsafePointer<json_t>?, _ targetsOut: CJSONOut?,
    _ message: CMessagePointer?
) -> gw_result {
    guard let plugin = PluginInstance.from(instance), let hook = plugin.targets else {
        CMessage.write("plugin.no_instance: on_targets called without a valid instance", to: message)
        return result(GW_ERROR)
    }
    do {
        guard let targets = try hook(JSONView(event)) else { return result(GW_SKIP) }
        guard let targetsOut else {
            CMessage.write("plugin.no_output: on_targets called with targets_out = NULL", to: message)
            return result(GW_ERROR)
        }
        guard let object = targets.makeNewReference() else {
            CMessage.write("plugin.out_of_memory: could not build the targets object", to: message)
            return result(GW_ERROR)
        }
        targetsOut.pointee = object
        return result(GW_OK)
    } catch {
        CMessage.write(describe(error), to: message)
        return result(GW_ERROR)
    }
}

func filterHook(
    _ instance: OpaquePointer?, _ event: UnsafePointer<json_t>?, _ recipient: UnsafePointer<json_t>?,
    _ redactedOut: CJSONOut?, _ message: CMessagePointer?
) -> gw_result {
    guard let plugin = PluginInstance.from(instance), let hook = plugin.filter else {
        CMessage.write("plugin.no_instance: on_filter called without a valid instance", to: message)
        return result(GW_ERROR)
    }
    do {
        switch try hook(JSONView(event), Recipient(JSONView(recipient))) {
        case .deliver:
            return result(GW_OK)
        case .drop:
            return result(GW_DROP)
        case .redact(let replacement):
            guard let redactedOut else {
                CMessage.write("plugin.no_output: on_filter called with redacted_out = NULL", to: message)
                return result(GW_ERROR)
            }
            redactedOut.pointee = handOver(replacement)
            return result(GW_REDACT)
        }
    } catch {
        CMessage.write(describe(error), to: message)
        return result(GW_ERROR)
    }
}

func filterEventHook(_ instance: OpaquePointer?, _ event: UnsafePointer<json_t>?, _ message: CMessagePointer?) -> gw_result {
    guard let plugin = PluginInstance.from(instance), let concerns = plugin.filterConcerns else {
        CMessage.write("plugin.no_instance: on_filter_event called without a valid instance", to: message)
        return result(GW_ERROR)
    }
    return result(concerns(JSONView(event)) ? GW_OK : GW_SKIP)
}

func validateAttachmentHook(
    _ instance: OpaquePointer?, _ metadata: UnsafePointer<json_t>?, _ bytes: UnsafePointer<UInt8>?,
    _ length: Int, _ message: CMessagePointer?
) -> gw_result {
    guard let plugin = PluginInstance.from(instance), let hook = plugin.validate else {
        CMessage.write("plugin.no_instance: on_validate_attachment called without a valid instance", to: message)
        return result(GW_ERROR)
    }
    // NULL bytes with a non-zero length would be a host bug; read it as "no bytes" rather than crash.
    let content = UnsafeRawBufferPointer(start: bytes.map(UnsafeRawPointer.init), count: bytes == nil ? 0 : length)
    do {
        switch try hook(Attachment(metadata: JSONView(metadata), bytes: content)) {
        case .accept:
            return result(GW_OK)
        case .skip:
            return result(GW_SKIP)
        case .reject(let reason):
            CMessage.write(reason, to: message)
            return result(GW_REJECT)
        case .refuse(let code, let status, let reason):
            CMessage.write(reason, code: code, status: status, host: plugin.host, to: message)
            return result(GW_REJECT)
        }
    } catch {
        CMessage.write(describe(error), to: message)
        return result(GW_ERROR)
    }
}

private func sendResult(_ answer: SendResult, host: PluginHost, message: CMessagePointer?) -> gw_result {
    switch answer {
    case .sent:
        return result(GW_OK)
    case .retryLater(let code, let reason):
        CMessage.write(reason, code: code, status: 0, host: host, to: message)
        return result(GW_RETRY)
    case .refused(let code, let reason):
        CMessage.write(reason, code: code, status: 0, host: host, to: message)
        return result(GW_REJECT)
    case .notImplemented:
        CMessage.write("plugin.no_send_test: this messenger has no test message", to: message)
        return result(GW_ERROR)
    }
}

func sendHook(_ instance: OpaquePointer?, _ delivery: UnsafePointer<gw_delivery>?, _ message: CMessagePointer?) -> gw_result {
    guard let plugin = PluginInstance.from(instance), let hook = plugin.send, let delivery else {
        CMessage.write("plugin.no_instance: on_send called without a valid instance or delivery", to: message)
        return result(GW_ERROR)
    }
    let d = delivery.pointee
    let value = Delivery(
        event: JSONView(d.event), recipient: JSONView(d.recipient),
        address: d.address.map { String(cString: $0) } ?? "", alias: d.alias.map { String(cString: $0) } ?? "",
        attempt: Int(d.attempt), deliveryID: d.delivery_id.map { String(cString: $0) } ?? "")
    do {
        return sendResult(try hook(value), host: plugin.host, message: message)
    } catch {
        CMessage.write(describe(error), to: message)
        return result(GW_ERROR)
    }
}

func sendTestHook(_ instance: OpaquePointer?, _ address: UnsafePointer<CChar>?, _ message: CMessagePointer?) -> gw_result {
    guard let plugin = PluginInstance.from(instance), let hook = plugin.sendTest else {
        CMessage.write("plugin.no_instance: on_send_test called without a valid instance", to: message)
        return result(GW_ERROR)
    }
    let target = address.map { String(cString: $0) } ?? ""
    do {
        let answer = try hook(target)
        if answer == .notImplemented, let send = plugin.send {
            let event = JSON.object()
            event.set("id", .integer(0))
            event.set("category", "gateway.test")
            event.set("title", "Chat Gateway test message")
            let recipient = JSON.object()
            recipient.set("id", "test")
            let synthetic = Delivery(event: event.view, recipient: recipient.view, address: target,
                                     alias: "test", attempt: 1, deliveryID: "test")
            return withExtendedLifetime((event, recipient)) {
                do { return sendResult(try send(synthetic), host: plugin.host, message: message) } catch {
                    CMessage.write(describe(error), to: message)
                    return result(GW_ERROR)
                }
            }
        }
        return sendResult(answer, host: plugin.host, message: message)
    } catch {
        CMessage.write(describe(error), to: message)
        return result(GW_ERROR)
    }
}
