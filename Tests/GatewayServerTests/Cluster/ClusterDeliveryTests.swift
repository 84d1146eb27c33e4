import Foundation
import GatewayChatClient
import GatewayJSON
import Testing

/// Three real `gateway` processes on one real redis-server (`[engine] kind = "redis"`) behave as
/// one gateway: delivery, sender exclusion, ids, signals and recovery cross nodes.
@Suite(.serialized) struct ClusterDeliveryTests {
    @Test func anEventReachesEveryMatchingConnectionOnEveryNodeExactlyOnce() async throws {
        let cluster = try TestCluster()
        defer { cluster.stop() }
        let (n0, n1, n2) = (cluster.nodes[0], cluster.nodes[1], cluster.nodes[2])
        // bob on two nodes, carol (through a group) on the third, alice — the sender, also in
        // the group — on all three.
        let bobOn0 = try await n0.connect(n0.token("bob"))
        let bobOn1 = try await n1.connect(n1.token("bob"))
        let carolOn2 = try await n2.connect(n2.token("carol", principals: ["group:team"]))
        let aliceOn0 = try await n0.connect(n0.token("alice", principals: ["group:team"]))
        let aliceOn1 = try await n1.connect(n1.token("alice", principals: ["group:team"]))
        let aliceOn2 = try await n2.connect(n2.token("alice", principals: ["group:team"], publish: true))
        let alice = n2.token("alice", principals: ["group:team"], publish: true)
        let stats = try cluster.commandCalls()

        var ids: [Int] = []
        for (index, node) in cluster.nodes.enumerated() {
            let response = try node.publish(#"{"category":"chat.message","message":"m\#(index)","target":{"principals":["bob","group:team"]}}"#,
                                            token: alice)
            #expect(response.status == 202, "\(response.text)")
            ids.append(try #require(try response.json().view["id"].int))
        }
        // One more through a WebSocket publish frame on node 2.
        try await aliceOn2.sendJSON(#"{"type":"publish","ref":"r1","event":{"category":"chat.message","message":"m3","target":{"principals":["bob","group:team"]}}}"#)
        let ack = try await aliceOn2.nextJSON()
        #expect(ack.view["type"].string == "ack")
        ids.append(try #require(ack.view["id"].int))
        #expect(ids == ids.sorted() && Set(ids).count == 4, "ids are global and increase: \(ids)")

        for client in [bobOn0, bobOn1, carolOn2] {
            let received = try await client.events(4)
            #expect(received.map { $0.view["id"].int! } == ids, "every event once, in order")
            #expect(received.map { $0.view["message"].string! } == ["m0", "m1", "m2", "m3"])
            try await client.expectSilence()   // and nothing twice
        }
        for client in [aliceOn0, aliceOn1, aliceOn2] {
            try await client.expectSilence()   // the sender's connections on every node get nothing
        }

        // Redis work per event: one PUBLISH and one history append per target principal
        // (2 here), whatever the number of connections.
        let after = try cluster.commandCalls()
        #expect((after["publish"] ?? 0) - (stats["publish"] ?? 0) == 4)
        #expect((after["xadd"] ?? 0) - (stats["xadd"] ?? 0) == 8)
    }

    @Test func typingAndReadSignalsCrossNodes() async throws {
        let cluster = try TestCluster(nodes: 2)
        defer { cluster.stop() }
        let alice = try await cluster.nodes[0].connect(cluster.nodes[0].token("alice"))
        let bob = try await cluster.nodes[1].connect(cluster.nodes[1].token("bob"))
        let bobElsewhere = try await cluster.nodes[0].connect(cluster.nodes[0].token("bob"))
        try await alice.sendJSON(#"{"type":"typing","ref":"t1","target":{"principals":["bob"]}}"#)
        #expect(try await alice.nextJSON().view["type"].string == "ack")
        for client in [bob, bobElsewhere] {
            let typing = try await client.nextJSON()
            #expect(typing.view["type"].string == "typing")
            #expect(typing.view["source"]["id"].string == "alice")
        }
        try await bob.sendJSON(#"{"type":"read","ref":"m1","id":7,"target":{"principals":["alice"]}}"#)
        #expect(try await bob.nextJSON().view["type"].string == "ack")
        let read = try await alice.nextJSON()
        #expect(read.view["type"].string == "read" && read.view["id"].int == 7)
        try await bobElsewhere.expectSilence()   // not echoed to the sender's other connection
    }

    @Test func aClientResumesOnAnotherNodeWithoutGapOrDuplicate() async throws {
        let cluster = try TestCluster()
        defer { cluster.stop() }
        let (n0, n1, n2) = (cluster.nodes[0], cluster.nodes[1], cluster.nodes[2])
        let app = n1.token("app", publish: true)
        let bob = try await n0.connect(n0.token("bob"))
        let first = try n1.publish(#"{"category":"chat.message","message":"seen","target":{"principals":["bob"]}}"#, token: app)
        let seen = try await bob.events(1)[0]
        #expect(seen.view["id"].int == (try first.json().view["id"].int))
        await bob.close()

        var missed: [Int] = []
        for number in 0..<5 {
            let response = try n1.publish(#"{"category":"chat.message","message":"missed \#(number)","target":{"principals":["bob"]}}"#, token: app)
            missed.append(try #require(try response.json().view["id"].int))
        }
        let lastId = try #require(seen.view["id"].int)
        let resumed = try await n2.connect(n2.token("bob"), query: "last_id=\(lastId)")
        let live = try n1.publish(#"{"category":"chat.message","message":"live","target":{"principals":["bob"]}}"#, token: app)
        let liveId = try #require(try live.json().view["id"].int)
        let received = try await resumed.events(6)
        #expect(received.map { $0.view["id"].int! } == missed + [liveId], "missed events in order, then live")
        try await resumed.expectSilence()

        // The history endpoint reads the same shared history on any node.
        let notifications = try n0.http("GET", "/api/v1/notifications", token: n0.token("bob"))
        #expect(notifications.status == 200)
        #expect(try notifications.json().view["notifications"].count == 7)
    }
}
