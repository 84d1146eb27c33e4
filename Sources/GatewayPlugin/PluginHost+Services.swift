// The ABI 1.3 host services: publishing as the plugin (a bot) and changing a room member's state.
import CGatewayPlugin
import CJansson

/// Why a host service refused.
public struct HostServiceError: Error, CustomStringConvertible, Sendable, Equatable {
    /// "host.too_old" when the gateway predates ABI 1.3, else what the host wrote.
    public let code: String
    public let message: String

    public var description: String { "\(code): \(message)" }
}

extension PluginHost {
    /// True when the host offers the 1.3 services (publish, setMemberState).
    public var offersResponderServices: Bool {
        // Not struct_size >= the whole table: a 1.3 host's table ends before the 1.4 fields.
        services.pointee.abi_major == 1 && services.pointee.abi_minor >= 3 && covers(\.set_member_state)
    }

    /// Publishes `event` as this plugin: copied and queued, routed later on the gateway's
    /// blocking pool (never an event loop). Returns at once; any thread. `source` is kept when
    /// it is an object with an "id", else it becomes this entry's name.
    public func publish(_ event: JSON) throws(HostServiceError) {
        guard offersResponderServices, let publish = services.pointee.publish else {
            throw HostServiceError(code: "host.too_old", message: "this gateway's ABI has no publish service (needs 1.3)")
        }
        var message = gw_message()
        let answer = publish(context, event.pointer, &message)
        if answer != gw_result(GW_OK) { throw Self.failure(&message, fallback: "host.publish_refused") }
    }

    /// Sets a room member's state ("open", "closed", "scripted"). BLOCKS (the gateway's store):
    /// call it from `routed`, from a guard with `guardMayBlock`, or from your own thread.
    public func setMemberState(room: String, member: String, state: String) throws(HostServiceError) {
        guard offersResponderServices, let set = services.pointee.set_member_state else {
            throw HostServiceError(code: "host.too_old", message: "this gateway's ABI has no set_member_state service (needs 1.3)")
        }
        var message = gw_message()
        let answer = room.withCString { room in
            member.withCString { member in state.withCString { state in set(context, room, member, state, &message) } }
        }
        if answer != gw_result(GW_OK) { throw Self.failure(&message, fallback: "host.member_state_refused") }
    }

    private static func failure(_ message: inout gw_message, fallback: String) -> HostServiceError {
        let text = withUnsafeBytes(of: &message.text) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        let code = withUnsafeBytes(of: &message.code) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        return HostServiceError(code: code.isEmpty ? fallback : code, message: text)
    }
}
