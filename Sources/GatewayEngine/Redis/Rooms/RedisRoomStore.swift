import GatewayCore
import GatewayRedis
import GatewayStore
import Logging

/// Rooms in Redis (`[engine] kind = "redis"`): every node reads and writes the same rooms,
/// members, unread counts, read marks, room history and watchers, so a room created on one node
/// is a target on every node, and a membership change applies to the next event whichever node
/// routes it. What members are told (`unread`, `room.member`) goes through the engine's signals,
/// which reach every node's connections. Key layout and scripts: RedisRoomScripts.swift.
///
/// Each call is one round trip or a few (blocking: call it on the blocking-work pool, never on an
/// event loop); the I/O runs on the command queue's own thread. While Redis is unreachable every
/// call fails at once with `store.redis_unavailable` (the HTTP answer is 503 `room.store_unavailable`).
public final class RedisRoomStore: RoomStore {
    private let commands: RedisCommandQueue
    private let prefix: String
    /// `[history] per_room`: a room keeps its newest this many events.
    private let eventsPerRoom: Int

    /// `commands` is started and stopped by its owner (RedisRooms).
    init(commands: RedisCommandQueue, prefix: String, eventsPerRoom: Int) {
        self.commands = commands
        self.prefix = prefix
        self.eventsPerRoom = max(1, eventsPerRoom)
    }

    public func close() {}

    // MARK: Rooms and members

    public func createRoom(title: String, host: String, members: [MemberRecord]) throws(StoreError) -> RoomRecord {
        let now = Timestamp.now()
        for _ in 0..<3 {
            let id = RandomToken.make(length: 16)
            var arguments = [prefix, id, title, now, host].map(\.bytes)
            for member in members { arguments += [member.member.bytes, RedisMemberValue.encode(member).bytes] }
            if try run(.roomCreate, arguments) == .integer(1) {
                return RoomRecord(id: id, title: title, host: host, createdAt: now, updatedAt: now, lastEventId: nil)
            }
        }
        throw StoreError(code: Self.failedCode, message: "three random room ids in a row were taken")
    }

    public func room(_ id: String) throws(StoreError) -> RoomRecord? {
        let reply = try send(["HMGET", roomKey(id), "title", "created_at", "updated_at", "last_event_id", "host"])
        guard case .array(let fields) = reply, fields.count == 5, let title = fields[0].text else { return nil }
        return RoomRecord(id: id, title: title, host: fields[4].text ?? "", createdAt: fields[1].text ?? "", updatedAt: fields[2].text ?? "",
                          lastEventId: fields[3].text.flatMap { Int64($0) })
    }

    public func members(of room: String) throws(StoreError) -> [MemberRecord] {
        let key = roomKey(room)
        let replies = try sendAll([["HGETALL", key + ":members"], ["HGETALL", key + ":read"], ["HGETALL", key + ":unread"]])
        let reads = Self.pairs(replies[1]), unread = Self.pairs(replies[2])
        return Self.pairs(replies[0]).compactMap { member, value in
            RedisMemberValue.decode(value, member: member, lastRead: reads[member].flatMap { Int64($0) } ?? 0,
                                    unread: unread[member].flatMap { Int($0) } ?? 0)
        }.sorted { $0.member < $1.member }
    }

    public func putMember(_ member: MemberRecord, room: String) throws(StoreError) -> Bool {
        try run(.roomPutMember, [prefix, room, member.member, RedisMemberValue.encode(member), Timestamp.now()].map(\.bytes)) == .integer(1)
    }

    public func removeMember(_ member: String, room: String) throws(StoreError) -> Bool {
        try run(.roomRemoveMember, [prefix, room, member, Timestamp.now()].map(\.bytes)) == .integer(1)
    }

    public func rooms(forAnyOf principals: [String], limit: Int) throws(StoreError) -> [RoomSummary] {
        guard !principals.isEmpty, limit > 0 else { return [] }
        let sets = try sendAll(principals.map { ["SMEMBERS", memberRoomsKey($0)] })
        // Each room once, with the first of `principals` (the caller's own id first) in it.
        var memberOf: [String: String] = [:]
        for (principal, reply) in zip(principals, sets) {
            for room in Self.strings(reply) where memberOf[room] == nil { memberOf[room] = principal }
        }
        // One round trip for all the rooms (a pipeline of the summary script), not one per room.
        let rooms = Array(memberOf)
        let replies = try Self.checkedEach(RedisEngine.evaluateEach(.roomSummary, arguments: rooms.map { [prefix, $0.key, $0.value].map(\.bytes) },
                                                                     on: commands))
        var summaries: [RoomSummary] = []
        for ((room, principal), reply) in zip(rooms, replies) {
            guard case .array(let parts) = reply, parts.count == 9,
                  let value = parts[4].text,
                  let membership = RedisMemberValue.decode(value, member: principal, lastRead: Int64(parts[5].text ?? "") ?? 0,
                                                           unread: Int(parts[6].text ?? "") ?? 0) else { continue }
            let record = RoomRecord(id: room, title: parts[0].text ?? "", host: parts[8].text ?? "", createdAt: parts[1].text ?? "",
                                    updatedAt: parts[2].text ?? "", lastEventId: Int64(parts[3].text ?? ""))
            let payload: [UInt8]? = if case .string(let bytes) = parts[7], !bytes.isEmpty { bytes } else { nil }
            summaries.append(RoomSummary(room: record, membership: membership, lastEventPayload: payload))
        }
        summaries.sort { ($0.room.updatedAt, $1.room.id) > ($1.room.updatedAt, $0.room.id) }
        return Array(summaries.prefix(limit))
    }

    public func roomIds(ofMember member: String) throws(StoreError) -> [String] {
        Self.strings(try send(["SMEMBERS", memberRoomsKey(member)])).sorted()
    }

    // MARK: Events and unread

    public func appendEvent(id: Int64, room: String, sender: String, payload: [UInt8]) throws(StoreError) -> [UnreadCount] {
        let reply = try run(.roomAppend, [prefix, room, String(id), sender].map(\.bytes) + [payload, Timestamp.now().bytes, String(eventsPerRoom).bytes])
        guard case .array(let parts) = reply else { throw unexpected(reply) }
        return stride(from: 0, to: parts.count - 2, by: 3).compactMap { index in
            guard let member = parts[index].text, case .integer(let unread) = parts[index + 1],
                  case .integer(let lastRead) = parts[index + 2] else { return nil }
            return UnreadCount(member: member, unread: unread, lastRead: Int64(lastRead))
        }
    }

    public func markRead(room: String, member: String, upTo eventId: Int64) throws(StoreError) -> UnreadCount? {
        let reply = try run(.roomMarkRead, [prefix, room, member, String(eventId)].map(\.bytes))
        guard case .array(let parts) = reply, parts.count == 2, case .integer(let unread) = parts[0],
              case .integer(let lastRead) = parts[1] else { return nil }
        return UnreadCount(member: member, unread: unread, lastRead: Int64(lastRead))
    }

    public func events(room: String, before: Int64?, limit: Int) throws(StoreError) -> [(id: Int64, payload: [UInt8])] {
        guard limit > 0 else { return [] }
        let reply = try run(.roomEvents, [prefix, room, before.map { "(\($0)" } ?? "+inf", String(limit)].map(\.bytes))
        guard case .array(let parts) = reply else { throw unexpected(reply) }
        return stride(from: 0, to: parts.count - 1, by: 2).compactMap { index in
            guard let id = parts[index].text.flatMap({ Int64($0) }), case .string(let payload) = parts[index + 1] else { return nil }
            return (id, payload)
        }
    }

    // MARK: Watchers

    public func watch(room: String, principal: String) throws(StoreError) -> String? {
        try run(.roomWatch, [prefix, room, principal].map(\.bytes)).text
    }

    public func unwatch(room: String, principal: String) throws(StoreError) -> Bool {
        try run(.roomUnwatch, [prefix, room, principal].map(\.bytes)) == .integer(1)
    }

    public func watchers(of room: String) throws(StoreError) -> [String] {
        Self.strings(try send(["SMEMBERS", roomKey(room) + ":watchers"])).sorted()
    }

    // MARK: Redis

    static let unavailableCode = "store.redis_unavailable"
    static let failedCode = "store.redis_failed"

    private func roomKey(_ id: String) -> String { prefix + ":room:" + id }
    private func memberRoomsKey(_ member: String) -> String { prefix + ":member-rooms:" + member }

    private func run(_ script: RedisScript, _ arguments: [[UInt8]]) throws(StoreError) -> RedisReply {
        try Self.checked(RedisEngine.evaluate(script, keys: [], arguments: arguments, on: commands))
    }

    private func send(_ command: [String]) throws(StoreError) -> RedisReply {
        try sendAll([command])[0]
    }

    private func sendAll(_ commands: [[String]]) throws(StoreError) -> [RedisReply] {
        try Self.checkedEach(self.commands.sendAndWait(commands.map { $0.map(\.bytes) }))
    }

    /// Every reply checked as `checked` checks one.
    static func checkedEach(_ result: Result<[RedisReply], RedisConnectionError>) throws(StoreError) -> [RedisReply] {
        switch result {
        case .success(let replies):
            for reply in replies { _ = try checked(.success(reply)) }
            return replies
        case .failure(let error): throw StoreError(code: unavailableCode, message: "Redis: \(error)")
        }
    }

    static func checked(_ result: Result<RedisReply, RedisConnectionError>) throws(StoreError) -> RedisReply {
        switch result {
        case .success(.error(let message)): throw StoreError(code: failedCode, message: "Redis answered: \(message)")
        case .success(let reply): return reply
        case .failure(let error): throw StoreError(code: unavailableCode, message: "Redis: \(error)")
        }
    }

    private func unexpected(_ reply: RedisReply) -> StoreError {
        StoreError(code: Self.failedCode, message: "unexpected answer from Redis: \(reply)")
    }

    private static func strings(_ reply: RedisReply) -> [String] {
        guard case .array(let items) = reply else { return [] }
        return items.compactMap(\.text)
    }

    /// HGETALL's flat field, value list as a dictionary.
    private static func pairs(_ reply: RedisReply) -> [String: String] {
        let items = strings(reply)
        var table: [String: String] = [:]
        for index in stride(from: 0, to: items.count - 1, by: 2) { table[items[index]] = items[index + 1] }
        return table
    }
}

/// A member's row as one hash value: "state\tpermissions\tnotify\tpresence" (permissions
/// space-separated, presence 0/1). The scripts read the permissions field (roomAppend: only
/// members with `read` count unread).
enum RedisMemberValue {
    static func encode(_ member: MemberRecord) -> String {
        [member.state, member.permissions.joined(separator: " "), member.notify, member.presenceEvents ? "1" : "0"].joined(separator: "\t")
    }

    static func decode(_ value: String, member: String, lastRead: Int64, unread: Int) -> MemberRecord? {
        let fields = value.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 4 else { return nil }
        return MemberRecord(member: member, state: fields[0], permissions: fields[1].split(separator: " ").map(String.init),
                            notify: fields[2], presenceEvents: fields[3] == "1", lastRead: lastRead, unread: unread)
    }
}
