// The gw_host_services table handed to every plugin's create(): logging through swift-log with
// the instance's name as metadata, malloc/free so thumbnail bytes can change owner, and (ABI
// 1.3) publish / set_member_state through the running gateway (PluginServiceDesk), and (ABI 1.4)
// the folder of the config file that named the instance.
import CGatewayPlugin
import CJansson
import GatewayJSON
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a gw_host_context pointer stands for: one plugin instance (one [[plugins]] entry).
/// Kept alive (retained) from create() until destroy() returns, as the header promises.
final class PluginHostContext: Sendable {
    let logger: Logger
    let entryName: String
    let services: PluginServiceDesk
    /// config_directory()'s answer, a C string the plugin may keep until destroy() returns.
    /// Written once here, freed in deinit, never mutated: safe to read from any thread.
    nonisolated(unsafe) let configDirectory: UnsafeMutablePointer<CChar>

    /// `configDirectory`: absolute (PluginHost.makeChain makes it so).
    init(entryName: String, baseLogger: Logger, services: PluginServiceDesk, configDirectory: String) {
        var logger = baseLogger
        logger[metadataKey: "plugin"] = .string(entryName)
        self.logger = logger
        self.entryName = entryName
        self.services = services
        self.configDirectory = strdup(configDirectory)
    }

    deinit { free(configDirectory) }

    /// Hands out a +1 reference as the opaque C token; `release(_:)` balances it.
    func retainedToken() -> OpaquePointer {
        OpaquePointer(Unmanaged.passRetained(self).toOpaque())
    }

    static func release(_ token: OpaquePointer) {
        Unmanaged<PluginHostContext>.fromOpaque(UnsafeRawPointer(token)).release()
    }

    static func borrow(_ token: OpaquePointer) -> PluginHostContext {
        Unmanaged<PluginHostContext>.fromOpaque(UnsafeRawPointer(token)).takeUnretainedValue()
    }
}

enum HostServices {
    /// One table for the life of the process (the header says it stays valid that long).
    static var table: UnsafePointer<gw_host_services> { storage.pointer }

    private static let storage: ProcessLifetimePointer<gw_host_services> = {
        let table = UnsafeMutablePointer<gw_host_services>.allocate(capacity: 1)
        table.initialize(to: gw_host_services(
            struct_size: MemoryLayout<gw_host_services>.size,
            abi_major: UInt32(GW_PLUGIN_ABI_MAJOR),
            abi_minor: UInt32(GW_PLUGIN_ABI_MINOR),
            log: { context, level, message in
                guard let context, let message else { return }
                let logger = PluginHostContext.borrow(context).logger
                logger.log(level: HostServices.loggerLevel(level), "\(String(cString: message))")
            },
            alloc: { size in malloc(size) },
            free: { pointer in free(pointer) },
            publish: { context, event, message in
                guard let context, let event, JSONView(event).isObject else {
                    HostServices.write(code: "host.bad_event", "publish() needs a JSON object", to: message)
                    return gw_result(GW_REJECT)
                }
                let plugin = PluginHostContext.borrow(context)
                // Copied: the plugin keeps its value, the event crosses to the blocking pool.
                let copy = JSON(owning: json_deep_copy(event))
                return HostServices.answer(message) { () throws(GatewayError) in
                    try plugin.services.current().publish(copy, from: plugin.entryName)
                }
            },
            set_member_state: { context, room, member, state, message in
                guard let context, let room, let member, let state else {
                    HostServices.write(code: "host.bad_request", "set_member_state() needs a room, a member and a state", to: message)
                    return gw_result(GW_REJECT)
                }
                let plugin = PluginHostContext.borrow(context)
                let (roomId, memberId, stateName) = (String(cString: room), String(cString: member), String(cString: state))
                return HostServices.answer(message) { () throws(GatewayError) in
                    try plugin.services.current().setMemberState(room: roomId, member: memberId, state: stateName)
                }
            },
            config_directory: { context in
                guard let context else { return nil }
                return UnsafePointer(PluginHostContext.borrow(context).configDirectory)
            }
        ))
        return ProcessLifetimePointer(table)
    }()

    /// GW_OK, or the refusal written into `message`: GW_ERROR for a server-side failure (5xx),
    /// GW_REJECT for what the plugin asked wrongly.
    private static func answer(_ message: UnsafeMutablePointer<gw_message>?,
                               _ body: () throws(GatewayError) -> Void) -> gw_result {
        do throws(GatewayError) {
            try body()
            return gw_result(GW_OK)
        } catch {
            write(code: error.code, error.message, to: message)
            return gw_result(error.status >= 500 ? GW_ERROR : GW_REJECT)
        }
    }

    /// A coded answer into a plugin's gw_message (truncated, NUL-terminated, as the header says).
    static func write(code: String, _ text: String, to message: UnsafeMutablePointer<gw_message>?) {
        guard let message else { return }
        func copy(_ string: String, into buffer: UnsafeMutableRawBufferPointer) {
            var bytes = Array(string.utf8.prefix(buffer.count - 1))
            while let last = bytes.last, last & 0xC0 == 0x80 { bytes.removeLast() }  // never split a UTF-8 sequence
            if let last = bytes.last, last >= 0xC0 { bytes.removeLast() }
            buffer.copyBytes(from: bytes)
            buffer[bytes.count] = 0
        }
        withUnsafeMutableBytes(of: &message.pointee.text) { copy(text, into: $0) }
        withUnsafeMutableBytes(of: &message.pointee.code) { copy(code, into: $0) }
    }

    static func loggerLevel(_ level: gw_log_level) -> Logger.Level {
        switch level {
        case GW_LOG_TRACE: return .trace
        case GW_LOG_DEBUG: return .debug
        case GW_LOG_INFO: return .info
        case GW_LOG_NOTICE: return .notice
        case GW_LOG_WARNING: return .warning
        case GW_LOG_ERROR: return .error
        default: return .info  // an unknown level from a newer plugin still gets logged
        }
    }
}
