import CJansson
import Dispatch
import GatewayAuth
import GatewayCore
import GatewayJSON
import GatewayStore
import Logging

/// Attachments inside events: ids expanded into descriptors before the chain runs, URL types
/// validated, and read access granted to every principal an event carrying them is routed to.
final class AttachmentService: AttachmentResolver {
    let store: AttachmentStore
    let logger: Logger
    private let chain: ChainReference?
    /// Grants are SQLite writes: they run here, in order, off the event loops.
    private let grants = DispatchQueue(label: "gateway.attachments.grants")

    /// Events carrying more attachments than this are refused: each costs a lookup on the loop.
    static let maximumPerEvent = 32

    /// `chain` validates URL-type attachments (youtube, object_reference) in events; without
    /// one, such attachments are refused (no plugin vouches for them).
    init(store: AttachmentStore, chain: ChainReference? = nil, logger: Logger) {
        self.store = store
        self.chain = chain
        self.logger = logger
    }

    // MARK: Expanding

    /// Replaces `attachments` of a not-yet-shared event with checked descriptors.
    ///
    /// Blocking: one primary-key SQLite read per attachment id, and the validation plugins for
    /// URL types. The pipeline runs events carrying attachments on the blocking pool
    /// (AttachmentStep), never on an event loop.
    func expand(_ event: JSON, for publisher: Publisher) throws(GatewayError) {
        let list = event.view["attachments"]
        guard list.exists, !list.isNull else { return }
        guard list.isArray else { throw .attachmentInvalid("'attachments' must be an array of objects.") }
        guard list.count <= Self.maximumPerEvent else {
            throw .attachmentInvalid("An event may carry at most \(Self.maximumPerEvent) attachments.")
        }
        // A new array: the original may still be shared with the caller's input document.
        let expanded = JSON.array()
        for element in list.elements {
            expanded.append(try expandOne(element, for: publisher))
        }
        event.set("attachments", expanded)
    }

    private func expandOne(_ element: JSONView, for publisher: Publisher) throws(GatewayError) -> JSON {
        guard element.isObject else { throw .attachmentInvalid("Each attachment must be an object.") }
        if element["id"].exists {
            guard let id = element["id"].string, !id.isEmpty else {
                throw .attachmentInvalid("An attachment 'id' must be a non-empty string.")
            }
            return try descriptor(id: id, for: publisher)
        }
        guard let type = element["type"].string, !type.isEmpty else {
            throw .attachmentInvalid("An attachment needs an 'id' (of an upload) or a 'type' (such as youtube with a 'url').")
        }
        guard let chain = chain?.current else {
            throw .attachmentRejected("Attachments of type '\(type)' are not accepted: no validation plugin is configured.")
        }
        switch chain.validateAttachment(metadata: element, bytes: nil) {
        case .accepted:
            return element.retained()!.deepCopy()
        case .rejected(_, let message, let code, let status):
            // URL attachments (youtube, ...): a coded 1.2 refusal keeps its code and status.
            if let code { throw GatewayError(code: code, message: message, status: status ?? 400) }
            throw .attachmentRejected(message)
        case .failed(let plugin, let message):
            throw .attachmentPluginFailed(plugin, message)
        }
    }

    private func descriptor(id: String, for publisher: Publisher) throws(GatewayError) -> JSON {
        let record: AttachmentRecord?
        var readable = false
        do throws(StoreError) {
            record = try store.record(id: id)
            // A trusted ingress is the application itself, which may attach anything it stored.
            if record != nil && publisher.trusted {
                readable = true
            } else if record != nil {
                readable = try store.mayRead(id: id, identityId: publisher.id, principals: publisher.principals.isEmpty ? [publisher.id] : publisher.principals)
            }
        } catch {
            logger.error("attachment lookup failed", metadata: ["id": "\(id)", "error": "\(error)"])
            throw .attachmentStorageFailed()
        }
        guard let record else { throw .attachmentUnknown(id) }
        guard readable else { throw .attachmentForbidden(id) }
        return AttachmentDescriptor.json(record)
    }

    // MARK: Access

    /// Lets `targets` read every stored attachment `event` carries. Queued, so the event loop
    /// never waits on a database write; `mayRead` waits for queued grants before saying no.
    func grant(_ event: JSON, to targets: [String]) {
        let ids = event.view["attachments"].elements.compactMap { element -> String? in
            guard element["src"].string != nil else { return nil }
            return element["id"].string
        }
        guard !ids.isEmpty, !targets.isEmpty else { return }
        let store = self.store, logger = self.logger
        grants.async {
            for id in ids {
                do throws(StoreError) {
                    try store.grant(id: id, principals: targets)
                } catch {
                    logger.error("attachment grant failed", metadata: ["id": "\(id)", "error": "\(error)"])
                }
            }
        }
    }

    /// The uploader or a granted principal. Blocking (SQLite, and waiting for queued grants):
    /// call it on the blocking pool only.
    func mayRead(id: String, identity: Identity) throws(StoreError) -> Bool {
        if try store.mayRead(id: id, identityId: identity.id, principals: identity.principals) { return true }
        // A recipient may fetch the moment its event arrives, before the grant was written.
        grants.sync {}
        return try store.mayRead(id: id, identityId: identity.id, principals: identity.principals)
    }
}
