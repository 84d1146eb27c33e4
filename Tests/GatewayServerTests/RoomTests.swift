import Foundation
import GatewayChatClient
import GatewayJSON
import Testing

/// Rooms end to end: real gateway, real WebSocket clients, HTTP over real sockets.
@Suite struct RoomTests {
    /// Creates a room as `owner` and returns its id.
    static func createRoom(_ gateway: TestGateway, owner: String, members: String, title: String = "Support") throws -> String {
        let response = try gateway.http("POST", "/api/v1/rooms", token: owner, headers: [("Content-Type", "application/json")],
                                        body: Array(#"{"title":"\#(title)","members":\#(members)}"#.utf8))
        #expect(response.status == 201, "\(response.text)")
        return try #require(try response.json().view["id"].string)
    }

    static func roomEvent(_ room: String, _ message: String) -> String {
        #"{"category":"chat.message","message":"\#(message)","target":{"rooms":["\#(room)"]}}"#
    }

    /// Publishes "note 1" … "note `count`" to the room and returns their ids.
    static func publishNotes(_ count: Int, to room: String, _ gateway: TestGateway, token: String) throws -> [Int] {
        try (1...count).map { index in
            let response = try gateway.publish(roomEvent(room, "note \(index)"), token: token)
            #expect(response.status == 202, "\(response.text)")
            return try #require(try response.json().view["id"].int)
        }
    }

    @Test func threeMemberRoomRefusesTheClosedMember() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let aliceToken = gateway.token("alice", publish: true)
        let room = try Self.createRoom(gateway, owner: aliceToken,
                                       members: #"[{"id":"bob"},{"id":"carol","state":"closed"}]"#)
        let alice = try await gateway.connect(aliceToken)
        let bob = try await gateway.connect(gateway.token("bob", publish: true))
        let carol = try await gateway.connect(gateway.token("carol", publish: true))
        let dave = try await gateway.connect(gateway.token("dave", publish: true))

        try await alice.sendJSON(#"{"type":"publish","ref":"a1","event":\#(Self.roomEvent(room, "hello room"))}"#)
        let ack = try await alice.nextJSON()
        #expect(ack.view["type"].string == "ack", "\(ack.encodedString())")
        let id = try #require(ack.view["id"].int)
        for member in [bob, carol] {
            let event = try await member.nextJSON()
            #expect(event.view["id"].int == id)
            #expect(event.view["message"].string == "hello room")
            #expect(event.view["target"]["rooms"].strings == [room])
            let unread = try await member.nextJSON()
            #expect(unread.view["type"].string == "unread")
            #expect(unread.view["room"].string == room)
            #expect(unread.view["count"].int == 1)
            #expect(unread.view["last_id"].int == id)
        }

        // carol is closed: refused with a stable code, nobody receives anything.
        try await carol.sendJSON(#"{"type":"publish","ref":"c1","event":\#(Self.roomEvent(room, "let me talk"))}"#)
        let refusal = try await carol.nextJSON()
        #expect(refusal.view["type"].string == "error")
        #expect(refusal.view["ref"].string == "c1")
        #expect(refusal.view["error"]["code"].string == "room.write_forbidden")
        // dave is not a member: refused too, over HTTP as well.
        try await dave.sendJSON(#"{"type":"publish","ref":"d1","event":\#(Self.roomEvent(room, "hi"))}"#)
        #expect(try await dave.nextJSON().view["error"]["code"].string == "room.not_member")
        let http = try gateway.publish(Self.roomEvent(room, "hi"), token: gateway.token("dave", publish: true))
        #expect(http.status == 403)
        #expect(try http.json().view["error"]["code"].string == "room.not_member")
        try await alice.expectSilence()
        try await bob.expectSilence()
        try await dave.expectSilence()

        // bob (open) may write; alice receives it, carol too.
        try await bob.sendJSON(#"{"type":"publish","ref":"b1","event":\#(Self.roomEvent(room, "hi all"))}"#)
        #expect(try await bob.nextJSON().view["type"].string == "ack")
        #expect(try await alice.nextJSON().view["message"].string == "hi all")
        #expect(try await carol.nextJSON().view["message"].string == "hi all")
    }

    @Test func unreadCountsSurviveReconnectsAndRestarts() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let aliceToken = gateway.token("alice", publish: true)
        let bobToken = gateway.token("bob", publish: true)
        let room = try Self.createRoom(gateway, owner: aliceToken, members: #"[{"id":"bob"}]"#)
        let ids = try Self.publishNotes(3, to: room, gateway, token: aliceToken)
        let list = try gateway.http("GET", "/api/v1/rooms", token: bobToken).json().view["rooms"]
        #expect(list.count == 1)
        #expect(list[0]["id"].string == room)
        #expect(list[0]["title"].string == "Support")
        #expect(list[0]["unread"].int == 3)
        #expect(list[0]["last_event"]["message"].string == "note 3")
        #expect(try gateway.http("GET", "/api/v1/rooms", token: aliceToken).json().view["rooms"][0]["unread"].int == 0,
                "the sender's own events are not unread")

        // A read mark over the WebSocket clears up to the second event; the connection is told.
        var bob = try await gateway.connect(bobToken)
        try await bob.sendJSON(#"{"type":"read","ref":"r1","room":"\#(room)","id":\#(ids[1])}"#)
        var frames = [try await bob.nextJSON(), try await bob.nextJSON()]
        frames.sort { ($0.view["type"].string ?? "") < ($1.view["type"].string ?? "") }
        #expect(frames[0].view["type"].string == "ack")
        #expect(frames[1].view["type"].string == "unread")
        #expect(frames[1].view["count"].int == 1)
        #expect(frames[1].view["last_read"].int == ids[1])
        await bob.close()

        try gateway.restart()
        let after = try gateway.http("GET", "/api/v1/rooms", token: bobToken).json().view["rooms"]
        #expect(after[0]["unread"].int == 1, "\(after.encodedString())")
        #expect(after[0]["last_read"].int == ids[1])

        bob = try await gateway.connect(bobToken)
        let response = try gateway.publish(Self.roomEvent(room, "note 4"), token: aliceToken)
        #expect(response.status == 202)
        #expect(try await bob.nextJSON().view["message"].string == "note 4")
        let unread = try await bob.nextJSON()
        #expect(unread.view["type"].string == "unread")
        #expect(unread.view["count"].int == 2)

        // The room's history, newest first, paged with `before`.
        let page = try gateway.http("GET", "/api/v1/rooms/\(room)/events?limit=3", token: bobToken).json().view
        #expect(page["events"].elements.compactMap { $0["message"].string } == ["note 4", "note 3", "note 2"])
        let before = try #require(page["before"].int)
        let rest = try gateway.http("GET", "/api/v1/rooms/\(room)/events?limit=3&before=\(before)", token: bobToken).json().view
        #expect(rest["events"].elements.compactMap { $0["message"].string } == ["note 1"])
        #expect(rest["before"].isNull)

        // Marking everything read over HTTP.
        let read = try gateway.http("POST", "/api/v1/rooms/\(room)/read", token: bobToken, body: Array(#"{"id":\#(Int32.max)}"#.utf8))
        #expect(try read.json().view["unread"].int == 0, "\(read.text)")
        #expect(try await bob.nextJSON().view["count"].int == 0)
    }

    /// `[history] per_room`: a room keeps its newest events; unread counts count every event until
    /// a read mark recounts what is kept after it.
    @Test func aRoomKeepsItsNewestPerRoomEvents() async throws {
        let gateway = try TestGateway { $0.history.perRoom = 3 }
        defer { gateway.stop() }
        let aliceToken = gateway.token("alice", publish: true)
        let bobToken = gateway.token("bob", publish: true)
        let room = try Self.createRoom(gateway, owner: aliceToken, members: #"[{"id":"bob"}]"#)
        let ids = try Self.publishNotes(5, to: room, gateway, token: aliceToken)
        let page = try gateway.http("GET", "/api/v1/rooms/\(room)/events?limit=10", token: bobToken).json().view
        #expect(page["events"].elements.compactMap { $0["message"].string } == ["note 5", "note 4", "note 3"])
        #expect(page["before"].isNull)
        #expect(try gateway.http("GET", "/api/v1/rooms", token: bobToken).json().view["rooms"][0]["unread"].int == 5)
        let read = try gateway.http("POST", "/api/v1/rooms/\(room)/read", token: bobToken, body: Array(#"{"id":\#(ids[3])}"#.utf8))
        #expect(try read.json().view["unread"].int == 1, "\(read.text)")
    }

    @Test func membershipChangesReachOpenConnections() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let aliceToken = gateway.token("alice", publish: true)
        let room = try Self.createRoom(gateway, owner: aliceToken, members: "[]")
        let bob = try await gateway.connect(gateway.token("bob", publish: true))
        let json = [("Content-Type", "application/json")]

        let added = try gateway.http("POST", "/api/v1/rooms/\(room)/members", token: aliceToken, headers: json,
                                     body: Array(#"{"id":"bob","permissions":["read","write","break_scripted"]}"#.utf8))
        #expect(added.status == 200, "\(added.text)")
        let notice = try await bob.nextJSON()
        #expect(notice.view["type"].string == "room.member")
        #expect(notice.view["change"].string == "added")
        #expect(notice.view["room"].string == room)
        #expect(notice.view["member"]["id"].string == "bob")

        // Same connection, same token: bob now receives the room's events.
        #expect(try gateway.publish(Self.roomEvent(room, "welcome"), token: aliceToken).status == 202)
        #expect(try await bob.nextJSON().view["message"].string == "welcome")
        #expect(try await bob.nextJSON().view["type"].string == "unread")

        let closed = try gateway.http("PATCH", "/api/v1/rooms/\(room)/members/bob", token: aliceToken, headers: json,
                                      body: Array(#"{"state":"closed"}"#.utf8))
        #expect(closed.status == 200, "\(closed.text)")
        #expect(try closed.json().view["permissions"].strings == ["break_scripted", "read", "write"],
                "a change keeps the fields it does not name")
        let changed = try await bob.nextJSON()
        #expect(changed.view["change"].string == "changed")
        #expect(changed.view["member"]["state"].string == "closed")
        try await bob.sendJSON(#"{"type":"publish","ref":"b1","event":\#(Self.roomEvent(room, "can I?"))}"#)
        #expect(try await bob.nextJSON().view["error"]["code"].string == "room.write_forbidden")

        // bob may not manage members.
        let forbidden = try gateway.http("POST", "/api/v1/rooms/\(room)/members", token: gateway.token("bob"), headers: json,
                                         body: Array(#"{"id":"mallory"}"#.utf8))
        #expect(forbidden.status == 403)
        #expect(try forbidden.json().view["error"]["code"].string == "room.manage_forbidden")

        let removed = try gateway.http("DELETE", "/api/v1/rooms/\(room)/members/bob", token: aliceToken)
        #expect(removed.status == 204, "\(removed.text)")
        #expect(try await bob.nextJSON().view["change"].string == "removed")
        #expect(try gateway.publish(Self.roomEvent(room, "bob is gone"), token: aliceToken).status == 202)
        try await bob.expectSilence()
        #expect(try gateway.http("GET", "/api/v1/rooms/\(room)", token: gateway.token("bob")).status == 404)
    }

    @Test func typingAndReadMarksAreScopedToTheRoom() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let aliceToken = gateway.token("alice", publish: true)
        let room = try Self.createRoom(gateway, owner: aliceToken, members: #"[{"id":"bob"}]"#)
        let alice = try await gateway.connect(aliceToken)
        let bob = try await gateway.connect(gateway.token("bob"))
        let eve = try await gateway.connect(gateway.token("eve"))

        try await bob.sendJSON(#"{"type":"typing","ref":"t1","room":"\#(room)","length":1500}"#)
        #expect(try await bob.nextJSON().view["type"].string == "ack")
        let typing = try await alice.nextJSON()
        #expect(typing.view["type"].string == "typing")
        #expect(typing.view["room"].string == room)
        #expect(typing.view["length"].int == 1500)
        #expect(typing.view["source"]["id"].string == "bob")

        try await bob.sendJSON(#"{"type":"typing","ref":"t2","room":"\#(room)","length":10}"#)
        #expect(try await bob.nextJSON().view["error"]["code"].string == "room.bad_request")
        try await eve.sendJSON(#"{"type":"typing","ref":"e1","room":"\#(room)"}"#)
        #expect(try await eve.nextJSON().view["error"]["code"].string == "room.not_found")
        try await alice.expectSilence()
    }

    @Test func badRoomRequestsGetStableCodes() throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let token = gateway.token("alice", publish: true)
        let json = [("Content-Type", "application/json")]
        func code(_ response: RawHTTPResponse) throws -> String? { try response.json().view["error"]["code"].string }

        for body in [#"[]"#, #"{"title":3}"#, #"{"members":[{"id":"bob","state":"sleepy"}]}"#,
                     #"{"members":[{"id":"bob","permissions":["fly"]}]}"#, #"{"members":[{"id":""}]}"#,
                     #"{"members":[{"id":"bob"},{"id":"bob"}]}"#, #"{"colour":"red"}"#, "not json"] {
            let response = try gateway.http("POST", "/api/v1/rooms", token: token, headers: json, body: Array(body.utf8))
            #expect(response.status == 400, "\(body)")
            #expect(try code(response) == "room.bad_request", "\(body): \(response.text)")
        }
        #expect(try gateway.http("GET", "/api/v1/rooms").status == 401)
        let room = try Self.createRoom(gateway, owner: token, members: "[]")
        #expect(try gateway.http("GET", "/api/v1/rooms/\(room)/events?limit=0", token: token).status == 400)
        #expect(try gateway.http("GET", "/api/v1/rooms/\(room)/events?before=abc", token: token).status == 400)
        #expect(try code(gateway.http("GET", "/api/v1/rooms/nope", token: token)) == "room.not_found")
        #expect(try gateway.http("PUT", "/api/v1/rooms/\(room)", token: token).status == 405)

        let missing = try gateway.publish(Self.roomEvent("nope", "x"), token: token)
        #expect(missing.status == 404)
        #expect(try code(missing) == "room.not_found")
        let badTarget = try gateway.publish(#"{"category":"c","target":{"rooms":"r1"}}"#, token: token)
        #expect(try code(badTarget) == "event.bad_target")
        let tooMany = try gateway.publish(#"{"category":"c","target":{"rooms":[]}}"#, token: token)
        #expect(try code(tooMany) == "event.bad_target")
    }

    @Test func presenceJoinAndLeaveReachMembersWhoOptIn() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let aliceToken = gateway.token("alice", publish: true)
        let room = try Self.createRoom(gateway, owner: aliceToken, members: #"[{"id":"bob","presence":true},{"id":"carol"}]"#)
        let alice = try await gateway.connect(aliceToken)
        let bob = try await gateway.connect(gateway.token("bob"))
        // Changes are batched (about one frame per second per room): bob first learns of himself,
        // possibly together with alice.
        var seen = Set<String>()
        while !seen.contains("bob") {
            let frame = try await bob.nextJSON()
            #expect(frame.view["type"].string == "presence", "\(frame.encodedString())")
            #expect(frame.view["room"].string == room)
            seen.formUnion(frame.view["joined"].strings ?? [])
        }
        let carol = try await gateway.connect(gateway.token("carol"))
        var joined = try await bob.nextJSON()
        // alice's join reaches bob in a frame of its own only when its batch went out after bob
        // came online (a loaded machine may connect bob a batch later, and then he never hears it).
        if !seen.contains("alice") && joined.view["joined"].strings == ["alice"] { joined = try await bob.nextJSON() }
        #expect(joined.view["joined"].strings == ["carol"])
        #expect(joined.view["left"].strings == [])
        #expect(joined.view["online"].int == 3)

        let page = try gateway.http("GET", "/api/v1/rooms/\(room)/presence?limit=2", token: aliceToken).json().view
        #expect(page["online"].strings == ["alice", "bob"])
        #expect(page["count"].int == 3)
        #expect(page["after"].string == "bob")
        let rest = try gateway.http("GET", "/api/v1/rooms/\(room)/presence?limit=2&after=bob", token: aliceToken).json().view
        #expect(rest["online"].strings == ["carol"])
        #expect(rest["after"].isNull)
        #expect(try gateway.http("GET", "/api/v1/rooms/\(room)/presence", token: gateway.token("eve")).status == 404)

        await carol.close()
        let left = try await bob.nextJSON()
        #expect(left.view["left"].strings == ["carol"])
        #expect(left.view["online"].int == 2)
        // alice did not opt in: she gets no presence frames.
        try await alice.expectSilence()
    }
}
