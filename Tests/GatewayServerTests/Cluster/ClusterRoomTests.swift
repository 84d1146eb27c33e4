import Foundation
import GatewayAuth
import GatewayChatClient
import GatewayJSON
import Testing

/// Rooms on two real `gateway` processes on one real redis-server (`[engine] kind = "redis"`):
/// a room made on one node is the same room on the other — members, states, unread counts,
/// read marks, presence — and what members are told reaches their connections on every node.
@Suite(.serialized) struct ClusterRoomTests {
    static let json = [("Content-Type", "application/json")]

    static func createRoom(on node: GatewayEndpoint, owner: String, members: String) throws -> String {
        let response = try node.http("POST", "/api/v1/rooms", token: owner, headers: json,
                                     body: Array(#"{"title":"Support","members":\#(members)}"#.utf8))
        #expect(response.status == 201, "\(response.text)")
        return try #require(try response.json().view["id"].string)
    }

    static func adminToken(_ sub: String) -> String {
        TokenMinter.hs256(secret: Array(TestGateway.secret.utf8), subject: sub, principals: [], title: nil,
                          publish: false, ttlSeconds: 3600, now: Int(Date().timeIntervalSince1970), admin: true)
    }

    @Test func aRoomMadeOnOneNodeRoutesAndGuardsOnTheOther() async throws {
        let cluster = try TestCluster(nodes: 2)
        defer { cluster.stop() }
        let (a, b) = (cluster.nodes[0], cluster.nodes[1])
        let aliceToken = a.token("alice", publish: true)
        let room = try Self.createRoom(on: a, owner: aliceToken, members: #"[{"id":"bob"},{"id":"carol","state":"closed"}]"#)

        let bob = try await b.connect(b.token("bob", publish: true))
        let carol = try await b.connect(b.token("carol", publish: true))
        let dave = try await b.connect(b.token("dave", publish: true))
        let ops = try await b.connect(Self.adminToken("ops"))
        // A non-member subscription made on B.
        #expect(try b.http("POST", "/api/v1/rooms/\(room)/subscribe", token: Self.adminToken("ops")).status == 200)

        // Published on A, received on B by the members and the watcher, with unread counts.
        let calls = try cluster.commandCalls()
        let published = try a.publish(RoomTests.roomEvent(room, "hello from A"), token: aliceToken)
        #expect(published.status == 202, "\(published.text)")
        let id = try #require(try published.json().view["id"].int)
        for member in [bob, carol] {
            let event = try await member.frame { $0["id"].int == id }
            #expect(event.view["message"].string == "hello from A")
            let unread = try await member.frame { $0["type"].string == "unread" }
            #expect(unread.view["room"].string == room && unread.view["count"].int == 1)
        }
        #expect(try await ops.frame { $0["id"].int == id }.view["message"].string == "hello from A")
        // One PUBLISH for the event and one for the unread frame of both (the same count and
        // read mark share a signal), not one per member.
        #expect((try cluster.commandCalls()["publish"] ?? 0) - (calls["publish"] ?? 0) == 2)

        // carol is closed: refused on B, as on A.
        try await carol.sendJSON(#"{"type":"publish","ref":"c1","event":\#(RoomTests.roomEvent(room, "let me talk"))}"#)
        let refusal = try await carol.frame { $0["ref"].string == "c1" }
        #expect(refusal.view["error"]["code"].string == "room.write_forbidden", "\(refusal.encodedString())")
        #expect(try a.publish(RoomTests.roomEvent(room, "x"), token: a.token("carol", publish: true)).errorCode == "room.write_forbidden")
        // dave is not a member on either node.
        try await dave.sendJSON(#"{"type":"publish","ref":"d1","event":\#(RoomTests.roomEvent(room, "hi"))}"#)
        #expect(try await dave.frame { $0["ref"].string == "d1" }.view["error"]["code"].string == "room.not_member")
        try await dave.expectSilence()

        // bob (open) writes on B; alice's connection on A receives it.
        let alice = try await a.connect(aliceToken)
        try await bob.sendJSON(#"{"type":"publish","ref":"b1","event":\#(RoomTests.roomEvent(room, "hi from B"))}"#)
        #expect(try await bob.frame { $0["ref"].string == "b1" }.view["type"].string == "ack")
        #expect(try await alice.frame { $0["message"].exists }.view["message"].string == "hi from B")
    }

    @Test func membershipChangesOnOneNodeApplyToOpenConnectionsOnTheOther() async throws {
        let cluster = try TestCluster(nodes: 2)
        defer { cluster.stop() }
        let (a, b) = (cluster.nodes[0], cluster.nodes[1])
        let aliceToken = a.token("alice", publish: true)
        let room = try Self.createRoom(on: a, owner: aliceToken, members: "[]")
        let bob = try await b.connect(b.token("bob", publish: true))

        let added = try a.http("POST", "/api/v1/rooms/\(room)/members", token: aliceToken, headers: Self.json,
                               body: Array(#"{"id":"bob"}"#.utf8))
        #expect(added.status == 200, "\(added.text)")
        let notice = try await bob.frame { $0["type"].string == "room.member" }
        #expect(notice.view["change"].string == "added" && notice.view["room"].string == room)
        #expect(try a.publish(RoomTests.roomEvent(room, "welcome"), token: aliceToken).status == 202)
        #expect(try await bob.frame { $0["message"].exists }.view["message"].string == "welcome")

        let closed = try a.http("PATCH", "/api/v1/rooms/\(room)/members/bob", token: aliceToken, headers: Self.json,
                                body: Array(#"{"state":"closed"}"#.utf8))
        #expect(closed.status == 200, "\(closed.text)")
        #expect(try await bob.frame { $0["type"].string == "room.member" }.view["member"]["state"].string == "closed")
        try await bob.sendJSON(#"{"type":"publish","ref":"b1","event":\#(RoomTests.roomEvent(room, "can I?"))}"#)
        #expect(try await bob.frame { $0["ref"].string == "b1" }.view["error"]["code"].string == "room.write_forbidden")

        #expect(try a.http("DELETE", "/api/v1/rooms/\(room)/members/bob", token: aliceToken).status == 204)
        #expect(try await bob.frame { $0["type"].string == "room.member" }.view["change"].string == "removed")
        #expect(try a.publish(RoomTests.roomEvent(room, "bob is gone"), token: aliceToken).status == 202)
        try await bob.expectSilence(for: .seconds(1))
        #expect(try b.http("GET", "/api/v1/rooms/\(room)", token: b.token("bob")).status == 404)
    }

    /// `[history] per_room` bounds a room's history in Redis: the zset, payloads and senders keep
    /// the newest events only, on whichever node appended them; unread counts still count all.
    @Test func aRoomsHistoryInRedisKeepsItsNewestPerRoomEvents() async throws {
        let cluster = try TestCluster(nodes: 2, historyConfig: "per_room = 3")
        defer { cluster.stop() }
        let (a, b) = (cluster.nodes[0], cluster.nodes[1])
        let aliceToken = a.token("alice", publish: true)
        let bobToken = a.token("bob", publish: true)
        let room = try Self.createRoom(on: a, owner: aliceToken, members: #"[{"id":"bob"}]"#)
        for index in 1...5 {
            let node = index % 2 == 0 ? b : a
            #expect(try node.publish(RoomTests.roomEvent(room, "note \(index)"), token: aliceToken).status == 202)
        }
        for node in [a, b] {
            let page = try node.http("GET", "/api/v1/rooms/\(room)/events?limit=10", token: bobToken).json().view
            #expect(page["events"].elements.compactMap { $0["message"].string } == ["note 5", "note 4", "note 3"])
            #expect(try node.http("GET", "/api/v1/rooms", token: bobToken).json().view["rooms"][0]["unread"].int == 5)
        }
        let key = "{gateway}:room:\(room)"
        #expect(try cluster.redis.command(["ZCARD", key + ":events"]).trimmingCharacters(in: .whitespacesAndNewlines) == "3")
        #expect(try cluster.redis.command(["HLEN", key + ":payloads"]).trimmingCharacters(in: .whitespacesAndNewlines) == "3")
        #expect(try cluster.redis.command(["HLEN", key + ":senders"]).trimmingCharacters(in: .whitespacesAndNewlines) == "3")
    }

    /// The room list reads every room's summary in one pipeline; after Redis forgot its scripts
    /// (SCRIPT FLUSH, as after a restart) the list still answers every room, in order.
    @Test func theRoomListHasEveryRoomAlsoAfterRedisForgotItsScripts() async throws {
        let cluster = try TestCluster(nodes: 2)
        defer { cluster.stop() }
        let (a, b) = (cluster.nodes[0], cluster.nodes[1])
        let aliceToken = a.token("alice", publish: true)
        let bobToken = a.token("bob", principals: ["group:support"])
        var rooms: [String] = []
        for index in 1...4 {
            // The fourth names bob only through his group.
            let member = index == 4 ? "group:support" : "bob"
            let room = try Self.createRoom(on: a, owner: aliceToken, members: #"[{"id":"\#(member)"}]"#)
            for _ in 0..<index { #expect(try a.publish(RoomTests.roomEvent(room, "in room \(index)"), token: aliceToken).status == 202) }
            rooms.append(room)
        }
        for flush in [false, true] {
            if flush { #expect(try cluster.redis.command(["SCRIPT", "FLUSH"]).contains("OK")) }
            let list = try b.http("GET", "/api/v1/rooms", token: bobToken).json().view["rooms"]
            #expect(Set(list.elements.compactMap { $0["id"].string }) == Set(rooms), "\(list.encodedString())")
            for (index, room) in rooms.enumerated() {
                let entry = try #require(list.elements.first { $0["id"].string == room })
                #expect(entry["unread"].int == index + 1)
                #expect(entry["last_event"]["message"].string == "in room \(index + 1)")
            }
        }
    }

    @Test func unreadCountsAgreeOnBothNodesAndSurviveRestartingBoth() async throws {
        let cluster = try TestCluster(nodes: 2)
        defer { cluster.stop() }
        let (a, b) = (cluster.nodes[0], cluster.nodes[1])
        let aliceToken = a.token("alice", publish: true)
        let bobToken = a.token("bob", publish: true)
        let room = try Self.createRoom(on: a, owner: aliceToken, members: #"[{"id":"bob"}]"#)
        var ids: [Int] = []
        for (index, node) in [a, b, a].enumerated() {
            let response = try node.publish(RoomTests.roomEvent(room, "note \(index + 1)"), token: aliceToken)
            #expect(response.status == 202, "\(response.text)")
            ids.append(try #require(try response.json().view["id"].int))
        }
        for node in [a, b] {
            let list = try node.http("GET", "/api/v1/rooms", token: bobToken).json().view["rooms"]
            #expect(list.count == 1 && list[0]["id"].string == room)
            #expect(list[0]["unread"].int == 3, "\(list.encodedString())")
            #expect(list[0]["last_event"]["message"].string == "note 3")
            #expect(try node.http("GET", "/api/v1/rooms", token: aliceToken).json().view["rooms"][0]["unread"].int == 0)
        }

        // A read mark on B; bob's connection on A is told the new count.
        let bobOnA = try await a.connect(bobToken)
        let bobOnB = try await b.connect(bobToken)
        try await bobOnB.sendJSON(#"{"type":"read","ref":"r1","room":"\#(room)","id":\#(ids[1])}"#)
        #expect(try await bobOnB.frame { $0["ref"].string == "r1" }.view["type"].string == "ack")
        let told = try await bobOnA.frame { $0["type"].string == "unread" }
        #expect(told.view["count"].int == 1 && told.view["last_read"].int == ids[1])
        #expect(try a.http("GET", "/api/v1/rooms", token: bobToken).json().view["rooms"][0]["unread"].int == 1)
        await bobOnA.close()
        await bobOnB.close()

        // Both nodes go; two new ones on the same Redis know the room, the counts and the history.
        for node in cluster.nodes { node.kill(SIGKILL) }
        let c = try GatewayNodeProcess(name: "c", redisPort: cluster.redis.port)
        let d = try GatewayNodeProcess(name: "d", redisPort: cluster.redis.port)
        defer { c.kill(); d.kill() }
        for node in [c, d] {
            let list = try node.http("GET", "/api/v1/rooms", token: bobToken).json().view["rooms"]
            #expect(list[0]["unread"].int == 1, "\(list.encodedString())")
            #expect(list[0]["last_read"].int == ids[1])
        }
        let bobOnD = try await d.connect(bobToken)
        #expect(try c.publish(RoomTests.roomEvent(room, "note 4"), token: aliceToken).status == 202)
        #expect(try await bobOnD.frame { $0["message"].exists }.view["message"].string == "note 4")
        #expect(try await bobOnD.frame { $0["type"].string == "unread" }.view["count"].int == 2)
        let page = try d.http("GET", "/api/v1/rooms/\(room)/events?limit=3", token: bobToken).json().view
        #expect(page["events"].elements.compactMap { $0["message"].string } == ["note 4", "note 3", "note 2"])
        let before = try #require(page["before"].int)
        let rest = try c.http("GET", "/api/v1/rooms/\(room)/events?limit=3&before=\(before)", token: bobToken).json().view
        #expect(rest["events"].elements.compactMap { $0["message"].string } == ["note 1"])
        let read = try c.http("POST", "/api/v1/rooms/\(room)/read", token: bobToken, body: Array(#"{"id":\#(Int32.max)}"#.utf8))
        #expect(try read.json().view["unread"].int == 0, "\(read.text)")
        #expect(try await bobOnD.frame { $0["type"].string == "unread" }.view["count"].int == 0)
    }

    @Test func presenceJoinAndLeaveCrossNodesAndADeadNodesMembersGoOffline() async throws {
        let cluster = try TestCluster(nodes: 2, engineConfig: "presence_ttl_seconds = 3")
        defer { cluster.stop() }
        let (a, b) = (cluster.nodes[0], cluster.nodes[1])
        let aliceToken = a.token("alice", publish: true)
        let room = try Self.createRoom(on: a, owner: aliceToken,
                                       members: #"[{"id":"alice","presence":true,"permissions":["read","write","manage"]},{"id":"bob"},{"id":"carol"}]"#)
        let alice = try await a.connect(aliceToken)

        // bob joins on B: alice, on A, is told; both nodes see him online.
        let bob = try await b.connect(b.token("bob"))
        let joined = try await alice.frame(timeout: 15) { $0["type"].string == "presence" && $0["joined"].strings?.contains("bob") == true }
        #expect(joined.view["room"].string == room)
        for node in [a, b] {
            let online = try node.http("GET", "/api/v1/rooms/\(room)/presence", token: aliceToken).json().view
            #expect(online["online"].strings == ["alice", "bob"], "\(online.encodedString())")
        }
        // A second connection of bob on A, then B's closes: bob is still online, no leave.
        let bobOnA = try await a.connect(a.token("bob"))
        await bob.close()
        try await Task.sleep(for: .seconds(2))
        #expect(try a.http("GET", "/api/v1/rooms/\(room)/presence", token: aliceToken).json().view["online"].strings == ["alice", "bob"])
        await bobOnA.close()
        let left = try await alice.frame(timeout: 15) { $0["type"].string == "presence" && $0["left"].strings?.contains("bob") == true }
        #expect(left.view["online"].int == 1)

        // carol on B; B is killed: within the TTL (3 s) plus a beat, A tells alice carol left.
        let carol = try await b.connect(b.token("carol"))
        _ = try await alice.frame(timeout: 15) { $0["type"].string == "presence" && $0["joined"].strings?.contains("carol") == true }
        _ = carol
        let killedAt = Date()
        b.kill(SIGKILL)
        let gone = try await alice.frame(timeout: 20) { $0["type"].string == "presence" && $0["left"].strings?.contains("carol") == true }
        #expect(gone.view["online"].int == 1)
        #expect(Date().timeIntervalSince(killedAt) < 10, "a dead node's members leave within the TTL and a beat")
        #expect(try a.http("GET", "/api/v1/rooms/\(room)/presence", token: aliceToken).json().view["online"].strings == ["alice"])
    }
}

extension ClusterRoomTests {
    /// A member may be a group: it is online, on every node, while any connection's token
    /// carries that principal, and its join/leave reach the room like an identity's.
    @Test func aGroupMemberIsOnlineWhileAnyConnectionCarriesIt() async throws {
        let cluster = try TestCluster(nodes: 2)
        defer { cluster.stop() }
        let (a, b) = (cluster.nodes[0], cluster.nodes[1])
        let aliceToken = a.token("alice", publish: true)
        let room = try Self.createRoom(on: a, owner: aliceToken,
                                       members: #"[{"id":"alice","presence":true,"permissions":["read","write","manage"]},{"id":"group:support"}]"#)
        let alice = try await a.connect(aliceToken)

        let dave = try await b.connect(b.token("dave", principals: ["group:support"]))
        let joined = try await alice.frame(timeout: 15) { $0["type"].string == "presence" && $0["joined"].strings?.contains("group:support") == true }
        #expect(joined.view["room"].string == room)
        #expect(joined.view["joined"].strings?.contains("dave") != true, "dave is not a member of the room")
        for node in [a, b] {
            let online = try node.http("GET", "/api/v1/rooms/\(room)/presence", token: aliceToken).json().view
            #expect(online["online"].strings == ["alice", "group:support"], "\(online.encodedString())")
        }
        await dave.close()
        let left = try await alice.frame(timeout: 15) { $0["type"].string == "presence" && $0["left"].strings?.contains("group:support") == true }
        #expect(left.view["online"].int == 1)
        #expect(try a.http("GET", "/api/v1/rooms/\(room)/presence", token: aliceToken).json().view["online"].strings == ["alice"])
    }

    @Test func aNodeWhosePresenceRedisLostWritesItAgain() async throws {
        let cluster = try TestCluster(nodes: 2)
        defer { cluster.stop() }
        let (a, b) = (cluster.nodes[0], cluster.nodes[1])
        let aliceToken = a.token("alice", publish: true)
        let room = try Self.createRoom(on: a, owner: aliceToken, members: #"[{"id":"alice","presence":true},{"id":"bob"}]"#)
        let alice = try await a.connect(aliceToken)
        let bob = try await b.connect(b.token("bob"))
        func online() throws -> [String]? {
            try a.http("GET", "/api/v1/rooms/\(room)/presence", token: aliceToken).json().view["online"].strings
        }
        try await eventually("both online") { try online() == ["alice", "bob"] }
        while (try? await alice.nextJSON(timeout: .milliseconds(1500))) != nil {}   // the joins so far

        // Redis loses every node's presence (as after a restart without persistence, or when a
        // paused node was reaped): each node finds out at its next beat and writes its set again.
        var keys = ["{gateway}:presence:nodes"]
        keys += try cluster.redis.command(["KEYS", "{gateway}:presence:node:*"]).split(whereSeparator: \.isNewline).map(String.init)
        _ = try cluster.redis.command(["DEL"] + keys)
        try await eventually("both online again", seconds: 10) { try online() == ["alice", "bob"] }
        _ = try await alice.frame(timeout: 10) { $0["type"].string == "presence" && $0["joined"].strings?.contains("bob") == true }
        _ = bob
    }
}

extension WebSocketClient {
    /// The next frame `matches` accepts, skipping others (presence and unread frames interleave
    /// with events across nodes); fails after `timeout` seconds.
    func frame(timeout: Int = 10, _ matches: (JSONView) -> Bool) async throws -> JSON {
        let deadline = Date(timeIntervalSinceNow: Double(timeout))
        while true {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw TestFailure("no matching frame within \(timeout) s") }
            let frame = try await nextJSON(timeout: .milliseconds(Int64(left * 1000)))
            if matches(frame.view) { return frame }
        }
    }
}
