import GatewayJSON

/// What the pipeline needs from the attachment store: the server's AttachmentService conforms.
public protocol AttachmentResolver: Sendable {
    /// Replaces the `attachments` of a not-yet-shared event with checked descriptors: upload ids
    /// the publisher may read, URL types a validation plugin accepts. Blocking (SQLite reads,
    /// validation plugins): the pipeline calls it on the blocking-work pool only.
    func expand(_ event: JSON, for publisher: Publisher) throws(GatewayError)
    /// Lets `targets` read the stored attachments `event` carries. Must not block (queues).
    func grant(_ event: JSON, to targets: [String])
}

/// Step 2: attachments. Events without any skip it and stay on the calling thread; events with
/// attachments are run on the blocking-work pool (see `needsBlockingWork`).
public struct AttachmentStep: Sendable {
    let resolver: (any AttachmentResolver)?

    /// nil: attachments are not configured, and an event carrying some is refused.
    public init(resolver: (any AttachmentResolver)?) {
        self.resolver = resolver
    }

    /// Whether `input` carries attachments to expand (a non-empty `attachments` value).
    public func needsBlockingWork(_ input: JSONView) -> Bool {
        let list = input["attachments"]
        return list.exists && !list.isNull && !(list.isArray && list.count == 0)
    }

    public func expand(_ event: JSON, for publisher: Publisher) throws(GatewayError) {
        let list = event.view["attachments"]
        guard list.exists, !list.isNull else { return }
        guard let resolver else {
            throw GatewayError(code: "attachment.disabled", message: "Attachments are not configured on this gateway.", status: 400)
        }
        try resolver.expand(event, for: publisher)
    }

    public func grant(_ event: Event) {
        resolver?.grant(event.json, to: event.targets)
    }
}
