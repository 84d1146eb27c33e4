import GatewayJSON

/// One event on its way through the pipeline: the fields the gateway routes by, typed, next to
/// the JSON document the plugins and the clients see.
///
/// The typed fields are read from the document once, after normalization and targets; the
/// document is never mutated after the pipeline hands the event to the engine (several event
/// loops read it at once).
public struct Event: Sendable {
    public let id: Int64
    /// Connections of this host receive the event (pyams_chat: the Origin of the page).
    public let host: String
    /// The sender's identity id: none of its connections receive the event.
    public let senderId: String
    public let category: String
    /// The principals the event is addressed to.
    public let targets: [String]
    /// The whole event as clients see it.
    public let json: JSON

    public init(id: Int64, host: String, senderId: String, category: String, targets: [String], json: JSON) {
        self.id = id
        self.host = host
        self.senderId = senderId
        self.category = category
        self.targets = targets
        self.json = json
    }

    public var timestamp: String? { json.view["timestamp"].string }

    /// Re-reads an event stored or published by another node (its routing fields come from the
    /// document). nil when the document is not a routed event (no id, host or target list).
    public init?(routed json: JSON) {
        let view = json.view
        guard let id = view["id"].int, let host = view["host"].string,
              let targets = view["target"]["principals"].strings else { return nil }
        self.init(id: Int64(id), host: host, senderId: view["source"]["id"].string ?? "",
                  category: view["category"].string ?? "", targets: targets, json: json)
    }
}

/// Where an event came in; a label of gateway_events_in_total.
public enum Ingress: String, Sendable, CaseIterable {
    case http, websocket, redis
    /// A plugin's own event (ABI 1.3 host->publish: a bot).
    case plugin
}
