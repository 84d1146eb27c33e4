// Loads a REAL bundled plugin (.so built next to the test executable) with dlopen, exactly as
// the host does, and calls it through its descriptor.
import CGatewayPlugin
import CJansson
import Foundation
import GatewayJSON
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

struct PluginLoadError: Error, CustomStringConvertible {
    let description: String
}

/// The folder holding the test executable: SwiftPM puts the plugin products there too.
func builtProductsFolder() -> URL {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    let path = count > 0 ? String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                         : CommandLine.arguments[0]
    return URL(fileURLWithPath: path).deletingLastPathComponent()
}

// @unchecked: `descriptor` points at the plugin's static, read-only descriptor (the header: it lives as long as the process).
struct LoadedCPlugin: @unchecked Sendable {
    let path: String
    let descriptor: UnsafePointer<gw_plugin_descriptor>

    /// Opens lib<product>.so the way the host does (never closed).
    static func load(product: String) throws -> LoadedCPlugin {
        let path = builtProductsFolder().appendingPathComponent("lib\(product).so").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw PluginLoadError(description: "\(path) does not exist: build the '\(product)' product "
                + "(swift build --build-tests builds it) before running these tests")
        }
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            throw PluginLoadError(description: "dlopen(\(path)) failed: \(String(cString: dlerror()))")
        }
        guard let symbol = dlsym(handle, GW_PLUGIN_ENTRY_SYMBOL) else {
            throw PluginLoadError(description: "\(path) does not export \(GW_PLUGIN_ENTRY_SYMBOL)")
        }
        let entry = unsafeBitCast(symbol, to: gw_plugin_entry_fn.self)
        guard let descriptor = entry() else {
            throw PluginLoadError(description: "\(path): the entry function returned NULL")
        }
        return LoadedCPlugin(path: path, descriptor: descriptor)
    }

    var name: String { String(cString: descriptor.pointee.name) }

    /// create() with a JSON config; returns the instance or the plugin's error text.
    func create(config json: String, context: UInt = 0xC0FFEE) throws -> Result<CPluginInstance, CreateRefusal> {
        let config = try JSON.parse(json)
        var error = gw_message()
        let contextPointer = OpaquePointer(bitPattern: context)
        guard let instance = descriptor.pointee.create(CTestHost.services, contextPointer, config.pointer, &error) else {
            return .failure(CreateRefusal(message: error.string))
        }
        return .success(CPluginInstance(descriptor: descriptor, instance: instance))
    }

    /// create() that must succeed.
    func instance(config json: String = "{}") throws -> CPluginInstance {
        switch try create(config: json) {
        case .success(let instance): return instance
        case .failure(let refusal): throw PluginLoadError(description: "create refused: \(refusal.message)")
        }
    }
}

struct CreateRefusal: Error { let message: String }

/// One instance; destroy() must be called once no hook is running.
// @unchecked: `instance` is the plugin's; its hooks may be called from any thread (the header's Threading section).
struct CPluginInstance: @unchecked Sendable {
    let descriptor: UnsafePointer<gw_plugin_descriptor>
    let instance: OpaquePointer

    func destroy() { descriptor.pointee.destroy(instance) }
}

extension gw_message {
    var string: String {
        withUnsafeBytes(of: text) { raw in String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self) }
    }
}

/// Host services for the tests: log lines are recorded; alloc/free are plain malloc/free.
final class CTestHost: Sendable {
    struct LogLine: Sendable {
        let context: UInt
        let level: gw_log_level
        let text: String
    }

    static let shared = CTestHost()
    private let lines = Mutex<[LogLine]>([])

    /// The table every plugin instance keeps a pointer to: allocated once, never freed.
    static var services: UnsafeMutablePointer<gw_host_services> { servicesTable.pointer }

    private static let servicesTable = HostServicesTable()
}

/// The host-services table, at a fixed address for the life of the process.
// @unchecked: written once in init, before any plugin sees it, then only read (by plugins, from any thread).
private final class HostServicesTable: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<gw_host_services> = {
        let services = UnsafeMutablePointer<gw_host_services>.allocate(capacity: 1)
        services.initialize(to: gw_host_services(
            struct_size: MemoryLayout<gw_host_services>.size,
            abi_major: UInt32(GW_PLUGIN_ABI_MAJOR),
            abi_minor: UInt32(GW_PLUGIN_ABI_MINOR),
            log: { context, level, message in
                let text = message.map { String(cString: $0) } ?? ""
                CTestHost.shared.record(CTestHost.LogLine(context: UInt(bitPattern: context.map { Int(bitPattern: $0) } ?? 0),
                                                level: level, text: text))
            },
            alloc: { size in malloc(size) },
            free: { pointer in Glibc.free(pointer) },
            publish: nil, set_member_state: nil,  // the 1.3 services: no gateway runs here
            // A static string: NUL-terminated and valid for the life of the process.
            config_directory: { _ in
                UnsafeRawPointer(("/srv/gateway" as StaticString).utf8Start).assumingMemoryBound(to: CChar.self)
            }
        ))
        return services
    }()
}

extension CTestHost {
    fileprivate func record(_ line: LogLine) { lines.withLock { $0.append(line) } }

    func logLines(containing needle: String) -> [LogLine] {
        lines.withLock { $0.filter { $0.text.contains(needle) } }
    }
}
