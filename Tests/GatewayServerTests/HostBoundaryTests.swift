import Foundation
import GatewayChatClient
import GatewayJSON
import Testing

/// With `[hosts]`, a token uses only the hosts granted to its principals: publishing, reading
/// history (`?host=`) and connecting (`Origin`) elsewhere is 403 `host.forbidden`.
@Suite struct HostBoundaryTests {
    private func gateway() throws -> TestGateway {
        try TestGateway { config in
            config.hosts = ["http://a.example": ["*"], "http://b.example": ["group:b"]]
        }
    }

    @Test func publishingToAHostNotGrantedIs403() throws {
        let gateway = try gateway()
        defer { gateway.stop() }
        let app = gateway.token("app", publish: true)
        let bApp = gateway.token("b-app", principals: ["group:b"], publish: true)
        let event = { (host: String) in #"{"category":"c","message":"m","host":"\#(host)","target":{"principals":["x"]}}"# }
        #expect(try gateway.publish(event("http://a.example"), token: app).status == 202)
        for host in ["http://b.example", "http://unknown.example"] {
            let refused = try gateway.publish(event(host), token: app)
            #expect(refused.status == 403, "\(host): \(refused.text)")
            #expect(refused.errorCode == "host.forbidden")
        }
        #expect(try gateway.publish(event("http://b.example"), token: bApp).status == 202)
        // Origin chooses the host of an event that names none: the same rule.
        let viaOrigin = try gateway.http("POST", "/api/v1/events", token: app,
                                         headers: [("Content-Type", "application/json"), ("Origin", "http://b.example")],
                                         body: Array(#"{"category":"c","message":"m","target":{"principals":["x"]}}"#.utf8))
        #expect(viaOrigin.status == 403)
        #expect(viaOrigin.errorCode == "host.forbidden")
    }

    @Test func readingAnotherHostsHistoryIs403() throws {
        let gateway = try gateway()
        defer { gateway.stop() }
        let outsider = gateway.token("eve")
        let member = gateway.token("bob", principals: ["group:b"])
        let refused = try gateway.http("GET", "/api/v1/notifications?host=http://b.example", token: outsider)
        #expect(refused.status == 403)
        #expect(refused.errorCode == "host.forbidden")
        let viaOrigin = try gateway.http("GET", "/api/v1/notifications", token: outsider, headers: [("Origin", "http://b.example")])
        #expect(viaOrigin.status == 403)
        #expect(try gateway.http("GET", "/api/v1/notifications?host=http://b.example", token: member).status == 200)
        #expect(try gateway.http("GET", "/api/v1/notifications?host=http://a.example", token: outsider).status == 200)
    }

    @Test func connectingFromAnotherHostIsRefusedAndPublishingThereFromAConnectionToo() async throws {
        let gateway = try gateway()
        defer { gateway.stop() }
        do {
            _ = try await gateway.connect(gateway.token("eve"), headers: [("Origin", "http://b.example")])
            Issue.record("a connection from a host the token may not use was upgraded")
        } catch let refused as WebSocketUpgradeRefused {
            #expect(refused.status == 403)
            #expect((try? JSON.parse(refused.body))?.view["error"]["code"].string == "host.forbidden")
        }
        let client = try await gateway.connect(gateway.token("eve", publish: true), headers: [("Origin", "http://a.example")])
        try await client.sendJSON(#"{"type":"publish","ref":"p1","event":{"category":"c","message":"m","host":"http://b.example","target":{"principals":["x"]}}}"#)
        let answer = try await client.nextJSON()
        #expect(answer.view["type"].string == "error")
        #expect(answer.view["error"]["code"].string == "host.forbidden")
    }

    @Test func aNamelessPublisherCannotNameItself() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let bob = try await gateway.connect(gateway.token("bob"))
        let nameless = gateway.token("script", publish: true)
        let response = try gateway.publish(#"{"category":"c","message":"m","source":{"title":"Site Administrator"},"target":{"principals":["bob"]}}"#,
                                           token: nameless)
        #expect(response.status == 202, "\(response.text)")
        let event = try await bob.nextJSON()
        #expect(event.view["source"]["id"].string == "script")
        #expect(event.view["source"]["title"].isNull, "the title comes from the token only")
    }
}
