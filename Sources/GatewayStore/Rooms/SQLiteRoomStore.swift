// Rooms, their members, each member's unread count and read mark, and each room's history, in
// the gateway's SQLite file (WAL, next to history and attachments).
//
// Every method runs SQL and may wait on the file: call it from the blocking-work pool, never
// from an event loop. One connection behind a lock: room writes are one small transaction each
// (an event: one insert and one update of the members' counters).
//
// Unread counts live in `room_members.unread`, updated in the same transaction that appends the
// event, so a count is never ahead of or behind the room's history and survives restarts as is.
import Logging

public final class SQLiteRoomStore: RoomStore, @unchecked Sendable {  // `connection` is only touched while `lock` is held
    private let lock = LockWithCondition()
    private var connection: SQLiteConnection?
    private let logger: Logger
    /// `[history] per_room`: a room keeps its newest this many events.
    private let eventsPerRoom: Int

    public init(path: String, eventsPerRoom: Int = 10_000, logger: Logger = Logger(label: "gateway.store.rooms")) throws(StoreError) {
        self.logger = logger
        self.eventsPerRoom = max(1, eventsPerRoom)
        connection = try StoreSchema.openMigrated(path: path, logger: logger)
    }

    /// Keeps rooms in the history's database file.
    public convenience init(history: HistoryStore, eventsPerRoom: Int = 10_000,
                            logger: Logger = Logger(label: "gateway.store.rooms")) throws(StoreError) {
        try self.init(path: history.path, eventsPerRoom: eventsPerRoom, logger: logger)
    }

    public func close() {
        lock.withLock {
            connection?.close()
            connection = nil
        }
    }

    func withConnection<T>(_ body: (SQLiteConnection) throws(StoreError) -> T) throws(StoreError) -> T {
        let result: Result<T, StoreError> = lock.withLock {
            guard let connection else { return .failure(.closed("room store")) }
            do throws(StoreError) { return .success(try body(connection)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    // MARK: Rooms and members

    /// Creates a room with a fresh random id and its first members.
    public func createRoom(title: String, host: String, members: [MemberRecord]) throws(StoreError) -> RoomRecord {
        let id = RandomToken.make(length: 16)
        let now = Timestamp.now()
        try withConnection { connection throws(StoreError) in
            try connection.transaction { () throws(StoreError) in
                try connection.withStatement("INSERT INTO rooms (id, title, created_at, updated_at, host) VALUES (?, ?, ?, ?, ?)") { statement throws(StoreError) in
                    statement.bind(1, id)
                    statement.bind(2, title)
                    statement.bind(3, now)
                    statement.bind(4, now)
                    statement.bind(5, host)
                    try statement.run()
                }
                for member in members { try Self.upsert(member, room: id, connection) }
            }
        }
        return RoomRecord(id: id, title: title, host: host, createdAt: now, updatedAt: now, lastEventId: nil)
    }

    public func room(_ id: String) throws(StoreError) -> RoomRecord? {
        try withConnection { connection throws(StoreError) in try Self.room(id, connection) }
    }

    public func members(of room: String) throws(StoreError) -> [MemberRecord] {
        try withConnection { connection throws(StoreError) in try Self.members(of: room, connection) }
    }

    /// Adds `member` or replaces its state, permissions, notification level and presence flag
    /// (its read mark and unread count stay). Returns false when the room does not exist.
    public func putMember(_ member: MemberRecord, room: String) throws(StoreError) -> Bool {
        try withConnection { connection throws(StoreError) in
            try connection.transaction { () throws(StoreError) in
                guard try Self.room(room, connection) != nil else { return false }
                try Self.upsert(member, room: room, connection)
                try Self.touch(room, connection)
                return true
            }
        }
    }

    /// Returns false when `member` was not in the room.
    public func removeMember(_ member: String, room: String) throws(StoreError) -> Bool {
        try withConnection { connection throws(StoreError) in
            try connection.transaction { () throws(StoreError) in
                try connection.withStatement("DELETE FROM room_members WHERE room_id = ? AND member = ?") { statement throws(StoreError) in
                    statement.bind(1, room)
                    statement.bind(2, member)
                    try statement.run()
                }
                let removed = connection.changes > 0
                if removed { try Self.touch(room, connection) }
                return removed
            }
        }
    }

    /// The rooms in which any of `principals` is a member, most recently active first, with the
    /// membership row of the first of `principals` found in each room and the newest event.
    public func rooms(forAnyOf principals: [String], limit: Int) throws(StoreError) -> [RoomSummary] {
        guard !principals.isEmpty, limit > 0 else { return [] }
        let placeholders = Array(repeating: "?", count: principals.count).joined(separator: ", ")
        return try withConnection { connection throws(StoreError) in
            var rooms: [String: RoomSummary] = [:]
            var order: [String] = []
            try connection.withStatement(
                """
                SELECT r.id, r.title, r.created_at, r.updated_at, r.last_event_id, r.host,
                       m.member, m.state, m.permissions, m.notify, m.presence, m.last_read, m.unread,
                       (SELECT e.payload FROM room_events AS e WHERE e.room_id = r.id AND e.event_id = r.last_event_id)
                FROM room_members AS m JOIN rooms AS r ON r.id = m.room_id
                WHERE m.member IN (\(placeholders))
                ORDER BY r.updated_at DESC, r.id
                """
            ) { statement throws(StoreError) in
                for (index, principal) in principals.enumerated() { statement.bind(Int32(index + 1), principal) }
                while try statement.step() {
                    let room = Self.roomRow(statement)
                    let membership = Self.memberRow(statement, from: 6)
                    let summary = RoomSummary(room: room, membership: membership,
                                              lastEventPayload: statement.isNull(13) ? nil : statement.blob(13))
                    if let existing = rooms[room.id] {
                        // Prefer the caller's own id (principals[0]) over a group it belongs to.
                        if membership.member == principals[0] && existing.membership.member != principals[0] { rooms[room.id] = summary }
                    } else {
                        rooms[room.id] = summary
                        order.append(room.id)
                    }
                }
            }
            return order.prefix(limit).compactMap { rooms[$0] }
        }
    }

    /// The rooms `member` belongs to (presence: whose rooms to tell when it comes online).
    public func roomIds(ofMember member: String) throws(StoreError) -> [String] {
        try withConnection { connection throws(StoreError) in
            try connection.withStatement("SELECT room_id FROM room_members WHERE member = ? ORDER BY room_id") { statement throws(StoreError) in
                statement.bind(1, member)
                var rooms: [String] = []
                while try statement.step() { rooms.append(statement.string(0)) }
                return rooms
            }
        }
    }

    // MARK: Events and unread

    /// Appends an event to the room's history and counts it unread for every member but the
    /// sender that may read the room. Returns the new counts of those members.
    public func appendEvent(id: Int64, room: String, sender: String, payload: [UInt8]) throws(StoreError) -> [UnreadCount] {
        try withConnection { connection throws(StoreError) in
            try connection.transaction { () throws(StoreError) in
                try connection.withStatement("INSERT OR IGNORE INTO room_events (room_id, event_id, sender, payload) VALUES (?, ?, ?, ?)") { statement throws(StoreError) in
                    statement.bind(1, room)
                    statement.bind(2, id)
                    statement.bind(3, sender)
                    statement.bind(4, blob: payload)
                    try statement.run()
                }
                // Appended before (a retry): counted already.
                let isNew = connection.changes > 0
                // Bounded history: the events beyond the newest `eventsPerRoom` go (at most one
                // per append once the room is full; the primary key makes it an index range).
                try connection.withStatement(
                    """
                    DELETE FROM room_events WHERE room_id = ?1 AND event_id <=
                        (SELECT event_id FROM room_events WHERE room_id = ?1 ORDER BY event_id DESC LIMIT 1 OFFSET ?2)
                    """
                ) { statement throws(StoreError) in
                    guard isNew else { return }
                    statement.bind(1, room)
                    statement.bind(2, Int64(eventsPerRoom))
                    try statement.run()
                }
                try connection.withStatement("UPDATE rooms SET last_event_id = max(coalesce(last_event_id, 0), ?), updated_at = ? WHERE id = ?") { statement throws(StoreError) in
                    statement.bind(1, id)
                    statement.bind(2, Timestamp.now())
                    statement.bind(3, room)
                    try statement.run()
                }
                try connection.withStatement(
                    "UPDATE room_members SET unread = unread + 1 WHERE room_id = ? AND member != ? AND last_read < ? AND (' ' || permissions || ' ') LIKE '% read %'"
                ) { statement throws(StoreError) in
                    guard isNew else { return }
                    statement.bind(1, room)
                    statement.bind(2, sender)
                    statement.bind(3, id)
                    try statement.run()
                }
                return try Self.members(of: room, connection)
                    .filter { $0.member != sender && $0.permissions.contains("read") }
                    .map { UnreadCount(member: $0.member, unread: $0.unread, lastRead: $0.lastRead) }
            }
        }
    }

    /// Marks the room read by `member` up to `eventId` (a read mark never moves back) and
    /// recounts what is still unread. nil when `member` is not in the room.
    public func markRead(room: String, member: String, upTo eventId: Int64) throws(StoreError) -> UnreadCount? {
        try withConnection { connection throws(StoreError) in
            try connection.transaction { () throws(StoreError) in
                try connection.withStatement(
                    """
                    UPDATE room_members SET last_read = max(last_read, ?1),
                        unread = (SELECT count(*) FROM room_events AS e
                                  WHERE e.room_id = ?2 AND e.event_id > max(room_members.last_read, ?1) AND e.sender != ?3)
                    WHERE room_id = ?2 AND member = ?3
                    """
                ) { statement throws(StoreError) in
                    statement.bind(1, eventId)
                    statement.bind(2, room)
                    statement.bind(3, member)
                    try statement.run()
                }
                guard connection.changes > 0 else { return nil }
                return try Self.members(of: room, connection).first { $0.member == member }
                    .map { UnreadCount(member: $0.member, unread: $0.unread, lastRead: $0.lastRead) }
            }
        }
    }

    /// The room's events before `before` (all when nil), newest first, at most `limit`.
    public func events(room: String, before: Int64?, limit: Int) throws(StoreError) -> [(id: Int64, payload: [UInt8])] {
        guard limit > 0 else { return [] }
        return try withConnection { connection throws(StoreError) in
            try connection.withStatement(
                "SELECT event_id, payload FROM room_events WHERE room_id = ? AND event_id < ? ORDER BY event_id DESC LIMIT ?"
            ) { statement throws(StoreError) in
                statement.bind(1, room)
                statement.bind(2, before ?? Int64.max)
                statement.bind(3, limit)
                var rows: [(id: Int64, payload: [UInt8])] = []
                while try statement.step() { rows.append((statement.int64(0), statement.blob(1))) }
                return rows
            }
        }
    }

    // MARK: Rows

    private static func room(_ id: String, _ connection: SQLiteConnection) throws(StoreError) -> RoomRecord? {
        try connection.withStatement("SELECT id, title, created_at, updated_at, last_event_id, host FROM rooms WHERE id = ?") { statement throws(StoreError) in
            statement.bind(1, id)
            return try statement.step() ? roomRow(statement) : nil
        }
    }

    private static func members(of room: String, _ connection: SQLiteConnection) throws(StoreError) -> [MemberRecord] {
        try connection.withStatement(
            "SELECT member, state, permissions, notify, presence, last_read, unread FROM room_members WHERE room_id = ? ORDER BY member"
        ) { statement throws(StoreError) in
            statement.bind(1, room)
            var rows: [MemberRecord] = []
            while try statement.step() { rows.append(memberRow(statement, from: 0)) }
            return rows
        }
    }

    private static func upsert(_ member: MemberRecord, room: String, _ connection: SQLiteConnection) throws(StoreError) {
        try connection.withStatement(
            """
            INSERT INTO room_members (room_id, member, state, permissions, notify, presence) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (room_id, member) DO UPDATE SET state = excluded.state, permissions = excluded.permissions,
                notify = excluded.notify, presence = excluded.presence
            """
        ) { statement throws(StoreError) in
            statement.bind(1, room)
            statement.bind(2, member.member)
            statement.bind(3, member.state)
            statement.bind(4, member.permissions.joined(separator: " "))
            statement.bind(5, member.notify)
            statement.bind(6, member.presenceEvents ? 1 : 0)
            try statement.run()
        }
    }

    private static func touch(_ room: String, _ connection: SQLiteConnection) throws(StoreError) {
        try connection.withStatement("UPDATE rooms SET updated_at = ? WHERE id = ?") { statement throws(StoreError) in
            statement.bind(1, Timestamp.now())
            statement.bind(2, room)
            try statement.run()
        }
    }

    private static func roomRow(_ statement: SQLiteStatement) -> RoomRecord {
        RoomRecord(id: statement.string(0), title: statement.string(1), host: statement.string(5), createdAt: statement.string(2),
                   updatedAt: statement.string(3), lastEventId: statement.isNull(4) ? nil : statement.int64(4))
    }

    private static func memberRow(_ statement: SQLiteStatement, from first: Int32) -> MemberRecord {
        MemberRecord(member: statement.string(first), state: statement.string(first + 1),
                     permissions: statement.string(first + 2).split(separator: " ").map(String.init),
                     notify: statement.string(first + 3), presenceEvents: statement.int(first + 4) != 0,
                     lastRead: statement.int64(first + 5), unread: statement.int(first + 6))
    }
}
