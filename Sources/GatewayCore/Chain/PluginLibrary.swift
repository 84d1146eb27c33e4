// Opens a plugin shared object and validates its descriptor against ABI 1.0.
//
// Opened with RTLD_NOW (missing symbols fail now, not mid-event), RTLD_LOCAL (plugins do not see
// each other's symbols) and RTLD_NODELETE; never dlclose()d, because Swift images must stay mapped
// for the life of the process. One shared object may back several instances, so the validated
// descriptor is cached per real path.
import CGatewayPlugin
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

typealias DescriptorPointer = UnsafePointer<gw_plugin_descriptor>

/// A validated descriptor of an opened shared object. The descriptor is static in the plugin.
struct PluginLibrary: @unchecked Sendable {
    let path: String
    let descriptor: DescriptorPointer
    let info: PluginInfo
}

enum PluginLibraryLoader {
    /// sizeof the ABI 1.0 descriptor (GW_PLUGIN_DESCRIPTOR_V1_0_SIZE: the macro uses offsetof
    /// and does not import into Swift).
    static let descriptorV1_0Size =
        MemoryLayout<gw_plugin_descriptor>.offset(of: \gw_plugin_descriptor.on_thumbnail)!
        + MemoryLayout<UnsafeRawPointer>.size

    /// struct_size must cover at least struct_size, abi_major and abi_minor before we read them.
    private static let versionFieldsSize = MemoryLayout<Int>.size + 2 * MemoryLayout<UInt32>.size

    private static let cacheLock = NSLock()
    nonisolated(unsafe) private static var descriptorByRealPath: [String: DescriptorPointer] = [:]

    /// Opens `path` (must contain a slash or be absolute; resolved by the caller) and validates it.
    /// `entryName` only decorates errors.
    static func load(path: String, entryName: String?) -> Result<PluginLibrary, PluginLoadError> {
        func failure(_ code: String, _ file: String, _ message: String) -> Result<PluginLibrary, PluginLoadError> {
            .failure(PluginLoadError(code: code, file: file, plugin: entryName, message: message))
        }

        var status = stat()
        guard stat(path, &status) == 0 else {
            return failure(PluginLoadError.Code.fileMissing, path,
                           "\(path): no such plugin file (check `library` and `plugin_directory` in gateway.conf)")
        }
        guard (status.st_mode & S_IFMT) == S_IFREG, let realPath = realPath(of: path) else {
            return failure(PluginLoadError.Code.notSharedObject, path, "\(path): not a regular file, so not a shared object")
        }

        let descriptor: DescriptorPointer
        switch openDescriptor(realPath: realPath) {
        case .success(let pointer): descriptor = pointer
        case .failure(let error):
            return failure(error.code, realPath, error.message)
        }
        switch validate(descriptor, path: realPath) {
        case .success(let info): return .success(PluginLibrary(path: realPath, descriptor: descriptor, info: info))
        case .failure(let error): return failure(error.code, realPath, error.message)
        }
    }

    private struct OpenFailure: Error { let code: String; let message: String }

    private static func openDescriptor(realPath: String) -> Result<DescriptorPointer, OpenFailure> {
        cacheLock.lock()
        defer { cacheLock.unlock() }
        if let cached = descriptorByRealPath[realPath] { return .success(cached) }

        _ = dlerror()  // clear a stale error so the text we report is this call's
        guard let handle = dlopen(realPath, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            let reason = dlerror().map { String(cString: $0) } ?? "dlopen failed"
            return .failure(OpenFailure(code: PluginLoadError.Code.notSharedObject,
                                        message: "\(realPath): cannot be loaded as a shared object: \(reason)"))
        }
        guard let symbol = dlsym(handle, GW_PLUGIN_ENTRY_SYMBOL) else {
            return .failure(OpenFailure(code: PluginLoadError.Code.entryMissing,
                                        message: "\(realPath): does not export the entry symbol '\(GW_PLUGIN_ENTRY_SYMBOL)' (is it a gateway plugin? was it built with GW_PLUGIN_EXPORT?)"))
        }
        let entry = unsafeBitCast(symbol, to: gw_plugin_entry_fn.self)
        guard let descriptor = entry() else {
            return .failure(OpenFailure(code: PluginLoadError.Code.invalidDescriptor,
                                        message: "\(realPath): \(GW_PLUGIN_ENTRY_SYMBOL)() returned NULL instead of a descriptor"))
        }
        descriptorByRealPath[realPath] = descriptor
        return .success(descriptor)
    }

    private static func validate(_ descriptor: DescriptorPointer, path: String) -> Result<PluginInfo, OpenFailure> {
        func refuse(_ code: String, _ message: String) -> Result<PluginInfo, OpenFailure> {
            .failure(OpenFailure(code: code, message: "\(path): \(message)"))
        }
        // Read the leading fields with raw loads: until struct_size is checked we may not read
        // the struct as a whole (a short one could end at a page boundary).
        let raw = UnsafeRawPointer(descriptor)
        let structSize = raw.load(as: Int.self)
        guard structSize >= versionFieldsSize else {
            return refuse(PluginLoadError.Code.descriptorTooSmall,
                          "descriptor struct_size \(structSize) is too small to hold an ABI version (ABI \(GW_PLUGIN_ABI_MAJOR).\(GW_PLUGIN_ABI_MINOR) needs \(descriptorV1_0Size) bytes)")
        }
        let abiMajor = raw.load(fromByteOffset: MemoryLayout<Int>.size, as: UInt32.self)
        let abiMinor = raw.load(fromByteOffset: MemoryLayout<Int>.size + 4, as: UInt32.self)
        guard abiMajor == UInt32(GW_PLUGIN_ABI_MAJOR) else {
            return refuse(PluginLoadError.Code.abiMajorMismatch,
                          "plugin ABI \(abiMajor).\(abiMinor) is incompatible with this gateway's ABI \(GW_PLUGIN_ABI_MAJOR).\(GW_PLUGIN_ABI_MINOR) (major versions must match; rebuild the plugin against this gateway's gateway_plugin.h)")
        }
        guard structSize >= descriptorV1_0Size else {
            return refuse(PluginLoadError.Code.descriptorTooSmall,
                          "descriptor struct_size \(structSize) is smaller than the ABI 1.0 descriptor (\(descriptorV1_0Size) bytes)")
        }
        let d = PluginChain.readDescriptor(descriptor)
        guard let name = d.name, let version = d.version else {
            return refuse(PluginLoadError.Code.invalidDescriptor, "descriptor has a NULL name or version")
        }
        let pluginName = String(cString: name)
        guard d.create != nil, d.destroy != nil else {
            return refuse(PluginLoadError.Code.invalidDescriptor,
                          "plugin '\(pluginName)' has a NULL \(d.create == nil ? "create" : "destroy") function")
        }
        let capabilities = UInt64(d.capabilities)
        let unknownBits = capabilities & ~PluginCapability.allV1_0
        guard unknownBits == 0 else {
            return refuse(PluginLoadError.Code.unknownCapability,
                          "plugin '\(pluginName)' declares capability bits 0x\(String(unknownBits, radix: 16)) that ABI \(GW_PLUGIN_ABI_MAJOR).\(GW_PLUGIN_ABI_MINOR) does not define")
        }
        let hookPresent: [(bit: UInt64, present: Bool, hook: String)] = [
            (PluginCapability.categoryTargets, d.on_targets != nil, "on_targets"),
            (PluginCapability.recipientFilter, d.on_filter != nil, "on_filter"),
            (PluginCapability.attachmentValidation, d.on_validate_attachment != nil, "on_validate_attachment"),
            (PluginCapability.thumbnail, d.on_thumbnail != nil, "on_thumbnail"),
        ]
        for entry in hookPresent where capabilities & entry.bit != 0 && !entry.present {
            let capability = PluginCapability.names(entry.bit)[0]
            return refuse(PluginLoadError.Code.capabilityHookMissing,
                          "plugin '\(pluginName)' declares capability \(capability) but its \(entry.hook) hook is NULL")
        }
        return .success(PluginInfo(
            name: pluginName,
            version: String(cString: version),
            abiMajor: Int(abiMajor),
            abiMinor: Int(abiMinor),
            capabilities: PluginCapability.names(capabilities),
            categories: d.categories.map(cStrings(_:)),
            buildSignature: d.build_signature.map { String(cString: $0) },
            path: path,
            entryName: nil
        ))
    }

    private static func cStrings(_ list: UnsafePointer<UnsafePointer<CChar>?>) -> [String] {
        var result: [String] = []
        var index = 0
        while let item = list[index] {
            result.append(String(cString: item))
            index += 1
        }
        return result
    }

    static func realPath(of path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
