// Rooms as the store keeps them: plain values. What a state or permission means (and which
// values are valid) is decided by GatewayCore's RoomMember; the store keeps the words.

public struct RoomRecord: Sendable, Equatable {
    public let id: String
    public let title: String
    /// The host it was created on (the creator's Origin, else `[server] default_host`): what
    /// the gateway tells members on its own (a plugin changing a member's state) goes to the
    /// connections of this host. Empty for rooms created before rooms had one.
    public let host: String
    public let createdAt: String
    public let updatedAt: String
    /// The newest event sent to the room, or nil.
    public let lastEventId: Int64?

    public init(id: String, title: String, host: String, createdAt: String, updatedAt: String, lastEventId: Int64?) {
        self.id = id
        self.title = title
        self.host = host
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.lastEventId = lastEventId
    }
}

public struct MemberRecord: Sendable, Equatable {
    public let member: String
    public let state: String
    /// Sorted permission words.
    public let permissions: [String]
    public let notify: String
    public let presenceEvents: Bool
    /// The newest event id the member marked as read (0: none).
    public let lastRead: Int64
    /// Events of the room since `lastRead` that others sent.
    public let unread: Int

    public init(member: String, state: String, permissions: [String], notify: String, presenceEvents: Bool,
                lastRead: Int64 = 0, unread: Int = 0) {
        self.member = member
        self.state = state
        self.permissions = permissions
        self.notify = notify
        self.presenceEvents = presenceEvents
        self.lastRead = lastRead
        self.unread = unread
    }
}

/// One room of a member's room list: the room, the member's own row, the newest event.
public struct RoomSummary: Sendable {
    public let room: RoomRecord
    public let membership: MemberRecord
    public let lastEventPayload: [UInt8]?

    public init(room: RoomRecord, membership: MemberRecord, lastEventPayload: [UInt8]?) {
        self.room = room
        self.membership = membership
        self.lastEventPayload = lastEventPayload
    }
}

/// A member's unread count after an event or a read mark.
public struct UnreadCount: Sendable, Equatable {
    public let member: String
    public let unread: Int
    public let lastRead: Int64

    public init(member: String, unread: Int, lastRead: Int64) {
        self.member = member
        self.unread = unread
        self.lastRead = lastRead
    }
}
