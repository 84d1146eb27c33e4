import GatewayJSON

/// Step 1: the published JSON becomes the event the chain and the clients see (EventNormalizer:
/// field types, defaults, the id and the authenticated source).
public struct NormalizeStep: Sendable {
    /// The host of events that name none and come from a client without an Origin.
    public let defaultHost: String
    /// `[server] unknown_event_fields`: deliver fields the gateway does not know, or refuse them.
    public let unknownFields: UnknownEventFields

    public init(defaultHost: String, unknownFields: UnknownEventFields = .keep) {
        self.defaultHost = defaultHost
        self.unknownFields = unknownFields
    }

    public func run(_ input: JSONView, id: Int64, publisher: Publisher, hostFallback: String?) throws(GatewayError) -> JSON {
        try EventNormalizer.normalize(input, id: id, publisher: publisher, defaultHost: hostFallback ?? defaultHost,
                                      now: ISOTimestamp.now(), unknownFields: unknownFields)
    }
}
