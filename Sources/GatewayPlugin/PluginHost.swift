// The host services table (gw_host_services) and this instance's context, wrapped for Swift.
import CGatewayPlugin

public enum LogLevel: Sendable {
    case trace, debug, info, notice, warning, error

    var cValue: gw_log_level {
        switch self {
        case .trace: return GW_LOG_TRACE
        case .debug: return GW_LOG_DEBUG
        case .info: return GW_LOG_INFO
        case .notice: return GW_LOG_NOTICE
        case .warning: return GW_LOG_WARNING
        case .error: return GW_LOG_ERROR
        }
    }
}

/// What the gateway offers one plugin instance. Valid from `init(config:host:)` until the
/// instance is destroyed; usable from any thread.
// @unchecked: `services` is the host's table, valid and read-only for the life of the process;
// its calls may be made from any thread (the header).
public struct PluginHost: @unchecked Sendable {
    let services: UnsafePointer<gw_host_services>
    let context: OpaquePointer?

    init(services: UnsafePointer<gw_host_services>, context: OpaquePointer?) {
        self.services = services
        self.context = context
    }

    /// Major and minor ABI version the host was built with.
    public var abiVersion: (major: UInt32, minor: UInt32) {
        (services.pointee.abi_major, services.pointee.abi_minor)
    }

    /// One log line through the gateway's logger, attributed to this instance.
    public func log(_ level: LogLevel, _ message: String) {
        guard let log = services.pointee.log else { return }
        message.withCString { log(context, level.cValue, $0) }
    }

    /// Memory whose ownership may pass to the host (thumbnail bytes). nil when out of memory.
    public func allocate(_ size: Int) -> UnsafeMutableRawPointer? {
        guard size > 0, let alloc = services.pointee.alloc else { return nil }
        return alloc(size)
    }

    /// Frees memory from `allocate(_:)` that the host did not take.
    public func free(_ pointer: UnsafeMutableRawPointer?) {
        services.pointee.free?(pointer)
    }
}
