// An immutable snapshot of the handler chain: the instances created from gateway.conf, grouped
// per hook in chain order. A reload builds a new chain and swaps it in (ChainReference); events
// already holding the old snapshot finish with it, and its instances are destroyed only when
// the last holder lets go (deinit), on the control queue.
import CGatewayPlugin
import CJansson
import GatewayJSON

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// @unchecked: immutable after init; the hook pointers and instances it holds are the plugins',
// which the header lets the host call from any thread (see its Threading section).
public final class PluginChain: @unchecked Sendable {
    public static let empty = PluginChain(instances: [])

    /// Enabled entries in chain order.
    public let plugins: [PluginInfo]
    public var hasRecipientFilters: Bool { !filterHooks.isEmpty }
    public var hasCategoryTargets: Bool { !targetsHooks.isEmpty }
    public var hasAttachmentValidators: Bool { !validationHooks.isEmpty }
    public var hasThumbnailers: Bool { !thumbnailHooks.isEmpty }
    /// Aliases ([[plugins]] entry names) of the messenger instances, in chain order.
    public var messengerAliases: [String] { messengerHooks.map(\.plugin.entryName) }
    public var hasPublishGuards: Bool { !guardHooks.isEmpty }
    /// A guard declared GW_GUARD_MAY_BLOCK: client publishes must run on the blocking pool.
    public var guardsMayBlock: Bool { guardHooks.contains(where: \.mayBlock) }
    public var hasResponders: Bool { !routedHooks.isEmpty }
    /// Entry names of the plugins that answer GET /api/v1/plugins/<entry>/… (ABI 1.3 on_query).
    public var queryEntries: [String] { queryHooks.map(\.plugin.entryName) }

    let instances: [PluginInstance]
    // Hook pointers are copied out of the descriptors once, so the per-event paths read a flat
    // array instead of the descriptor struct.
    let targetsHooks: [TargetsHook]
    let filterHooks: [FilterHook]
    let validationHooks: [ValidationHook]
    let thumbnailHooks: [ThumbnailHook]
    let messengerHooks: [MessengerHook]
    let guardHooks: [GuardHook]
    let routedHooks: [RoutedHook]
    let queryHooks: [QueryHook]

    /// Copies only the bytes the plugin declared (struct_size): fields of a later minor than
    /// the plugin was built for read as NULL, as the header promises, and nothing past its
    /// descriptor is ever read.
    static func readDescriptor(_ pointer: UnsafePointer<gw_plugin_descriptor>) -> gw_plugin_descriptor {
        var copy = gw_plugin_descriptor()
        let declared = UnsafeRawPointer(pointer).load(as: Int.self)
        let size = min(declared, MemoryLayout<gw_plugin_descriptor>.size)
        withUnsafeMutableBytes(of: &copy) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(start: UnsafeRawPointer(pointer), count: size))
        }
        return copy
    }

    init(instances: [PluginInstance]) {
        self.instances = instances
        self.plugins = instances.map(\.info)
        var targets: [TargetsHook] = []
        var filters: [FilterHook] = []
        var validations: [ValidationHook] = []
        var thumbnails: [ThumbnailHook] = []
        var messengers: [MessengerHook] = []
        var guards: [GuardHook] = []
        var responders: [RoutedHook] = []
        var queries: [QueryHook] = []
        for plugin in instances {
            let descriptor = Self.readDescriptor(plugin.descriptor)
            let capabilities = UInt64(descriptor.capabilities)
            if capabilities & PluginCapability.categoryTargets != 0, let call = descriptor.on_targets {
                targets.append(TargetsHook(plugin: plugin, call: call, categories: descriptor.categories))
            }
            if capabilities & PluginCapability.recipientFilter != 0, let call = descriptor.on_filter {
                filters.append(FilterHook(plugin: plugin, call: call, prepare: descriptor.on_filter_event))
            }
            if capabilities & PluginCapability.attachmentValidation != 0, let call = descriptor.on_validate_attachment {
                validations.append(ValidationHook(plugin: plugin, call: call))
            }
            if capabilities & PluginCapability.thumbnail != 0, let call = descriptor.on_thumbnail {
                thumbnails.append(ThumbnailHook(plugin: plugin, call: call))
            }
            if capabilities & PluginCapability.messenger != 0, let call = descriptor.on_send {
                messengers.append(MessengerHook(plugin: plugin, send: call, sendTest: descriptor.on_send_test))
            }
            if capabilities & PluginCapability.publishGuard != 0, let call = descriptor.on_publish {
                let mayBlock = descriptor.publish_guard_flags & UInt64(GW_GUARD_MAY_BLOCK) != 0
                guards.append(GuardHook(plugin: plugin, call: call, mayBlock: mayBlock))
            }
            if capabilities & PluginCapability.responder != 0, let call = descriptor.on_routed {
                responders.append(RoutedHook(plugin: plugin, call: call))
            }
            if capabilities & PluginCapability.query != 0, let call = descriptor.on_query {
                queries.append(QueryHook(plugin: plugin, call: call))
            }
        }
        targetsHooks = targets
        filterHooks = filters
        validationHooks = validations
        thumbnailHooks = thumbnails
        messengerHooks = messengers
        guardHooks = guards
        routedHooks = responders
        queryHooks = queries
    }

    deinit {
        let instances = self.instances
        guard !instances.isEmpty else { return }
        // deinit runs on whichever thread dropped the last reference (often an event loop);
        // the header promises destroy() on the control thread, so hop there.
        PluginControlQueue.async {
            for instance in instances.reversed() { instance.destroy() }
        }
    }
}

typealias TargetsFunction = @convention(c) (
    OpaquePointer?, UnsafePointer<json_t>?, UnsafeMutablePointer<UnsafeMutablePointer<json_t>?>?,
    UnsafeMutablePointer<gw_message>?
) -> gw_result
typealias FilterFunction = @convention(c) (
    OpaquePointer?, UnsafePointer<json_t>?, UnsafePointer<json_t>?,
    UnsafeMutablePointer<UnsafeMutablePointer<json_t>?>?, UnsafeMutablePointer<gw_message>?
) -> gw_result
typealias ValidationFunction = @convention(c) (
    OpaquePointer?, UnsafePointer<json_t>?, UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<gw_message>?
) -> gw_result
typealias ThumbnailFunction = @convention(c) (
    OpaquePointer?, UnsafePointer<gw_thumbnail_request>?, UnsafeMutablePointer<gw_thumbnail_result>?,
    UnsafeMutablePointer<gw_message>?
) -> gw_result

struct TargetsHook {
    let plugin: PluginInstance
    let call: TargetsFunction
    /// The descriptor's static NULL-terminated list; compared with strcmp so matching a category
    /// allocates nothing.
    let categories: UnsafePointer<UnsafePointer<CChar>?>?
    let matchesEveryCategory: Bool

    init(plugin: PluginInstance, call: TargetsFunction, categories: UnsafePointer<UnsafePointer<CChar>?>?) {
        self.plugin = plugin
        self.call = call
        self.categories = categories
        // No list: the plugin decides per event by returning GW_SKIP.
        self.matchesEveryCategory = categories == nil || (plugin.info.categories ?? []).contains("*")
    }

    func handles(category: UnsafePointer<CChar>?) -> Bool {
        if matchesEveryCategory { return true }
        guard let category, let categories else { return false }
        var index = 0
        while let candidate = categories[index] {
            if strcmp(candidate, category) == 0 { return true }
            index += 1
        }
        return false
    }
}

struct FilterHook {
    let plugin: PluginInstance
    let call: FilterFunction
    /// ABI 1.1 on_filter_event; nil for 1.0 plugins (asked per recipient, always).
    let prepare: FilterEventFunction?
}

typealias FilterEventFunction = @convention(c) (OpaquePointer?, UnsafePointer<json_t>?, UnsafeMutablePointer<gw_message>?) -> gw_result

struct ValidationHook {
    let plugin: PluginInstance
    let call: ValidationFunction
}

struct ThumbnailHook {
    let plugin: PluginInstance
    let call: ThumbnailFunction
}
