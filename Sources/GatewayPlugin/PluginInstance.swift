// The object behind a gw_instance pointer: the plugin value plus its hooks, resolved once at
// create() time so a hook call is a pointer load and a closure call, not a dynamic cast.

final class PluginInstance {
    let host: PluginHost
    let targets: ((JSONView) throws -> Targets?)?
    let filter: ((JSONView, Recipient) throws -> FilterDecision)?
    let filterConcerns: ((JSONView) -> Bool)?
    let validate: ((Attachment) throws -> AttachmentVerdict)?
    let thumbnail: ((ThumbnailRequest) throws -> ThumbnailOutcome)?
    let send: ((Delivery) throws -> SendResult)?
    let sendTest: ((String) throws -> SendResult)?
    let guardPublish: ((PublishRequest) throws -> GuardVerdict)?
    let routed: ((JSONView) throws -> Void)?
    let query: ((String, QueryCaller, [String: String]) throws -> QueryResult)?

    init(plugin: any GatewayPlugin, host: PluginHost) {
        self.host = host
        if let plugin = plugin as? any CategoryTargetsPlugin {
            targets = { try plugin.targets(for: $0) }
        } else {
            targets = nil
        }
        if let plugin = plugin as? any RecipientFilterPlugin {
            filter = { try plugin.filter($0, recipient: $1) }
            filterConcerns = { plugin.concerns($0) }
        } else {
            filter = nil
            filterConcerns = nil
        }
        if let plugin = plugin as? any AttachmentValidationPlugin {
            validate = { try plugin.validate($0) }
        } else {
            validate = nil
        }
        if let plugin = plugin as? any ThumbnailPlugin {
            thumbnail = { try plugin.thumbnail($0) }
        } else {
            thumbnail = nil
        }
        if let plugin = plugin as? any MessengerPlugin {
            send = { try plugin.send($0) }
            sendTest = { try plugin.sendTest(to: $0) }
        } else {
            send = nil
            sendTest = nil
        }
        if let plugin = plugin as? any PublishGuardPlugin {
            guardPublish = { try plugin.check($0) }
        } else {
            guardPublish = nil
        }
        if let plugin = plugin as? any ResponderPlugin {
            routed = { try plugin.routed($0) }
        } else {
            routed = nil
        }
        if let plugin = plugin as? any QueryPlugin {
            query = { try plugin.query(path: $0, caller: $1, parameters: $2) }
        } else {
            query = nil
        }
    }

    var opaquePointer: OpaquePointer { OpaquePointer(Unmanaged.passRetained(self).toOpaque()) }

    static func from(_ pointer: OpaquePointer?) -> PluginInstance? {
        guard let pointer else { return nil }
        return Unmanaged<PluginInstance>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
    }

    static func release(_ pointer: OpaquePointer?) {
        guard let pointer else { return }
        Unmanaged<PluginInstance>.fromOpaque(UnsafeRawPointer(pointer)).release()
    }
}
