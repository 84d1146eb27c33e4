import Foundation
import GatewayChatClient
import GatewayCore
import GatewayJSON
import Testing

/// What pyams_chat's browser side and its `get_notifications` expect of the server that
/// replaces pyams_chat_ws.
@Suite struct PyamsCompatibilityTests {
    @Test func refusedTokenOnWsChatGetsTheLogoutFrameAndWsKeeps401() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let expired = gateway.token("alice", ttl: -3600)
        // pyams_chat's chat-sw.js: /ws/chat with the accessToken subprotocol.
        let client = try await gateway.connect(nil, path: "/ws/chat", subprotocols: ["accessToken", expired])
        let frame = try await client.nextJSON().view
        #expect(frame["action"].string == "logout")
        #expect(frame["status"].string == "FORBIDDEN")
        #expect(frame["code"].string == "auth.expired")
        #expect(try await client.next(timeout: .seconds(10)) == .close(code: 1008, reason: "auth.expired"))

        // No token at all: the same answer on /ws/chat.
        let anonymous = try await gateway.connect(nil, path: "/ws/chat")
        #expect(try await anonymous.nextJSON().view["code"].string == "auth.missing_token")

        // /ws keeps HTTP 401 before any upgrade.
        do {
            _ = try await gateway.connect(expired, path: "/ws")
            Issue.record("/ws upgraded with an expired token")
        } catch let refused as WebSocketUpgradeRefused {
            #expect(refused.status == 401)
        }
    }

    @Test func logoutPathsAreConfigurable() async throws {
        let gateway = try TestGateway { $0.server.authFailureLogoutPaths = ["/ws"] }
        defer { gateway.stop() }
        let client = try await gateway.connect(gateway.token("alice", ttl: -3600), path: "/ws")
        #expect(try await client.nextJSON().view["action"].string == "logout")
        do {
            _ = try await gateway.connect(nil, path: "/ws/chat")
            Issue.record("/ws/chat upgraded without a token")
        } catch let refused as WebSocketUpgradeRefused {
            #expect(refused.status == 401)
        }
    }

    /// Two gateways subscribed to the same chat:main: the pyams message is delivered by both,
    /// but pushed once to chat:notifications::<host>, trimmed to notifications_length.
    @Test func notificationsListIsWrittenOncePerEventAndTrimmed() async throws {
        let redis = try RedisServerProcess(password: "pw")
        defer { redis.stop() }
        func configure(_ config: inout GatewayConfig) {
            config.redis.enabled = true
            config.redis.url = RedisEndpoint(port: redis.port, password: "pw", database: 2)
            config.redis.notificationsKey = "chat:notifications"
            config.redis.notificationsLength = 3
        }
        let first = try TestGateway(configure: configure)
        defer { first.stop() }
        let second = try TestGateway(configure: configure)
        defer { second.stop() }
        let bob = try await second.connect(second.token("users:bob"), headers: [("Origin", "http://example.com")])
        for index in 1...5 {
            let message = #"{"host":"http://example.com","channel":"chat:main","action":"notify","category":"content.published","status":"info","title":"T","message":"event \#(index)","image":null,"source":{"id":"users:alice","title":"Alice","avatar":"http://example.com/a.png"},"target":{"principals":["users:bob"]},"url":null,"modal":false,"timestamp":"2026-12-01T04:00:0\#(index).000000+00:00"}"#
            #expect(try redis.publish(channel: "chat:main", message) == 2, "both gateways subscribed")
            #expect(try await bob.nextJSON().view["message"].string == "event \(index)")
        }
        var entries: [String] = []
        for _ in 0..<50 {
            entries = try redis.command(["-n", "2", "LRANGE", "chat:notifications::http://example.com", "0", "-1"])
                .split(separator: "\n").map(String.init)
            if entries.count == 3, entries.first?.contains("event 5") == true { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(entries.count == 3, "trimmed to notifications_length, one entry per event: \(entries)")
        let newest = try JSON.parse(try #require(entries.first)).view
        #expect(newest["message"].string == "event 5")
        #expect(newest["source"]["avatar"].string == "http://example.com/a.png")
        #expect(newest["target"]["principals"].strings == ["users:bob"])
        #expect(entries.map { (try? JSON.parse($0))?.view["message"].string } == ["event 5", "event 4", "event 3"])
    }
}
