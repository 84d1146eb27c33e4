import Foundation
import GatewayChatClient
import GatewayJSON
import Testing

/// History (SQLite, WAL) behind GET /api/v1/notifications and reconnect recovery.
@Suite struct HistoryTests {
    @Test func historySurvivesARestart() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let app = gateway.token("app", publish: true)
        let bobToken = gateway.token("bob", publish: true)
        for index in 1...3 {
            let response = try gateway.publish(#"{"category":"c","message":"note \#(index)","target":{"principals":["bob"]}}"#, token: app)
            #expect(response.status == 202)
        }
        // bob's own event must not come back to him in his history.
        #expect(try gateway.publish(#"{"category":"c","message":"from bob","target":{"principals":["bob","alice"]}}"#, token: bobToken).status == 202)

        try gateway.restart()

        let history = try gateway.http("GET", "/api/v1/notifications", token: gateway.token("bob"))
        #expect(history.status == 200, "\(history.text)")
        let body = try history.json().view
        #expect(body["timestamp"].string != nil)
        let messages = body["notifications"].elements.compactMap { $0["message"].string }
        #expect(messages == ["note 3", "note 2", "note 1"], "newest first, without bob's own event")

        // Ids keep increasing across the restart.
        let lastBefore = body["notifications"][0]["id"].int ?? 0
        let response = try gateway.publish(#"{"category":"c","message":"after restart","target":{"principals":["bob"]}}"#, token: app)
        #expect((try response.json().view["id"].int ?? 0) > lastBefore)
    }

    @Test func historyOffDeliversLiveAndRecordsNothing() async throws {
        let gateway = try TestGateway { $0.history.enabled = false }
        defer { gateway.stop() }
        let app = gateway.token("app", publish: true)
        let bob = try await gateway.connect(gateway.token("bob"))
        let response = try gateway.publish(#"{"category":"c","message":"live only","target":{"principals":["bob"]}}"#, token: app)
        #expect(response.status == 202)
        let id = try #require(try response.json().view["id"].int)
        #expect(try await bob.nextJSON().view["message"].string == "live only")
        let history = try gateway.http("GET", "/api/v1/notifications", token: gateway.token("bob"))
        #expect(history.status == 200, "\(history.text)")
        #expect(try history.json().view["notifications"].elements.isEmpty)
        // A reconnect with last_id replays nothing and still gets live events.
        let again = try await gateway.connect(gateway.token("bob"), query: "last_id=\(id - 1)")
        _ = try gateway.publish(#"{"category":"c","message":"next","target":{"principals":["bob"]}}"#, token: app)
        #expect(try await again.nextJSON().view["message"].string == "next")
    }

    @Test func notificationsSinceAnId() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let app = gateway.token("app", publish: true)
        var ids: [Int] = []
        for index in 1...4 {
            let response = try gateway.publish(#"{"category":"c","message":"m\#(index)","target":{"principals":["zoe"]}}"#, token: app)
            ids.append(try #require(try response.json().view["id"].int))
        }
        let since = try gateway.http("GET", "/api/v1/notifications?since=\(ids[1])", token: gateway.token("zoe"))
        #expect(since.status == 200)
        #expect(try since.json().view["notifications"].elements.compactMap { $0["message"].string } == ["m4", "m3"])
        let bad = try gateway.http("GET", "/api/v1/notifications?since=yesterday", token: gateway.token("zoe"))
        #expect(bad.status == 400)
        #expect(bad.errorCode == "request.bad_since")
    }

    @Test func reconnectingClientRecoversWhatItMissedInOrder() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let app = gateway.token("app", publish: true)
        let bobToken = gateway.token("bob")
        let bob = try await gateway.connect(bobToken)
        _ = try gateway.publish(#"{"category":"c","message":"seen","target":{"principals":["bob"]}}"#, token: app)
        let seen = try await bob.nextJSON()
        let lastId = try #require(seen.view["id"].int)
        await bob.close()

        for index in 1...3 {
            _ = try gateway.publish(#"{"category":"c","message":"missed \#(index)","target":{"principals":["bob"]}}"#, token: app)
        }
        let again = try await gateway.connect(bobToken, query: "last_id=\(lastId)")
        var received: [String] = []
        for _ in 1...3 { received.append(try await again.nextJSON().view["message"].string ?? "") }
        #expect(received == ["missed 1", "missed 2", "missed 3"])
        _ = try gateway.publish(#"{"category":"c","message":"live","target":{"principals":["bob"]}}"#, token: app)
        #expect(try await again.nextJSON().view["message"].string == "live")
        try await again.expectSilence()
    }
}
