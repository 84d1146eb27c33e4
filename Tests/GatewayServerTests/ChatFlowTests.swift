import Foundation
import GatewayChatClient
import GatewayJSON
import Testing

/// Events flowing end to end over real sockets: WebSocket and HTTP in, WebSocket out.
@Suite struct ChatFlowTests {
    @Test func twoUsersChatOverWebSockets() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let alice = try await gateway.connect(gateway.token("alice", title: "Alice", publish: true))
        let bob = try await gateway.connect(gateway.token("bob", title: "Bob", publish: true))

        try await alice.sendJSON(#"{"type":"publish","ref":"a1","event":{"category":"chat.message","message":"hi Bob","target":{"principals":["bob"]}}}"#)
        let ack = try await alice.nextJSON()
        #expect(ack.view["type"].string == "ack")
        #expect(ack.view["ref"].string == "a1")
        let firstId = try #require(ack.view["id"].int)

        let atBob = try await bob.nextJSON()
        #expect(atBob.view["message"].string == "hi Bob")
        #expect(atBob.view["id"].int == firstId)
        #expect(atBob.view["source"]["id"].string == "alice")
        #expect(atBob.view["source"]["title"].string == "Alice")
        #expect(atBob.view["category"].string == "chat.message")
        #expect(atBob.view["status"].string == "info")

        try await bob.sendJSON(#"{"type":"publish","ref":"b1","event":{"category":"chat.message","message":"hello Alice","target":{"principals":["alice"]}}}"#)
        let bobAck = try await bob.nextJSON()
        #expect(bobAck.view["type"].string == "ack")
        #expect((bobAck.view["id"].int ?? 0) > firstId, "ids increase")
        let atAlice = try await alice.nextJSON()
        #expect(atAlice.view["message"].string == "hello Alice")
        #expect(atAlice.view["source"]["id"].string == "bob")
        try await alice.expectSilence()
        try await bob.expectSilence()
    }

    @Test func senderNeverReceivesItsOwnEventOnAnyConnection() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let adminToken = gateway.token("system:admin", principals: ["group:staff"], publish: true)
        let adminFirst = try await gateway.connect(adminToken)
        let adminSecond = try await gateway.connect(adminToken)
        let staff = try await gateway.connect(gateway.token("carol", principals: ["group:staff"]))

        let response = try gateway.publish(#"{"category":"staff.news","message":"meeting","target":{"principals":["group:staff"]}}"#,
                                           token: adminToken)
        #expect(response.status == 202)
        let id = try #require(try response.json().view["id"].int)
        let received = try await staff.nextJSON()
        #expect(received.view["id"].int == id)
        #expect(received.view["target"]["principals"].strings == ["group:staff"])
        try await adminFirst.expectSilence()
        try await adminSecond.expectSilence()
    }

    @Test func pyamsEventReachesTargetUserThroughCategoryPlugin() async throws {
        let gateway = try TestGateway { config in
            config.plugins = [PluginFixtures.categoryTargets(["pyams.test": ["test:user"]])]
        }
        defer { gateway.stop() }
        let adminToken = gateway.token("system:admin", principals: ["test:user"], title: "System manager authentication", publish: true)
        let admin = try await gateway.connect(adminToken)
        let user = try await gateway.connect(gateway.token("test:user"))
        let other = try await gateway.connect(gateway.token("someone:else"))

        let response = try gateway.publish(
            #"{"action":"notify","category":"pyams.test","title":"Test message","message":"Test message content","host":"localhost"}"#,
            token: adminToken)
        #expect(response.status == 202, "\(response.text)")
        let event = try await user.nextJSON()
        #expect(event.view["category"].string == "pyams.test")
        #expect(event.view["target"]["principals"].strings == ["test:user"])
        #expect(event.view["source"]["id"].string == "system:admin")
        #expect(event.view["title"].string == "Test message")
        #expect(event.view["url"].isNull)
        #expect(event.view["timestamp"].string?.contains("T") == true)
        try await admin.expectSilence()
        try await other.expectSilence()
    }

    @Test func typingIndicatorReachesTargetsOnly() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let alice = try await gateway.connect(gateway.token("alice", title: "Alice"))
        let bob = try await gateway.connect(gateway.token("bob"))
        try await alice.sendJSON(#"{"type":"typing","ref":"t1","target":{"principals":["bob","alice"]}}"#)
        #expect(try await alice.nextJSON().view["type"].string == "ack")
        let typing = try await bob.nextJSON()
        #expect(typing.view["type"].string == "typing")
        #expect(typing.view["source"]["id"].string == "alice")
        try await alice.expectSilence()
    }

    @Test func eventsStayWithinTheirHost() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let publisher = gateway.token("app", publish: true)
        let here = try await gateway.connect(gateway.token("dana"), headers: [("Origin", "http://chat.example.com")])
        let elsewhere = try await gateway.connect(gateway.token("dana"), headers: [("Origin", "http://other.example.com")])
        let response = try gateway.publish(#"{"category":"c","message":"m","host":"http://chat.example.com","target":{"principals":["dana"]}}"#,
                                           token: publisher)
        #expect(response.status == 202)
        #expect(try await here.nextJSON().view["host"].string == "http://chat.example.com")
        try await elsewhere.expectSilence()
    }

    @Test func pyamsSubprotocolTokenIsAcceptedAndAnswered() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let client = try await gateway.connect(nil, path: "/ws/chat", subprotocols: ["accessToken", gateway.token("erin")])
        #expect(client.negotiatedSubprotocol == "accessToken")
        let published = try gateway.publish(#"{"category":"c","message":"via subprotocol","target":{"principals":["erin"]}}"#,
                                            token: gateway.token("app", publish: true))
        // A refused publish would otherwise show up only as a 30 s wait for the frame.
        #expect(published.status == 202, "\(published.status) \(published.text)")
        #expect(try await client.nextJSON().view["message"].string == "via subprotocol")
    }

    @Test func queryTokenIsAccepted() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let client = try await gateway.connect(nil, query: "token=" + gateway.token("frank"))
        _ = try gateway.publish(#"{"category":"c","message":"via query","target":{"principals":["frank"]}}"#,
                                token: gateway.token("app", publish: true))
        #expect(try await client.nextJSON().view["message"].string == "via query")
    }

    @Test func contextHealthAndMetricsAnswer() async throws {
        let gateway = try TestGateway { $0.plugins = [PluginFixtures.categoryTargets(["news": ["gina"]])] }
        defer { gateway.stop() }
        let token = gateway.token("gina", principals: ["group:a"], title: "Gina")
        let context = try gateway.http("GET", "/api/v1/context", token: token)
        #expect(context.status == 200)
        let body = try context.json().view
        #expect(body["principal"]["id"].string == "gina")
        #expect(body["principal"]["title"].string == "Gina")
        #expect(body["principal"]["principals"].strings == ["gina", "group:a"])
        #expect(try gateway.http("GET", "/healthz").status == 200)
        let client = try await gateway.connect(token)
        _ = try gateway.publish(#"{"category":"c","message":"count me","target":{"principals":["gina"]}}"#,
                                token: gateway.token("app", publish: true))
        _ = try await client.nextJSON()
        let metrics = try gateway.http("GET", "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.text.contains("gateway_deliveries_total"))
        #expect(metrics.text.contains("gateway_delivery_latency_seconds"))
        #expect(metrics.text.contains("gateway_plugin_errors_total"), "plugin counters reach /metrics")
        #expect(metrics.text.contains("gateway_events_in_total"))
    }
}
