// The publish guard (ABI 1.3 on_publish) and responder (on_routed) payloads and answers, in
// Swift values.
import CGatewayPlugin

/// One event a client publishes, before it is routed. Borrowed: valid during `check` only.
public struct PublishRequest {
    /// The event as it will be routed: normalized, with id, source, host and target.
    public let event: JSONView
    /// {"id", "title", "principals"}: who publishes.
    public let publisher: JSONView
    /// The publisher's membership in each room the event names, in target order ([] otherwise).
    public let memberships: [Membership]
    /// "http" or "websocket".
    public let ingress: String

    /// The publisher's id (its token's `sub`).
    public var publisherId: String { publisher["id"].string ?? "" }
}

/// A publisher's membership in one room the event names.
public struct Membership: Sendable, Equatable {
    public let room: String
    /// "open", "closed" or "scripted".
    public let state: String
    /// "read", "write", "manage", "break_scripted".
    public let permissions: [String]

    public init(room: String, state: String, permissions: [String]) {
        self.room = room
        self.state = state
        self.permissions = permissions
    }

    init?(_ view: JSONView) {
        guard let room = view["room"].string, let state = view["state"].string else { return nil }
        self.init(room: room, state: state, permissions: view["permissions"].strings ?? [])
    }
}

/// What a guard says about one event.
public enum GuardVerdict {
    /// GW_SKIP: no opinion (a moderation guard letting an event through says this, not `accept`).
    case skip
    /// GW_OK: accepted — for a `scripted` member, "a valid answer to the current question".
    case accept
    /// GW_REWRITE: accepted; route this object instead (id, source, host, target and timestamp
    /// are kept from the original by the host).
    case rewrite(JSON)
    /// GW_REJECT: refused; the client gets `code` and `status` (400...499).
    case refuse(code: String, status: Int, reason: String)
}

/// Who asks a query (GET /api/v1/plugins/<entry>/<path>): the token's identity.
public struct QueryCaller: Sendable, Equatable {
    public let id: String
    public let title: String?
    public let principals: [String]
    /// The token has the admin scope.
    public let admin: Bool

    init(_ view: JSONView) {
        id = view["id"].string ?? ""
        title = view["title"].string
        principals = view["principals"].strings ?? []
        admin = view["admin"].bool ?? false
    }
}

/// A query's answer.
public enum QueryResult {
    /// 200 with this JSON body.
    case answer(JSON)
    /// 404 http.not_found.
    case notFound
    /// The client gets `code` and `status` (400...499).
    case refuse(code: String, status: Int, reason: String)
}
