import GatewayAuth
import GatewayCore
import GatewayJSON
import GatewayStore
import NIOCore
import NIOHTTP1
import NIOPosix

/// /api/v1/rooms (docs/client-protocol.md, "Rooms"):
///
///     POST   /api/v1/rooms                          create {"title", "members": [...]}
///     GET    /api/v1/rooms                          my rooms, with unread counts and last event
///     GET    /api/v1/rooms/<id>                     the room and its members
///     POST   /api/v1/rooms/<id>/members             add or change a member
///     PATCH  /api/v1/rooms/<id>/members/<member>    change a member (only the fields given)
///     DELETE /api/v1/rooms/<id>/members/<member>    remove a member (or leave)
///     GET    /api/v1/rooms/<id>/events?before=&limit=   the room's history, newest first
///     POST   /api/v1/rooms/<id>/read                {"id": N}: read mark
///     GET    /api/v1/rooms/<id>/presence?after=&limit=  who of the room is online, paged by id
///     POST   /api/v1/rooms/<id>/subscribe               a non-member (admin) receives its live events
///     DELETE /api/v1/rooms/<id>/subscribe               stop
///
/// Parsing and authentication here, on the event loop; every store access on the pool.
struct RoomRoutes: Sendable {
    static let prefix = "/api/v1/rooms"
    static let maxLimit = 200

    let authenticator: Authenticator
    let rooms: RoomService
    let presence: RoomPresence
    let pool: NIOThreadPool
    let defaultHost: String

    func handle(_ request: APIRequest, eventLoop: EventLoop) -> EventLoopFuture<HTTPResponse> {
        let caller: Identity
        switch authenticator.identify(head: request.head, query: request.target.query) {
        case .success(let value): caller = value
        case .failure(let error): return eventLoop.makeSucceededFuture(.error(error))
        }
        let segments = request.target.path.dropFirst(Self.prefix.count).split(separator: "/", omittingEmptySubsequences: false)
            .dropFirst().map { RequestTarget.percentDecode(String($0)) }
        let method = request.head.method
        let host = request.head.headers.first(name: "Origin") ?? defaultHost
        let work: @Sendable () throws(GatewayError) -> HTTPResponse
        switch (method, segments.count, segments.count > 1 ? segments[1] : "") {
        case (.GET, 0, _), (.HEAD, 0, _):
            let limit = request.target.query["limit"]
            work = { () throws(GatewayError) in try list(caller, limit: limit) }
        case (.POST, 0, _):
            let body = try? parseBody(request)
            work = { () throws(GatewayError) in try create(body, caller, host: host) }
        case (.GET, 1, _), (.HEAD, 1, _):
            let id = segments[0]
            work = { () throws(GatewayError) in
                let (room, members, _) = try rooms.room(id, for: caller)
                return .json(.ok, Self.roomJSON(room, members: members))
            }
        case (.POST, 2, "members"):
            let id = segments[0], body = try? parseBody(request)
            work = { () throws(GatewayError) in
                guard let body else { throw .badRoomRequest("The body must be a JSON member object.") }
                let member = try RoomMember.parse(body.view)
                return .json(.ok, try rooms.putMember(member, room: id, by: caller, host: host).json)
            }
        case (.PATCH, 3, "members"):
            let id = segments[0], memberId = segments[2], body = try? parseBody(request)
            work = { () throws(GatewayError) in
                guard let body else { throw .badRoomRequest("The body must be a JSON object of the fields to change.") }
                let (_, members, _) = try rooms.room(id, for: caller)
                guard let current = members.first(where: { $0.id == memberId }) else {
                    throw GatewayError(code: "room.member_not_found", message: "'\(memberId)' is not a member of room '\(id)'.", status: 404)
                }
                let member = try RoomMember.parse(body.view, base: current, id: memberId)
                return .json(.ok, try rooms.putMember(member, room: id, by: caller, host: host).json)
            }
        case (.DELETE, 3, "members"):
            let id = segments[0], memberId = segments[2]
            work = { () throws(GatewayError) in
                try rooms.removeMember(memberId, room: id, by: caller, host: host)
                return HTTPResponse(status: .noContent, contentType: "application/json", body: [])
            }
        case (.GET, 2, "events"), (.HEAD, 2, "events"):
            let id = segments[0], before = request.target.query["before"], limit = request.target.query["limit"]
            work = { () throws(GatewayError) in try events(id, before: before, limit: limit, caller) }
        case (.GET, 2, "presence"), (.HEAD, 2, "presence"):
            let id = segments[0], after = request.target.query["after"], limit = request.target.query["limit"]
            work = { () throws(GatewayError) in
                let (_, members, _) = try rooms.room(id, for: caller)
                let pageSize = try Self.limit(limit)
                let (page, total) = try presence.onlineMembers(of: members, after: after.flatMap { $0.isEmpty ? nil : $0 }, limit: pageSize)
                let body = JSON.object()
                body.set("room", id)
                body.set("online", .strings(page))
                body.set("count", .integer(total))
                // The next page: pass it as `after`; null when this page was the last.
                body.set("after", page.count == pageSize ? page.last.map { .string($0) } ?? .null() : .null())
                return .json(.ok, body)
            }
        case (.POST, 2, "subscribe"):
            let id = segments[0]
            work = { () throws(GatewayError) in
                let previous = try rooms.watch(id, by: caller)
                let answer = JSON.object()
                answer.set("room", id)
                answer.set("subscribed", .bool(true))
                answer.set("replaced", previous.map { .string($0) } ?? .null())
                return .json(.ok, answer)
            }
        case (.DELETE, 2, "subscribe"):
            let id = segments[0]
            work = { () throws(GatewayError) in
                try rooms.unwatch(id, by: caller)
                return HTTPResponse(status: .noContent, contentType: "application/json", body: [])
            }
        case (.POST, 2, "read"):
            let id = segments[0], body = try? parseBody(request)
            work = { () throws(GatewayError) in
                guard let eventId = body?.view["id"].int, eventId > 0 else {
                    throw .badRoomRequest("A read mark is {\"id\": N}: the id of the newest event read.")
                }
                let count = try rooms.markRead(room: id, upTo: Int64(eventId), by: caller, host: host)
                let answer = JSON.object()
                answer.set("room", id)
                answer.set("unread", .integer(count.unread))
                answer.set("last_read", .integer(Int(count.lastRead)))
                return .json(.ok, answer)
            }
        default:
            guard [.GET, .HEAD, .POST, .PATCH, .DELETE].contains(method), segments.count <= 3 else {
                return eventLoop.makeSucceededFuture(.error(.methodNotAllowed(method, request.target.path)))
            }
            return eventLoop.makeSucceededFuture(.error(.notFound(request.target.path)))
        }
        return pool.runIfActive(eventLoop: eventLoop) { () -> HTTPResponse in
            do throws(GatewayError) { return try work() } catch { return .error(error) }
        }
    }

    private func parseBody(_ request: APIRequest) throws -> JSON {
        let json = try JSON.parse(Array(request.body.readableBytesView))
        guard json.view.isObject else { throw GatewayError.badRoomRequest("The body must be a JSON object.") }
        return json
    }

    private func list(_ caller: Identity, limit text: String?) throws(GatewayError) -> HTTPResponse {
        let limit = try Self.limit(text)
        let list = JSON.array()
        for summary in try rooms.rooms(of: caller, limit: limit) {
            let room = Self.roomJSON(summary.room, members: nil)
            room.set("unread", .integer(summary.membership.unread))
            room.set("last_read", .integer(Int(summary.membership.lastRead)))
            if let membership = RoomService.member(summary.membership) { room.set("membership", membership.json) }
            if let payload = summary.lastEventPayload, let event = try? JSON.parse(payload) {
                room.set("last_event", event)
            } else {
                room.set("last_event", .null())
            }
            list.append(room)
        }
        let body = JSON.object()
        body.set("rooms", list)
        return .json(.ok, body)
    }

    private func create(_ body: JSON?, _ caller: Identity, host: String) throws(GatewayError) -> HTTPResponse {
        guard let view = body?.view else {
            throw .badRoomRequest("The body must be a JSON object like {\"title\": \"Support\", \"members\": [{\"id\": \"bob\"}]}.")
        }
        if let unknown = view.members.first(where: { $0.key != "title" && $0.key != "members" }) {
            throw .badRoomRequest("Unknown room field '\(unknown.key)'; use title and members.")
        }
        let title = view["title"].string ?? ""
        guard !view["title"].exists || view["title"].string != nil, title.utf8.count <= 1024 else {
            throw .badRoomRequest("'title' must be a string of at most 1024 bytes.")
        }
        let list = view["members"]
        guard !list.exists || list.isArray, list.count <= 10_000 else {
            throw .badRoomRequest("'members' must be an array of at most 10,000 member objects.")
        }
        var members: [RoomMember] = []
        var seen = Set<String>()
        for element in list.elements {
            let member = try RoomMember.parse(element)
            guard seen.insert(member.id).inserted else { throw .badRoomRequest("Member '\(member.id)' is listed twice.") }
            members.append(member)
        }
        let (room, all) = try rooms.create(title: title, members: members, by: caller, host: host)
        return .json(.created, Self.roomJSON(room, members: all))
    }

    private func events(_ id: String, before text: String?, limit limitText: String?, _ caller: Identity) throws(GatewayError) -> HTTPResponse {
        var before: Int64?
        if let text, !text.isEmpty {
            guard let value = Int64(text), value > 0 else { throw .badRoomRequest("'before' must be an event id (a positive integer).") }
            before = value
        }
        let limit = try Self.limit(limitText)
        let list = JSON.array()
        var oldest: Int64?
        let rows = try rooms.events(room: id, before: before, limit: limit, for: caller)
        for (eventId, payload) in rows {
            if let event = try? JSON.parse(payload) { list.append(event) }
            oldest = eventId
        }
        let body = JSON.object()
        body.set("room", id)
        body.set("events", list)
        // The next page: pass it as `before`; null when this page was the last.
        body.set("before", rows.count == limit ? oldest.map { .integer(Int($0)) } ?? .null() : .null())
        return .json(.ok, body)
    }

    private static func limit(_ text: String?) throws(GatewayError) -> Int {
        guard let text, !text.isEmpty else { return 50 }
        guard let value = Int(text), value >= 1, value <= maxLimit else {
            throw .badRoomRequest("'limit' must be between 1 and \(maxLimit).")
        }
        return value
    }

    static func roomJSON(_ room: RoomRecord, members: [RoomMember]?) -> JSON {
        let object = JSON.object()
        object.set("id", room.id)
        object.set("title", room.title)
        object.set("created", room.createdAt)
        object.set("updated", room.updatedAt)
        object.set("last_id", room.lastEventId.map { .integer(Int($0)) } ?? .null())
        if let members {
            let list = JSON.array()
            for member in members { list.append(member.json) }
            object.set("members", list)
        }
        return object
    }
}
