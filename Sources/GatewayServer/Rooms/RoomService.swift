import GatewayAuth
import GatewayCore
import GatewayJSON
import GatewayStore
import Logging

/// Rooms: who may do what in a room, and what members are told. The store (SQLite) owns the
/// state; this type decides and then tells members through the engine's signals (`unread`,
/// `room.member`), which reach their open connections without new tokens.
///
/// Every method reads or writes SQLite: call it on the blocking-work pool, never on an event loop.
final class RoomService: RoomTargets {
    private let store: any RoomStore
    private let engine: any EventEngine
    private let logger: Logger
    /// `[auth] room_watcher_principals`: who besides admins may watch a room without being a member.
    private let watcherPrincipals: Set<String>

    init(store: any RoomStore, engine: any EventEngine, watcherPrincipals: [String] = [], logger: Logger) {
        self.watcherPrincipals = Set(watcherPrincipals)
        self.store = store
        self.engine = engine
        self.logger = logger
    }

    // MARK: The pipeline's seam

    /// Members only; whether the publisher's state lets it write is the guards' decision
    /// (GuardStep: `closed`, `scripted`), made after the plugin guards have seen the event.
    func recipients(ofRooms rooms: [String], publisher: Publisher) throws(GatewayError) -> RoomRecipients {
        var recipients: [String] = []
        var memberships: [RoomMembership] = []
        for room in rooms {
            let members = try read { () throws(StoreError) in try store.members(of: room) }.compactMap(Self.member)
            if !publisher.trusted {
                guard let own = Self.membership(of: publisher.principals.isEmpty ? [publisher.id] : publisher.principals, in: members) else {
                    throw members.isEmpty ? .roomNotFound(room) : .roomNotMember(room)
                }
                memberships.append(RoomMembership(room: room, member: own))
            } else if members.isEmpty {
                throw .roomNotFound(room)
            }
            recipients += members.filter(\.receivesLive).map(\.id)
            recipients += try read { () throws(StoreError) in try store.watchers(of: room) }
        }
        return RoomRecipients(principals: recipients, memberships: memberships)
    }

    func delivered(_ event: Event, payload: [UInt8], rooms: [String]) {
        for room in rooms {
            do throws(StoreError) {
                let counts = try store.appendEvent(id: event.id, room: room, sender: event.senderId, payload: payload)
                // The frame names no member: members with the same count and read mark share one
                // signal (one PUBLISH with the redis engine, not one per member).
                let groups = Dictionary(grouping: counts) { UnreadKey(unread: $0.unread, lastRead: $0.lastRead) }
                for (key, members) in groups.sorted(by: { ($0.key.unread, $0.key.lastRead) < ($1.key.unread, $1.key.lastRead) }) {
                    sendUnread(key, room: room, lastEventId: event.id, to: members.map(\.member), host: event.host)
                }
            } catch {
                // The event was delivered live and is in the members' history; only the room's
                // own history and unread counts miss it.
                logger.error("room event not recorded", metadata: ["room": "\(room)", "id": "\(event.id)", "error": "\(error)"])
            }
        }
    }

    // MARK: HTTP operations (each for an authenticated caller)

    /// Creates a room; the caller becomes a member with every permission unless it lists itself.
    /// Each member's open connections are told they were added (one `room.member` frame each,
    /// about themselves), so a page lists the new room without polling.
    func create(title: String, members: [RoomMember], by caller: Identity, host: String) throws(GatewayError) -> (RoomRecord, [RoomMember]) {
        var all = members
        if !all.contains(where: { $0.id == caller.id }) {
            all.insert(RoomMember(id: caller.id, permissions: Set(RoomMember.Permission.allCases)), at: 0)
        }
        let room = try write { () throws(StoreError) in try store.createRoom(title: title, host: host, members: all.map(Self.record)) }
        for member in all { announce("added", member: member, room: room.id, to: [member.id], host: host) }
        return (room, all)
    }

    /// The room and its members, for a member of it.
    func room(_ id: String, for caller: Identity) throws(GatewayError) -> (RoomRecord, [RoomMember], RoomMember) {
        let (room, members, own) = try roomAndMembership(id, caller: caller)
        return (room, members, own)
    }

    /// Adds or changes a member (manage permission), then tells every member and the changed one.
    func putMember(_ member: RoomMember, room id: String, by caller: Identity, host: String) throws(GatewayError) -> RoomMember {
        let (_, members, own) = try roomAndMembership(id, caller: caller)
        let changesState = members.first(where: { $0.id == member.id }).map { $0.state == .scripted && member.state != .scripted } ?? false
        guard own.permissions.contains(.manage) || (changesState && own.permissions.contains(.breakScripted) && member.id != own.id) else {
            throw .roomManageForbidden(id)
        }
        _ = try write { () throws(StoreError) in try store.putMember(Self.record(member), room: id) }
        let change = members.contains(where: { $0.id == member.id }) ? "changed" : "added"
        announce(change, member: member, room: id, to: Set(members.map(\.id)).union([member.id]), host: host)
        return member
    }

    /// A plugin sets a member's state (ABI 1.3 set_member_state: a scripted flow starting,
    /// finishing or being broken); every member is told, as for a change over HTTP, on the
    /// room's host (`fallbackHost` for rooms made before rooms recorded one).
    func setMemberState(_ state: RoomMember.State, member memberId: String, room id: String, fallbackHost: String) throws(GatewayError) {
        let (room, records) = try read { () throws(StoreError) in (try store.room(id), try store.members(of: id)) }
        let members = records.compactMap(Self.member)
        guard let room, !members.isEmpty else { throw .roomNotFound(id) }
        let host = room.host.isEmpty ? fallbackHost : room.host
        guard var member = members.first(where: { $0.id == memberId }) else {
            throw GatewayError(code: "room.member_not_found", message: "'\(memberId)' is not a member of room '\(id)'.", status: 404)
        }
        guard member.state != state else { return }
        member.state = state
        _ = try write { () throws(StoreError) in try store.putMember(Self.record(member), room: id) }
        announce("changed", member: member, room: id, to: Set(members.map(\.id)), host: host)
    }

    /// Removes a member (manage permission, or the member itself leaving).
    func removeMember(_ memberId: String, room id: String, by caller: Identity, host: String) throws(GatewayError) {
        let (_, members, own) = try roomAndMembership(id, caller: caller)
        guard own.permissions.contains(.manage) || own.id == memberId else { throw .roomManageForbidden(id) }
        guard let removed = members.first(where: { $0.id == memberId }) else {
            throw GatewayError(code: "room.member_not_found", message: "'\(memberId)' is not a member of room '\(id)'.", status: 404)
        }
        _ = try write { () throws(StoreError) in try store.removeMember(memberId, room: id) }
        announce("removed", member: removed, room: id, to: Set(members.map(\.id)), host: host)
    }

    func rooms(of caller: Identity, limit: Int) throws(GatewayError) -> [RoomSummary] {
        try read { () throws(StoreError) in try store.rooms(forAnyOf: caller.principals, limit: limit) }
    }

    /// A room's history for a member with the read permission, newest first.
    func events(room id: String, before: Int64?, limit: Int, for caller: Identity) throws(GatewayError) -> [(id: Int64, payload: [UInt8])] {
        let (_, _, own) = try roomAndMembership(id, caller: caller)
        guard own.permissions.contains(.read) else {
            throw GatewayError(code: "room.read_forbidden", message: "Reading room '\(id)' needs the read permission.", status: 403)
        }
        return try read { () throws(StoreError) in try store.events(room: id, before: before, limit: limit) }
    }

    /// A read mark: clears what the member read and tells its connections the new count.
    func markRead(room id: String, upTo eventId: Int64, by caller: Identity, host: String) throws(GatewayError) -> UnreadCount {
        let (_, _, own) = try roomAndMembership(id, caller: caller)
        guard let count = try write({ () throws(StoreError) in try store.markRead(room: id, member: own.id, upTo: eventId) }) else {
            throw .roomNotMember(id)
        }
        sendUnread(UnreadKey(unread: count.unread, lastRead: count.lastRead), room: id, lastEventId: nil, to: [count.member], host: host)
        return count
    }

    /// The members of a room that receive live events, and its watchers, for a caller who is a
    /// member (typing and read signals in a room).
    func liveMembers(of id: String, for caller: Identity) throws(GatewayError) -> [String] {
        let (_, members, _) = try roomAndMembership(id, caller: caller)
        return members.filter(\.receivesLive).map(\.id) + (try read { () throws(StoreError) in try store.watchers(of: id) })
    }

    // MARK: Watching a room without being a member (chat_api's ws-subscribe)

    /// The caller's connections receive the room's live events (and typing, read marks) from now
    /// on; its watch of another room ends. Admin tokens only (chat_api blocks this by default).
    /// Returns the room it watched before.
    func watch(_ id: String, by caller: Identity) throws(GatewayError) -> String? {
        guard caller.isAdmin || caller.principals.contains(where: watcherPrincipals.contains) else {
            throw GatewayError(code: "room.subscribe_forbidden",
                               message: "Watching a room you are not a member of needs an admin token or one of [auth] room_watcher_principals.",
                               status: 403)
        }
        let (room, members) = try read { () throws(StoreError) in (try store.room(id), try store.members(of: id)) }
        guard room != nil else { throw .roomNotFound(id) }
        if members.contains(where: { $0.member == caller.id }) {
            throw GatewayError(code: "room.already_member", message: "You are a member of room '\(id)': you receive its events already.", status: 409)
        }
        return try write { () throws(StoreError) in try store.watch(room: id, principal: caller.id) }
    }

    func unwatch(_ id: String, by caller: Identity) throws(GatewayError) {
        guard try write({ () throws(StoreError) in try store.unwatch(room: id, principal: caller.id) }) else {
            throw GatewayError(code: "room.not_subscribed", message: "You are not subscribed to room '\(id)'.", status: 404)
        }
    }

    // MARK: Helpers

    private func roomAndMembership(_ id: String, caller: Identity) throws(GatewayError) -> (RoomRecord, [RoomMember], RoomMember) {
        let (room, records) = try read { () throws(StoreError) in (try store.room(id), try store.members(of: id)) }
        guard let room else { throw .roomNotFound(id) }
        let members = records.compactMap(Self.member)
        guard let own = Self.membership(of: caller.principals, in: members) else { throw .roomNotFound(id) }
        return (room, members, own)
    }

    /// The caller's membership: its own id first, else the first of its principals that is a member.
    private static func membership(of principals: [String], in members: [RoomMember]) -> RoomMember? {
        for principal in principals {
            if let member = members.first(where: { $0.id == principal }) { return member }
        }
        return nil
    }

    private struct UnreadKey: Hashable {
        let unread: Int
        let lastRead: Int64
    }

    private func sendUnread(_ count: UnreadKey, room: String, lastEventId: Int64?, to members: [String], host: String) {
        let frame = JSON.object()
        frame.set("type", "unread")
        frame.set("room", room)
        frame.set("count", .integer(count.unread))
        frame.set("last_read", .integer(Int(count.lastRead)))
        if let lastEventId { frame.set("last_id", .integer(Int(lastEventId))) }
        signal(frame, category: "unread", to: members, host: host)
    }

    private func announce(_ change: String, member: RoomMember, room: String, to recipients: Set<String>, host: String) {
        let frame = JSON.object()
        frame.set("type", "room.member")
        frame.set("room", room)
        frame.set("change", change)
        frame.set("member", member.json)
        signal(frame, category: "room.member", to: recipients.sorted(), host: host)
    }

    /// A gateway-made frame (no sender: every connection of the recipients gets it).
    private func signal(_ frame: JSON, category: String, to recipients: [String], host: String) {
        frame.set("host", host)
        frame.set("timestamp", ISOTimestamp.now())
        let event = Event(id: 0, host: host, senderId: "", category: category, targets: recipients, json: frame)
        engine.signal(OutboundEvent(event, chain: .empty))
    }

    private func read<T>(_ body: () throws(StoreError) -> T) throws(GatewayError) -> T {
        do throws(StoreError) { return try body() } catch {
            logger.error("room store read failed", metadata: ["error": "\(error)"])
            throw GatewayError(code: "room.store_unavailable", message: "Rooms could not be read; see the gateway log.", status: 503)
        }
    }

    private func write<T>(_ body: () throws(StoreError) -> T) throws(GatewayError) -> T {
        do throws(StoreError) { return try body() } catch {
            logger.error("room store write failed", metadata: ["error": "\(error)"])
            throw GatewayError(code: "room.store_unavailable", message: "The room could not be changed; see the gateway log. Retry shortly.", status: 503)
        }
    }

    static func record(_ member: RoomMember) -> MemberRecord {
        MemberRecord(member: member.id, state: member.state.rawValue, permissions: member.permissions.sorted().map(\.rawValue),
                     notify: member.notify.rawValue, presenceEvents: member.presenceEvents)
    }

    static func member(_ record: MemberRecord) -> RoomMember? {
        guard let state = RoomMember.State(rawValue: record.state), let notify = RoomMember.Notify(rawValue: record.notify) else { return nil }
        return RoomMember(id: record.member, state: state, permissions: Set(record.permissions.compactMap(RoomMember.Permission.init(rawValue:))),
                          notify: notify, presenceEvents: record.presenceEvents)
    }
}
