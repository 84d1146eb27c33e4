// chat_api's ws-subscribe: a non-member with an admin token (or one of [auth]
// room_watcher_principals) follows one room's live events,
// with real WebSocket clients; subscribing to another room replaces the first.
import Foundation
import GatewayAuth
import GatewayJSON
import Testing

@Suite struct RoomSubscriptionTests {
    private func adminToken(_ gateway: TestGateway, _ sub: String) -> String {
        TokenMinter.hs256(secret: Array(TestGateway.secret.utf8), subject: sub, principals: [], title: nil,
                          publish: false, ttlSeconds: 3600, now: Int(Date().timeIntervalSince1970), admin: true)
    }

    @Test func anAdminWhoIsNotAMemberFollowsOneRoomLive() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let aliceToken = gateway.token("alice", publish: true)
        let first = try RoomTests.createRoom(gateway, owner: aliceToken, members: #"[{"id":"bob"}]"#)
        let second = try RoomTests.createRoom(gateway, owner: aliceToken, members: "[]", title: "Other")
        let opsToken = adminToken(gateway, "ops")

        #expect(try gateway.http("POST", "/api/v1/rooms/\(first)/subscribe", token: gateway.token("carol")).errorCode
                == "room.subscribe_forbidden")
        #expect(try gateway.http("POST", "/api/v1/rooms/\(first)/subscribe", token: adminToken(gateway, "bob")).errorCode
                == "room.already_member")
        #expect(try gateway.http("POST", "/api/v1/rooms/nope/subscribe", token: opsToken).errorCode == "room.not_found")
        #expect(try gateway.http("POST", "/api/v1/rooms/\(first)/subscribe").errorCode == "auth.missing_token")

        let ops = try await gateway.connect(opsToken)
        let subscribed = try gateway.http("POST", "/api/v1/rooms/\(first)/subscribe", token: opsToken)
        let replacedNothing = try subscribed.json().view["replaced"].isNull
        #expect(subscribed.status == 200 && replacedNothing)
        #expect(try gateway.publish(RoomTests.roomEvent(first, "hello first"), token: aliceToken).status == 202)
        let event = try await ops.nextJSON()
        #expect(event.view["message"].string == "hello first" && event.view["target"]["rooms"].strings == [first])

        // One room at a time: the second replaces the first.
        let moved = try gateway.http("POST", "/api/v1/rooms/\(second)/subscribe", token: opsToken)
        #expect(try moved.json().view["replaced"].string == first)
        #expect(try gateway.publish(RoomTests.roomEvent(first, "not for ops"), token: aliceToken).status == 202)
        #expect(try gateway.publish(RoomTests.roomEvent(second, "hello second"), token: aliceToken).status == 202)
        #expect(try await ops.nextJSON().view["message"].string == "hello second", "the first room's event must not arrive")

        #expect(try gateway.http("DELETE", "/api/v1/rooms/\(second)/subscribe", token: opsToken).status == 204)
        #expect(try gateway.http("DELETE", "/api/v1/rooms/\(second)/subscribe", token: opsToken).errorCode == "room.not_subscribed")
        #expect(try gateway.publish(RoomTests.roomEvent(second, "after"), token: aliceToken).status == 202)
        try await ops.expectSilence(for: .seconds(1))
        // Not a member: no write, no history page.
        #expect(try gateway.http("GET", "/api/v1/rooms/\(second)/events", token: opsToken).errorCode == "room.not_found")
    }

    /// `[auth] room_watcher_principals`: a supervisor's ordinary token (no admin scope) may watch;
    /// a token without the principal still may not.
    @Test func aWatcherPrincipalFollowsARoomWithoutAnAdminToken() async throws {
        let gateway = try TestGateway { $0.auth.roomWatcherPrincipals = ["role:supervisor"] }
        defer { gateway.stop() }
        let aliceToken = gateway.token("alice", publish: true)
        let room = try RoomTests.createRoom(gateway, owner: aliceToken, members: #"[{"id":"bob"}]"#)
        #expect(try gateway.http("POST", "/api/v1/rooms/\(room)/subscribe", token: gateway.token("carol")).errorCode
                == "room.subscribe_forbidden")

        let supervisorToken = gateway.token("sue", principals: ["role:supervisor"])
        let sue = try await gateway.connect(supervisorToken)
        #expect(try gateway.http("POST", "/api/v1/rooms/\(room)/subscribe", token: supervisorToken).status == 200)
        #expect(try gateway.publish(RoomTests.roomEvent(room, "watched"), token: aliceToken).status == 202)
        #expect(try await sue.nextJSON().view["message"].string == "watched")
        // Watching is not membership: no history page.
        #expect(try gateway.http("GET", "/api/v1/rooms/\(room)/events", token: supervisorToken).errorCode == "room.not_found")
    }
}
