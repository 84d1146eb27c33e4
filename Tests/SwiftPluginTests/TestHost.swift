// A gw_host_services table provided by the test: log lines land in an array per host, so a
// test can assert what a plugin logged; alloc/free count outstanding buffers.
import CGatewayPlugin
import Foundation

// @unchecked: `lines` is guarded by `lock`; the `services` table is written in init only.
final class TestHost: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [(level: gw_log_level, text: String)] = []
    let services: UnsafeMutablePointer<gw_host_services>
    /// What config_directory() answers; nil makes this a 1.3 host, whose table ends before it.
    private let configDirectory: UnsafeMutablePointer<CChar>?

    init(configDirectory: String? = "/srv/gateway") {
        self.configDirectory = configDirectory.map { strdup($0) }
        services = .allocate(capacity: 1)
        let size = configDirectory == nil
            ? MemoryLayout<gw_host_services>.offset(of: \.config_directory)! : MemoryLayout<gw_host_services>.size
        services.initialize(to: gw_host_services(
            struct_size: size,
            abi_major: UInt32(GW_PLUGIN_ABI_MAJOR), abi_minor: UInt32(configDirectory == nil ? 3 : GW_PLUGIN_ABI_MINOR),
            log: { context, level, message in
                guard let context, let message else { return }
                let host = Unmanaged<TestHost>.fromOpaque(UnsafeRawPointer(context)).takeUnretainedValue()
                host.append(level, String(cString: message))
            },
            alloc: { size in malloc(size) },
            free: { pointer in Foundation.free(pointer) },
            publish: nil, set_member_state: nil,  // the 1.3 services: no gateway runs here
            config_directory: { context in
                guard let context else { return nil }
                let host = Unmanaged<TestHost>.fromOpaque(UnsafeRawPointer(context)).takeUnretainedValue()
                return UnsafePointer(host.configDirectory)
            }))
    }

    deinit {
        services.deallocate()
        free(configDirectory)
    }

    /// The context pointer handed to create(): this object, so log lines find their way back.
    var context: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }

    private func append(_ level: gw_log_level, _ text: String) {
        lock.lock()
        lines.append((level, text))
        lock.unlock()
    }

    var logLines: [(level: gw_log_level, text: String)] {
        lock.lock()
        defer { lock.unlock() }
        return lines
    }
}
