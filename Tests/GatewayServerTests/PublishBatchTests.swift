import Foundation
import GatewayJSON
import Testing

/// POST /api/v1/events with a JSON array: each event routed in order and answered at its index.
@Suite struct PublishBatchTests {
    @Test func eachEventIsAnsweredAtItsIndexAndDeliveredInOrder() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let bob = try await gateway.connect(gateway.token("bob"))
        let alice = gateway.token("alice", publish: true)
        let batch = """
            [{"category":"chat.message","message":"one","target":{"principals":["bob"]}},
             {"message":"no category","target":{"principals":["bob"]}},
             "not an object",
             {"category":"chat.message","message":"two","target":{"principals":["bob"]}}]
            """
        let response = try gateway.publish(batch, token: alice)
        #expect(response.status == 200)
        let results = try response.json().view["results"].elements
        try #require(results.count == 4, "\(response.text)")
        #expect(results[0]["status"].int == 202)
        #expect(results[1]["status"].int == 400)
        #expect(results[1]["error"]["code"].string == "event.missing_category")
        #expect(results[2]["error"]["code"].string == "event.not_object")
        #expect(results[3]["status"].int == 202)
        let first = try #require(results[0]["id"].int)
        let second = try #require(results[3]["id"].int)
        #expect(second > first, "ids follow the array's order")
        let received = [try await bob.nextJSON(), try await bob.nextJSON()]
        #expect(received.map { $0.view["message"].string } == ["one", "two"])
        #expect(received.map { $0.view["id"].int } == [first, second])
        try await bob.expectSilence()
    }

    @Test func aBatchThatCannotBeTakenPublishesNothing() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let bob = try await gateway.connect(gateway.token("bob"))
        let alice = gateway.token("alice", publish: true)
        let event = #"{"category":"chat.message","message":"x","target":{"principals":["bob"]}}"#

        let empty = try gateway.publish("[]", token: alice)
        #expect(empty.status == 400)
        #expect(try empty.json().view["error"]["code"].string == "event.batch_empty")

        let tooMany = "[" + Array(repeating: event, count: 101).joined(separator: ",") + "]"
        let refused = try gateway.publish(tooMany, token: alice)
        #expect(refused.status == 413)
        #expect(try refused.json().view["error"]["code"].string == "event.batch_too_large")

        let reader = try gateway.publish("[\(event)]", token: gateway.token("reader"))
        #expect(reader.status == 403)
        #expect(try reader.json().view["error"]["code"].string == "auth.publish_forbidden")

        let broken = try gateway.publish("[\(event),", token: alice)
        #expect(broken.status == 400)
        #expect(try broken.json().view["error"]["code"].string == "event.invalid_json")
        try await bob.expectSilence()

        // The largest batch is taken whole.
        let full = try gateway.publish("[" + Array(repeating: event, count: 100).joined(separator: ",") + "]", token: alice)
        #expect(full.status == 200)
        let results = try full.json().view["results"].elements
        #expect(results.count == 100)
        #expect(results.allSatisfy { $0["status"].int == 202 })
        for _ in 0..<100 { #expect(try await bob.nextJSON().view["message"].string == "x") }
    }

    /// curl, a client this project did not write, publishes a batch as a user would.
    @Test func curlPublishesABatch() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let bob = try await gateway.connect(gateway.token("bob"))
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-s", "-w", "\n%{http_code}", "-X", "POST", "http://127.0.0.1:\(gateway.port)/api/v1/events",
                          "-H", "Authorization: Bearer \(gateway.token("alice", publish: true))",
                          "-H", "Content-Type: application/json",
                          "--data-binary", #"[{"category":"chat.message","message":"a","target":{"principals":["bob"]}},"#
                              + #"{"category":"chat.message","message":"b","target":{"principals":["bob"]}}]"#]
        let output = Pipe()
        curl.standardOutput = output
        try curl.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        curl.waitUntilExit()
        #expect(curl.terminationStatus == 0)
        let lines = text.split(separator: "\n")
        #expect(lines.last == "200", "\(text)")
        let results = try JSON.parse(String(lines.first ?? "")).view["results"].elements
        #expect(results.map { $0["status"].int } == [202, 202])
        #expect(try await bob.nextJSON().view["message"].string == "a")
        #expect(try await bob.nextJSON().view["message"].string == "b")
    }
}
