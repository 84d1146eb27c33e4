// The rooms seam: where rooms, their members (state, permissions, notification level), unread
// counts, read marks, room history and watchers are kept. One gateway node keeps them in its
// SQLite file (SQLiteRoomStore); several nodes on the redis engine keep them in Redis
// (GatewayEngine's RedisRoomStore), so every node reads the same rooms. GatewayServer picks one
// from `[engine] kind` and passes it in; nothing else knows which it is.
//
// Every method may wait (on a file or on a round trip to Redis): call it from the blocking-work
// pool, never from an event loop.

public protocol RoomStore: Sendable {
    /// Creates a room with a fresh random id and its first members.
    func createRoom(title: String, host: String, members: [MemberRecord]) throws(StoreError) -> RoomRecord
    func room(_ id: String) throws(StoreError) -> RoomRecord?
    /// The room's members sorted by id (empty when the room does not exist).
    func members(of room: String) throws(StoreError) -> [MemberRecord]
    /// Adds `member` or replaces its state, permissions, notification level and presence flag
    /// (its read mark and unread count stay). Returns false when the room does not exist.
    func putMember(_ member: MemberRecord, room: String) throws(StoreError) -> Bool
    /// Returns false when `member` was not in the room.
    func removeMember(_ member: String, room: String) throws(StoreError) -> Bool
    /// The rooms in which any of `principals` is a member, most recently active first, with the
    /// membership row of the first of `principals` found in each room and the newest event.
    func rooms(forAnyOf principals: [String], limit: Int) throws(StoreError) -> [RoomSummary]
    /// The rooms `member` belongs to, sorted (presence: whose rooms to tell when it comes online).
    func roomIds(ofMember member: String) throws(StoreError) -> [String]

    /// Appends an event to the room's history and counts it unread for every member but the
    /// sender that may read the room (once, however often the same id is appended). Returns the
    /// new counts of those members.
    func appendEvent(id: Int64, room: String, sender: String, payload: [UInt8]) throws(StoreError) -> [UnreadCount]
    /// Marks the room read by `member` up to `eventId` (a read mark never moves back) and
    /// recounts what is still unread. nil when `member` is not in the room.
    func markRead(room: String, member: String, upTo eventId: Int64) throws(StoreError) -> UnreadCount?
    /// The room's events before `before` (all when nil), newest first, at most `limit`.
    func events(room: String, before: Int64?, limit: Int) throws(StoreError) -> [(id: Int64, payload: [UInt8])]

    /// Non-member subscriptions (chat_api's ws-subscribe): one room per principal. Watches
    /// `room` instead of whatever `principal` watched; returns the room it watched before.
    func watch(room: String, principal: String) throws(StoreError) -> String?
    /// Returns false when `principal` did not watch `room`.
    func unwatch(room: String, principal: String) throws(StoreError) -> Bool
    /// The principals watching `room`, sorted.
    func watchers(of room: String) throws(StoreError) -> [String]

    func close()
}
