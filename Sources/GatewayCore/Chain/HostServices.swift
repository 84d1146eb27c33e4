// The gw_host_services table handed to every plugin's create(): logging through swift-log with
// the instance's name as metadata, and malloc/free so thumbnail bytes can change owner.
import CGatewayPlugin
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

    init(entryName: String, baseLogger: Logger) {
        var logger = baseLogger
        logger[metadataKey: "plugin"] = .string(entryName)
        self.logger = logger
    }

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
            free: { pointer in free(pointer) }
        ))
        return ProcessLifetimePointer(table)
    }()

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
