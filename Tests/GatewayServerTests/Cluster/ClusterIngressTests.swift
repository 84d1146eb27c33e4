import Foundation
import GatewayChatClient
import GatewayJSON
import Testing

/// pyams_chat publishes each message once on `chat:main`, and every node of a redis-engine
/// cluster is subscribed to it: one node routes it, every node delivers it, each recipient gets
/// it once (not once per node), and pyams_chat's notifications list gets one entry.
@Suite(.serialized) struct ClusterIngressTests {
    static func pyamsMessage(_ text: String, timestamp: String) -> String {
        #"{"host":"localhost","channel":"chat:main","action":"notify","category":"content.published","status":"info","title":"T","message":"\#(text)","image":null,"source":{"id":"alice","title":"Alice","avatar":"http://localhost/a.png"},"target":{"principals":["bob","group:team"]},"url":null,"modal":false,"timestamp":"\#(timestamp)"}"#
    }

    @Test func aChatMainMessageIsRoutedByOneNodeAndReachesEachRecipientOnce() async throws {
        let cluster = try TestCluster(nodes: 3, redisConfig: """
            enabled = true
            notifications_key = "chat:notifications"
            """)
        defer { cluster.stop() }
        let (n0, n1, n2) = (cluster.nodes[0], cluster.nodes[1], cluster.nodes[2])
        let bobOn0 = try await n0.connect(n0.token("bob"))
        let bobOn1 = try await n1.connect(n1.token("bob"))
        let carolOn2 = try await n2.connect(n2.token("carol", principals: ["group:team"]))
        let aliceOn1 = try await n1.connect(n1.token("alice", principals: ["group:team"]))
        let before = try cluster.commandCalls()

        let first = Self.pyamsMessage("first", timestamp: "2026-12-01T07:00:00.000001+00:00")
        #expect(try cluster.redis.publish(channel: "chat:main", first) == 3, "every node is subscribed")
        var ids: [Int] = []
        for client in [bobOn0, bobOn1, carolOn2] {
            let received = try await client.events(1, timeout: 30)
            #expect(received[0].view["message"].string == "first")
            #expect(received[0].view["source"]["avatar"].string == "http://localhost/a.png")
            ids.append(try #require(received[0].view["id"].int))
            // A copy routed by another node would come right behind; wait generously for it.
            try await client.expectSilence(for: .seconds(2))
        }
        #expect(Set(ids).count == 1, "one event, one id, on every node: \(ids)")

        // The same words published again later are a new pyams message (another timestamp):
        // routed again, once.
        let second = Self.pyamsMessage("first", timestamp: "2026-12-01T07:00:01.000002+00:00")
        #expect(try cluster.redis.publish(channel: "chat:main", second) == 3)
        for client in [bobOn0, bobOn1, carolOn2] {
            let received = try await client.events(1, timeout: 30)
            #expect(received[0].view["id"].int != ids[0])
            try await client.expectSilence(for: .seconds(2))
        }
        try await aliceOn1.expectSilence()

        // Two PUBLISHes by the test on chat:main and one per event on {gateway}:events — not one
        // per node and event.
        let after = try cluster.commandCalls()
        #expect((after["publish"] ?? 0) - (before["publish"] ?? 0) == 4, "\(after["publish"] ?? 0) - \(before["publish"] ?? 0)")
        var entries: [String] = []
        try await eventually("the notifications list has both messages") {
            entries = try cluster.redis.command(["LRANGE", "chat:notifications::localhost", "0", "-1"])
                .split(separator: "\n").map(String.init)
            return entries.count >= 2
        }
        try await Task.sleep(for: .milliseconds(500))
        entries = try cluster.redis.command(["LRANGE", "chat:notifications::localhost", "0", "-1"]).split(separator: "\n").map(String.init)
        #expect(entries.count == 2, "one entry per message: \(entries.count)")
    }
}
