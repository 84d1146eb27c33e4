// Opens a plugin shared object and validates its descriptor against ABI 1.x.
//
// Opened with RTLD_NOW (missing symbols fail now, not mid-event), RTLD_LOCAL (plugins do not see
// each other's symbols) and RTLD_NODELETE; never dlclose()d, because Swift images must stay mapped
// for the life of the process. One shared object may back several instances, so the validated
// descriptor is cached per file identity (real path, inode, size, mtime).
//
// The loader opens a private COPY of the file: the dynamic loader returns an already-loaded image
// for a path it has seen, so a plugin rebuilt at the same path would never be picked up on reload.
// Copying to a fresh temporary name gives the new build its own image; the copy is unlinked once
// mapped.
import CGatewayPlugin
import Foundation
import GatewayToolchain
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

typealias DescriptorPointer = UnsafePointer<gw_plugin_descriptor>

/// A validated descriptor of an opened shared object. The descriptor is static in the plugin.
struct PluginLibrary: Sendable {
    let path: String
    private let staticDescriptor: ProcessLifetimePointer<gw_plugin_descriptor>
    let info: PluginInfo

    var descriptor: DescriptorPointer { staticDescriptor.pointer }

    init(path: String, descriptor: DescriptorPointer, info: PluginInfo) {
        self.path = path
        self.staticDescriptor = ProcessLifetimePointer(descriptor)
        self.info = info
    }
}

enum PluginLibraryLoader {
    /// sizeof the ABI 1.0 descriptor (GW_PLUGIN_DESCRIPTOR_V1_0_SIZE: the macro uses offsetof
    /// and does not import into Swift).
    static let descriptorV1_0Size =
        MemoryLayout<gw_plugin_descriptor>.offset(of: \gw_plugin_descriptor.on_thumbnail)!
        + MemoryLayout<UnsafeRawPointer>.size

    /// struct_size must cover at least struct_size, abi_major and abi_minor before we read them.
    private static let versionFieldsSize = MemoryLayout<Int>.size + 2 * MemoryLayout<UInt32>.size

    /// Descriptors already opened, per file identity, and how many private copies were made.
    /// Held for the whole open (copy, dlopen, entry call), so one file is never opened twice.
    private static let cache = Mutex(OpenedFiles())

    private struct OpenedFiles {
        var descriptorByFile: [FileIdentity: ProcessLifetimePointer<gw_plugin_descriptor>] = [:]
        var copiesMade = 0
    }

    /// A file changes identity when it is rebuilt: the linker writes a new inode, or rewrites in
    /// place and changes size or mtime.
    struct FileIdentity: Hashable {
        let realPath: String
        let device: UInt64
        let inode: UInt64
        let size: Int64
        let modifiedSeconds: Int
        let modifiedNanoseconds: Int
    }

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

        let identity = FileIdentity(
            realPath: realPath, device: UInt64(status.st_dev), inode: UInt64(status.st_ino), size: Int64(status.st_size),
            modifiedSeconds: Int(status.st_mtim.tv_sec), modifiedNanoseconds: Int(status.st_mtim.tv_nsec))
        let descriptor: DescriptorPointer
        switch openDescriptor(identity) {
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

    private static func openDescriptor(_ identity: FileIdentity) -> Result<DescriptorPointer, OpenFailure> {
        let result: Result<ProcessLifetimePointer<gw_plugin_descriptor>, OpenFailure> = cache.withLock { opened in
            if let cached = opened.descriptorByFile[identity] { return .success(cached) }
            opened.copiesMade += 1
            let result = open(identity, copyNumber: opened.copiesMade)
            if case .success(let descriptor) = result { opened.descriptorByFile[identity] = descriptor }
            return result
        }
        return result.map(\.pointer)
    }

    /// Opens a private copy of the file and calls its entry function. Called with `cache` held.
    private static func open(_ identity: FileIdentity, copyNumber: Int)
        -> Result<ProcessLifetimePointer<gw_plugin_descriptor>, OpenFailure>
    {
        let realPath = identity.realPath
        guard let copy = privateCopy(of: realPath, number: copyNumber) else {
            return .failure(OpenFailure(code: PluginLoadError.Code.notSharedObject,
                                        message: "\(realPath): cannot copy the plugin to a private temporary file (check $TMPDIR space and permissions)"))
        }
        defer { unlink(copy) }  // the mapping stays; the name is not needed once opened
        _ = dlerror()  // clear a stale error so the text we report is this call's
        guard let handle = dlopen(copy, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
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
        return .success(ProcessLifetimePointer(descriptor))
    }

    /// Copies `path` to a new file in a private folder (one per process); nil on any failure.
    private static func privateCopy(of path: String, number: Int) -> String? {
        let name = (path as NSString).lastPathComponent
        let copy = privateFolder + "/\(number)-\(name)"
        do {
            try FileManager.default.copyItem(atPath: path, toPath: copy)
        } catch {
            return nil
        }
        return copy
    }

    private static let privateFolder: String = {
        let template = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-plugins-XXXXXX").path
        var bytes = Array(template.utf8CString)
        let made = bytes.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { return FileManager.default.temporaryDirectory.path }
        let folder = String(cString: bytes)
        // Empty once every copy is unlinked; remove it at exit so runs leave nothing behind.
        // (The handler runs after this initializer returned, so it reads the finished value.)
        atexit { rmdir(PluginLibraryLoader.privateFolder) }
        return folder
    }()

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
        let unknownBits = capabilities & ~PluginCapability.allV1_3
        guard unknownBits == 0 else {
            return refuse(PluginLoadError.Code.unknownCapability,
                          "plugin '\(pluginName)' declares capability bits 0x\(String(unknownBits, radix: 16)) that ABI \(GW_PLUGIN_ABI_MAJOR).\(GW_PLUGIN_ABI_MINOR) does not define")
        }
        let hookPresent: [(bit: UInt64, present: Bool, hook: String)] = [
            (PluginCapability.categoryTargets, d.on_targets != nil, "on_targets"),
            (PluginCapability.recipientFilter, d.on_filter != nil, "on_filter"),
            (PluginCapability.attachmentValidation, d.on_validate_attachment != nil, "on_validate_attachment"),
            (PluginCapability.thumbnail, d.on_thumbnail != nil, "on_thumbnail"),
            (PluginCapability.messenger, d.on_send != nil, "on_send"),
            (PluginCapability.publishGuard, d.on_publish != nil, "on_publish"),
            (PluginCapability.responder, d.on_routed != nil, "on_routed"),
            (PluginCapability.query, d.on_query != nil, "on_query"),
        ]
        for entry in hookPresent where capabilities & entry.bit != 0 && !entry.present {
            let capability = PluginCapability.names(entry.bit)[0]
            return refuse(PluginLoadError.Code.capabilityHookMissing,
                          "plugin '\(pluginName)' declares capability \(capability) but its \(entry.hook) hook is NULL")
        }
        let signature = d.build_signature.map { String(cString: $0) }
        if let signature, let built = SwiftToolchain.toolchain(inSignature: signature), built != SwiftToolchain.version {
            return refuse(PluginLoadError.Code.swiftToolchainMismatch,
                          "plugin '\(pluginName)' was built with Swift toolchain \(built) but this gateway with \(SwiftToolchain.version); Swift plugins must be built with the gateway's toolchain (two Swift runtimes cannot share a process): rebuild the plugin")
        }
        return .success(PluginInfo(
            name: pluginName,
            version: String(cString: version),
            abiMajor: Int(abiMajor),
            abiMinor: Int(abiMinor),
            capabilities: PluginCapability.names(capabilities),
            categories: d.categories.map(cStrings(_:)),
            buildSignature: signature,
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
