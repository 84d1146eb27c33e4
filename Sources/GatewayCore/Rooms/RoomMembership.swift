import GatewayJSON

/// A publisher's membership in one room its event names: shown to publish guards (ABI 1.3
/// `gw_publish_request.memberships`) and read by the member-state rule (GuardStep).
public struct RoomMembership: Sendable, Equatable {
    public let room: String
    public let member: RoomMember

    public init(room: String, member: RoomMember) {
        self.room = room
        self.member = member
    }

    /// {"room", "state", "permissions"}: what a guard is shown.
    public var json: JSON {
        let object = JSON.object()
        object.set("room", room)
        object.set("state", member.state.rawValue)
        object.set("permissions", .strings(member.permissions.sorted().map(\.rawValue)))
        return object
    }
}

/// Who receives an event sent to rooms, and the publisher's membership in each.
public struct RoomRecipients: Sendable {
    public let principals: [String]
    /// Empty for a trusted publisher (the Redis channel, a plugin's own publish).
    public let memberships: [RoomMembership]

    public init(principals: [String], memberships: [RoomMembership]) {
        self.principals = principals
        self.memberships = memberships
    }
}
