// The ABI 1.3 host services a plugin calls (host->publish, host->set_member_state) need the
// running gateway: its pipeline and its rooms. The chain is built before the server that routes
// through it (start-up loads plugins first, so a bad plugin stops the start before a port
// opens), so the server attaches its services here once it is built. Until then — and in
// `gateway check` or `gateway messenger test`, where nothing runs — they answer 503
// `host.not_running`.
import Foundation
import GatewayJSON

/// What the running gateway does for plugins. Implemented by the server (GatewayServer).
public protocol PluginServices: Sendable {
    /// Queues `event` to be routed as published by the plugin entry `entry`; never blocks.
    func publish(_ event: JSON, from entry: String) throws(GatewayError)
    /// Sets a room member's state. Blocks (SQLite).
    func setMemberState(room: String, member: String, state: String) throws(GatewayError)
}

// @unchecked: `services` is written once (attach) and read by plugin threads, under `lock`.
public final class PluginServiceDesk: @unchecked Sendable {
    private let lock = NSLock()
    private var services: (any PluginServices)?

    public init() {}

    /// The server, once built; a later call replaces it (tests build several servers).
    public func attach(_ services: any PluginServices) {
        lock.lock()
        self.services = services
        lock.unlock()
    }

    func current() throws(GatewayError) -> any PluginServices {
        lock.lock()
        let services = self.services
        lock.unlock()
        guard let services else {
            throw GatewayError(code: "host.not_running", message: "No gateway is running in this process (check, inspect or a tool).", status: 503)
        }
        return services
    }
}
