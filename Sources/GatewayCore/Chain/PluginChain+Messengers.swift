// The messenger hooks (ABI 1.2): one event to one recipient's address, outside the WebSocket.
// They block on the network, so the caller runs them on a blocking-work pool, never on an
// event loop (the header promises it).
import CGatewayPlugin
import CJansson
import GatewayJSON

typealias SendFunction = @convention(c) (
    OpaquePointer?, UnsafePointer<gw_delivery>?, UnsafeMutablePointer<gw_message>?
) -> gw_result
typealias SendTestFunction = @convention(c) (
    OpaquePointer?, UnsafePointer<CChar>?, UnsafeMutablePointer<gw_message>?
) -> gw_result

struct MessengerHook {
    let plugin: PluginInstance
    let send: SendFunction
    /// Optional; nil: a test goes through `send` with a synthetic event.
    let sendTest: SendTestFunction?
}

/// What a messenger said about one delivery.
public enum SendOutcome: Sendable, Equatable {
    case sent
    /// Temporary: try again later (GW_RETRY, or GW_ERROR, which is also counted as a plugin error).
    case retryLater(code: String, reason: String)
    /// Permanent: never retry (GW_REJECT: a bad address, a permanent server refusal).
    case refused(code: String, reason: String)
    /// No messenger with this alias in the running chain (removed by a reload).
    case unknownMessenger
}

extension PluginChain {
    public func hasMessenger(_ alias: String) -> Bool {
        messengerHooks.contains { $0.plugin.entryName == alias }
    }

    /// One delivery. `deliveryID` stays the same on every retry and after a restart.
    public func send(alias: String, event: JSONView, recipient: JSONView, address: String,
                     attempt: Int, deliveryID: String) -> SendOutcome {
        guard let hook = messengerHooks.first(where: { $0.plugin.entryName == alias }) else { return .unknownMessenger }
        return address.withCString { addressPointer in
            alias.withCString { aliasPointer in
                deliveryID.withCString { idPointer in
                    var delivery = gw_delivery(
                        struct_size: MemoryLayout<gw_delivery>.size, event: event.pointer,
                        recipient: recipient.pointer, address: addressPointer, alias: aliasPointer,
                        attempt: UInt32(clamping: attempt), delivery_id: idPointer)
                    var message = gw_message()
                    let result = hook.send(hook.plugin.instance, &delivery, &message)
                    return Self.outcome(result, message: &message, plugin: hook.plugin, hook: "send")
                }
            }
        }
    }

    /// `gateway messenger test ALIAS ADDRESS`: on_send_test, or on_send with a test event.
    public func sendTest(alias: String, address: String) -> SendOutcome {
        guard let hook = messengerHooks.first(where: { $0.plugin.entryName == alias }) else { return .unknownMessenger }
        if let sendTest = hook.sendTest {
            var message = gw_message()
            let result = address.withCString { sendTest(hook.plugin.instance, $0, &message) }
            return Self.outcome(result, message: &message, plugin: hook.plugin, hook: "send_test")
        }
        let event = JSON.object()
        event.set("id", .integer(0))
        event.set("category", "gateway.test")
        event.set("title", "Chat Gateway test message")
        event.set("message", "This is a test message from the gateway's '\(alias)' messenger.")
        let recipient = JSON.object()
        recipient.set("id", "test")
        recipient.set("principals", JSON.strings(["test"]))
        return send(alias: alias, event: event.view, recipient: recipient.view, address: address,
                    attempt: 1, deliveryID: "test")
    }

    private static func outcome(_ result: gw_result, message: inout gw_message, plugin: PluginInstance,
                                hook: String) -> SendOutcome {
        let reason = PluginInstance.messageText(&message)
        let code = PluginInstance.refusalCode(&message).code
        switch result {
        case Int32(GW_OK):
            return .sent
        case Int32(GW_REJECT):
            return .refused(code: code ?? "messenger.refused", reason: reason.isEmpty ? "refused by the messenger" : reason)
        case Int32(GW_RETRY):
            return .retryLater(code: code ?? "messenger.retry", reason: reason.isEmpty ? "the messenger asked to retry later" : reason)
        default:
            plugin.logFailure(hook: hook, result: result, message: &message)
            plugin.sendErrors.increment()
            return .retryLater(code: code ?? "messenger.failed", reason: reason.isEmpty ? "the messenger failed" : reason)
        }
    }
}
