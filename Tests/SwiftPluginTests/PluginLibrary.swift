// Loads a REAL built plugin shared object the way the gateway does, and drives its C hooks.
import CGatewayPlugin
import CJansson
import GatewayJSON
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The folder holding the test executable; SwiftPM puts the plugin .so files next to it.
func buildProductsFolder() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    let executable = length > 0 ? String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                                : CommandLine.arguments[0]
    // The test binary may sit inside a bundle folder (…/debug/X.xctest/…) on some platforms;
    // on Linux it is …/debug/ChatGatewayPackageTests.xctest itself.
    var folder = String(executable[..<(executable.lastIndex(of: "/") ?? executable.endIndex)])
    while folder.contains(".xctest") { folder = String(folder[..<(folder.lastIndex(of: "/") ?? folder.endIndex)]) }
    return folder
}

struct PluginLibrary {
    let path: String
    let descriptor: UnsafePointer<gw_plugin_descriptor>
    let entry: gw_plugin_entry_fn

    /// dlopen with the host's flags and fetch the descriptor; fails the test with a clear message.
    static func load(_ product: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> PluginLibrary {
        let path = "\(buildProductsFolder())/lib\(product).so"
        try #require(access(path, R_OK) == 0,
                     "missing \(path): build the plugin products first (swift build --build-tests builds them)",
                     sourceLocation: sourceLocation)
        let handle = try #require(dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE),
                                  "dlopen(\(path)) failed: \(String(cString: dlerror()))", sourceLocation: sourceLocation)
        let symbol = try #require(dlsym(handle, GW_PLUGIN_ENTRY_SYMBOL), "\(path) exports no \(GW_PLUGIN_ENTRY_SYMBOL)",
                                  sourceLocation: sourceLocation)
        let entry = unsafeBitCast(symbol, to: gw_plugin_entry_fn.self)
        let descriptor = try #require(entry(), "\(path): entry returned NULL", sourceLocation: sourceLocation)
        return PluginLibrary(path: path, descriptor: descriptor, entry: entry)
    }

    var name: String { String(cString: descriptor.pointee.name) }
    var version: String { String(cString: descriptor.pointee.version) }
    var capabilities: UInt64 { descriptor.pointee.capabilities }

    var categories: [String]? {
        guard var cursor = descriptor.pointee.categories else { return nil }
        var result: [String] = []
        while let category = cursor.pointee {
            result.append(String(cString: category))
            cursor += 1
        }
        return result
    }

    /// create() with a JSON config given as text: the instance, or the plugin's error message.
    func create(_ configText: String, host: TestHost) throws -> Result<PluginInstanceHandle, CreateFailure> {
        let config = try JSON.parse(configText)
        var message = gw_message()
        let instance = descriptor.pointee.create!(host.services, host.context, config.pointer, &message)
        guard let instance else { return .failure(CreateFailure(message: text(of: &message))) }
        return .success(PluginInstanceHandle(library: self, instance: instance, host: host))
    }

    /// create() that must succeed.
    func instance(_ configText: String, host: TestHost,
                  sourceLocation: SourceLocation = #_sourceLocation) throws -> PluginInstanceHandle {
        switch try create(configText, host: host) {
        case .success(let handle): return handle
        case .failure(let failure):
            Issue.record("create(\(configText)) failed: \(failure.message)", sourceLocation: sourceLocation)
            throw failure
        }
    }

    /// create() that must fail; returns the message.
    func createError(_ configText: String, host: TestHost,
                     sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        switch try create(configText, host: host) {
        case .success(let handle):
            handle.destroy()
            Issue.record("create(\(configText)) unexpectedly succeeded", sourceLocation: sourceLocation)
            return ""
        case .failure(let failure): return failure.message
        }
    }
}

struct CreateFailure: Error { let message: String }

func text(of message: inout gw_message) -> String {
    withUnsafeBytes(of: &message.text) { raw in
        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
    }
}
