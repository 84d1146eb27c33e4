import GatewayJSON

/// One member of a room (chat_api's thread member): a principal with a state, permissions and a
/// notification level. Parsed from the HTTP API's JSON here, so every refusal has one code.
public struct RoomMember: Sendable, Equatable {
    /// chat_api's member states. `open` may write, `closed` may not, `scripted` may only answer
    /// the current question of a scripted flow (refused until a flow plugin is configured).
    public enum State: String, Sendable, CaseIterable {
        case open, closed, scripted
    }

    public enum Permission: String, Sendable, CaseIterable, Comparable {
        case read, write
        /// Add, remove and change members.
        case manage
        /// Take another member out of its `scripted` state.
        case breakScripted = "break_scripted"

        public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// How a member learns of new events: `live` receives them on its connections and counts them
    /// as unread; `unread` only counts them (its connections get unread updates, not the events).
    public enum Notify: String, Sendable, CaseIterable {
        case live, unread
    }

    /// A principal (a user id such as `bob`, or any principal a token carries).
    public var id: String
    public var state: State
    public var permissions: Set<Permission>
    public var notify: Notify
    /// Receives `presence` frames (join/leave of the room's members).
    public var presenceEvents: Bool

    public static let defaultPermissions: Set<Permission> = [.read, .write]

    public init(id: String, state: State = .open, permissions: Set<Permission> = defaultPermissions,
                notify: Notify = .live, presenceEvents: Bool = false) {
        self.id = id
        self.state = state
        self.permissions = permissions
        self.notify = notify
        self.presenceEvents = presenceEvents
    }

    /// May publish into the room now.
    public var mayWrite: Bool { state == .open && permissions.contains(.write) }
    /// Receives the room's events live.
    public var receivesLive: Bool { permissions.contains(.read) && notify == .live }

    /// Reads `{"id": "bob", "state": "open", "permissions": ["read", "write"], "notify": "live",
    /// "presence": false}`; only `id` is required. `base` gives the values of absent fields (a
    /// change keeps what it does not name).
    public static func parse(_ view: JSONView, base: RoomMember? = nil, id fixedId: String? = nil) throws(GatewayError) -> RoomMember {
        guard view.isObject else { throw .badRoomRequest("A member is an object like {\"id\": \"bob\", \"state\": \"open\"}.") }
        let allowed: Set<String> = ["id", "state", "permissions", "notify", "presence"]
        if let unknown = view.members.first(where: { !allowed.contains($0.key) }) {
            throw .badRoomRequest("Unknown member field '\(unknown.key)'; use id, state, permissions, notify, presence.")
        }
        guard let id = fixedId ?? view["id"].string ?? base?.id, !id.isEmpty, id.utf8.count <= 256 else {
            throw .badRoomRequest("A member needs an 'id': the principal (1 to 256 bytes) that receives the room's events.")
        }
        var member = base ?? RoomMember(id: id)
        member.id = id
        if view["state"].exists {
            guard let text = view["state"].string, let state = State(rawValue: text) else {
                throw .badRoomRequest("'state' must be one of open, closed, scripted.")
            }
            member.state = state
        }
        if view["permissions"].exists {
            guard let texts = view["permissions"].strings else {
                throw .badRoomRequest("'permissions' must be an array of read, write, manage, break_scripted.")
            }
            var permissions = Set<Permission>()
            for text in texts {
                guard let permission = Permission(rawValue: text) else {
                    throw .badRoomRequest("Unknown permission '\(text)'; use read, write, manage, break_scripted.")
                }
                permissions.insert(permission)
            }
            member.permissions = permissions
        }
        if view["notify"].exists {
            guard let text = view["notify"].string, let notify = Notify(rawValue: text) else {
                throw .badRoomRequest("'notify' must be live or unread.")
            }
            member.notify = notify
        }
        if view["presence"].exists {
            guard let flag = view["presence"].bool else { throw .badRoomRequest("'presence' must be true or false.") }
            member.presenceEvents = flag
        }
        return member
    }

    public var json: JSON {
        let object = JSON.object()
        object.set("id", id)
        object.set("state", state.rawValue)
        object.set("permissions", .strings(permissions.sorted().map(\.rawValue)))
        object.set("notify", notify.rawValue)
        object.set("presence", .bool(presenceEvents))
        return object
    }
}

extension GatewayError {
    public static func badRoomRequest(_ message: String) -> GatewayError {
        GatewayError(code: "room.bad_request", message: message, status: 400)
    }

    public static func roomNotFound(_ id: String) -> GatewayError {
        GatewayError(code: "room.not_found", message: "No room '\(id)' that you are a member of.", status: 404)
    }

    public static func roomNotMember(_ id: String) -> GatewayError {
        GatewayError(code: "room.not_member", message: "You are not a member of room '\(id)'; ask a member with the manage permission to add you.", status: 403)
    }

    /// A `closed` member, or one without the write permission, published into the room.
    public static func roomWriteForbidden(_ id: String, state: RoomMember.State) -> GatewayError {
        let why = state == .closed ? "your membership is closed" : "you do not have the write permission"
        return GatewayError(code: "room.write_forbidden", message: "You may not write in room '\(id)': \(why).", status: 403)
    }

    public static func roomScripted(_ id: String) -> GatewayError {
        GatewayError(code: "room.member_scripted",
                     message: "You are in a scripted flow in room '\(id)' and may only answer its current question; no flow is running, so ask a member with break_scripted to open your membership.",
                     status: 403)
    }

    public static func roomManageForbidden(_ id: String) -> GatewayError {
        GatewayError(code: "room.manage_forbidden", message: "Changing the members of room '\(id)' needs the manage permission.", status: 403)
    }
}
