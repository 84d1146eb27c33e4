// Who an event is about to be delivered to, as the recipient filter hook sees it.
import GatewayJSON

public struct Recipient: Sendable {
    public var id: String { didSet { json = Self.makeJSON(id, principals, host) } }
    public var principals: [String] { didSet { json = Self.makeJSON(id, principals, host) } }
    public var host: String { didSet { json = Self.makeJSON(id, principals, host) } }

    /// {"id": ..., "principals": [...], "host": ...}, built once per recipient (a connection
    /// builds it at authentication), not per event: filters run per event × recipient.
    /// Read-only once built: filters on several event loops may read it at once.
    public private(set) var json: JSON

    public init(id: String, principals: [String], host: String) {
        self.id = id
        self.principals = principals
        self.host = host
        self.json = Self.makeJSON(id, principals, host)
    }

    private static func makeJSON(_ id: String, _ principals: [String], _ host: String) -> JSON {
        let object = JSON.object()
        object.set("id", id)
        object.set("principals", JSON.strings(principals))
        object.set("host", host)
        return object
    }
}
