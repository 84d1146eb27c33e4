// Builds the C descriptor for a plugin type. The plugin author writes one line:
//
//     @_cdecl("gateway_plugin_entry")
//     public func gatewayPluginEntry() -> UnsafeRawPointer { export(MyPlugin.self) }
//
// Capability bits come from dynamic casts of the plugin type, so a conformance is all it takes
// to provide a hook; a missing conformance leaves the bit clear and the hook pointer NULL.
import CGatewayPlugin
import GatewayToolchain
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one plugin type of this shared object and the address of its descriptor, set by the
/// first `export` call (the entry function runs on the host's control thread; create() reads it).
private struct Exported: Sendable {
    let type: any GatewayPlugin.Type
    /// The descriptor's address: it is allocated once and lives as long as the process.
    let descriptorAddress: UInt
}

private let exported = Mutex<Exported?>(nil)

/// The plugin type `export` was called with; nil before the entry function ran.
var exportedPluginType: (any GatewayPlugin.Type)? { exported.withLock { $0?.type } }

/// Returns the process-lifetime descriptor for `type` (built on the first call, then cached).
/// Every later call returns the same pointer, as the ABI requires.
public func export(_ type: any GatewayPlugin.Type) -> UnsafeRawPointer {
    let address = exported.withLock { exported in
        if let exported { return exported.descriptorAddress }
        let made = Exported(type: type, descriptorAddress: UInt(bitPattern: makeDescriptor(for: type)))
        exported = made
        return made.descriptorAddress
    }
    return UnsafeRawPointer(bitPattern: address)!
}

private func makeDescriptor(for type: any GatewayPlugin.Type) -> UnsafeMutablePointer<gw_plugin_descriptor> {
    let descriptor = UnsafeMutablePointer<gw_plugin_descriptor>.allocate(capacity: 1)
    descriptor.initialize(to: gw_plugin_descriptor())
    descriptor.pointee.struct_size = MemoryLayout<gw_plugin_descriptor>.size
    descriptor.pointee.abi_major = UInt32(GW_PLUGIN_ABI_MAJOR)
    descriptor.pointee.abi_minor = UInt32(GW_PLUGIN_ABI_MINOR)
    descriptor.pointee.name = UnsafePointer(strdup(type.name))
    descriptor.pointee.version = UnsafePointer(strdup(type.version))
    descriptor.pointee.build_signature = UnsafePointer(strdup(buildSignature))
    descriptor.pointee.create = createInstanceHook
    descriptor.pointee.destroy = destroyInstanceHook

    var capabilities: gw_capabilities = 0
    if let targetsType = type as? any CategoryTargetsPlugin.Type {
        capabilities |= gw_capabilities(GW_CAP_CATEGORY_TARGETS)
        descriptor.pointee.categories = makeCategoryList(targetsType.categories)
        descriptor.pointee.on_targets = targetsHook
    }
    if type is any RecipientFilterPlugin.Type {
        capabilities |= gw_capabilities(GW_CAP_RECIPIENT_FILTER)
        descriptor.pointee.on_filter = filterHook
        descriptor.pointee.on_filter_event = filterEventHook
    }
    if type is any AttachmentValidationPlugin.Type {
        capabilities |= gw_capabilities(GW_CAP_ATTACHMENT_VALIDATION)
        descriptor.pointee.on_validate_attachment = validateAttachmentHook
    }
    if type is any ThumbnailPlugin.Type {
        capabilities |= gw_capabilities(GW_CAP_THUMBNAIL)
        descriptor.pointee.on_thumbnail = thumbnailHook
    }
    if type is any MessengerPlugin.Type {
        capabilities |= gw_capabilities(GW_CAP_MESSENGER)
        descriptor.pointee.on_send = sendHook
        // A plugin without its own sendTest is tested through send with a synthetic event.
        descriptor.pointee.on_send_test = sendTestHook
    }
    if let guardType = type as? any PublishGuardPlugin.Type {
        capabilities |= gw_capabilities(GW_CAP_PUBLISH_GUARD)
        descriptor.pointee.on_publish = publishHook
        descriptor.pointee.publish_guard_flags = guardType.guardMayBlock ? UInt64(GW_GUARD_MAY_BLOCK) : 0
    }
    if type is any ResponderPlugin.Type {
        capabilities |= gw_capabilities(GW_CAP_RESPONDER)
        descriptor.pointee.on_routed = routedHook
    }
    if type is any QueryPlugin.Type {
        capabilities |= gw_capabilities(GW_CAP_QUERY)
        descriptor.pointee.on_query = queryHook
    }
    descriptor.pointee.capabilities = capabilities
    return descriptor
}

/// NULL-terminated array of strdup'ed C strings, kept for the life of the process.
/// An empty list means "decide per instance" and leaves the field NULL, as the header allows.
private func makeCategoryList(_ categories: [String]) -> UnsafePointer<UnsafePointer<CChar>?>? {
    if categories.isEmpty { return nil }
    let list = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: categories.count + 1)
    for (index, category) in categories.enumerated() {
        (list + index).initialize(to: UnsafePointer(strdup(category)))
    }
    (list + categories.count).initialize(to: nil)
    return UnsafePointer(list)
}

/// "GatewayPlugin Swift SDK; ABI 1.3; swift-6.3.1": the host refuses a Swift plugin whose
/// toolchain differs from its own (see SwiftToolchain).
private var buildSignature: String {
    "\(SwiftToolchain.sdkSignaturePrefix); ABI \(GW_PLUGIN_ABI_MAJOR).\(GW_PLUGIN_ABI_MINOR); \(SwiftToolchain.version)"
}
