import Foundation
import GatewayChatClient
import GatewayStore
import Testing

/// SIGTERM on the real binary: stop accepting, answer the request in flight, close WebSockets
/// with 1001, flush history, exit 0 — and never take longer than drain_seconds.
@Suite struct DrainTests {
    private func config(drainSeconds: Int) -> String {
        """
        [server]
        listen = "127.0.0.1:0"
        drain_seconds = \(drainSeconds)
        [auth]
        hs256_secret = "\(TestGateway.secret)"
        [history]
        path = "history.sqlite"
        """
    }

    @Test func sigtermAnswersTheRequestInFlightClosesWebSocketsAndFlushesHistory() async throws {
        let gateway = try DrainableGateway(config: config(drainSeconds: 30))
        let client = gateway.client
        let bob = try await client.connect(client.token("bob", principals: ["bob"]))
        let app = client.token("app", publish: true)

        // A publish whose body is only half sent when SIGTERM arrives.
        let body = #"{"category":"chat.message","message":"sent during the drain","target":{"principals":["bob"]}}"#
        let split = body.index(body.startIndex, offsetBy: 20)
        let inFlight = try PartialRequest(port: gateway.port)
        defer { inFlight.close() }
        try inFlight.send("POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(app)\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + String(body[..<split]))
        try await Task.sleep(for: .milliseconds(300))  // the head has reached the server
        gateway.signal(SIGTERM)

        guard case .close(let code, _) = try await bob.next(timeout: .seconds(15)) else {
            Issue.record("expected a close frame on SIGTERM")
            return
        }
        #expect(code == 1001, "WebSockets are closed with 1001 (going away)")
        var refused = false
        for _ in 0..<100 {
            if !PartialRequest.accepts(port: gateway.port) { refused = true; break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(refused, "the listening socket is closed: new connections are refused")
        #expect(gateway.process.isRunning, "the drain waits for the request in flight")

        try inFlight.send(String(body[split...]) as String)
        let answer = inFlight.readToEnd()
        let response = try RawHTTP.parse(answer.bytes)
        #expect(response.status == 202, "\(response.text)")
        #expect(answer.closedByPeer, "the connection closes after its answer")
        let id = try #require(try response.json().view["id"].int)

        let status = try await gateway.waitForExit(seconds: 30)
        #expect(status == 0)
        // The event accepted during the drain is in history.
        let history = try HistoryStore(path: gateway.folder + "/history.sqlite")
        defer { history.close() }
        let stored = try history.after(id: 0, principals: ["bob"], host: "localhost", excludingSender: "nobody", limit: 10)
        #expect(stored.map(\.id) == [Int64(id)])
    }

    @Test func aRequestThatNeverEndsDoesNotHoldTheDrainPastItsDeadline() async throws {
        let gateway = try DrainableGateway(config: config(drainSeconds: 1))
        let stuck = try PartialRequest(port: gateway.port)
        defer { stuck.close() }
        try stuck.send("POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"cat")
        try await Task.sleep(for: .milliseconds(300))
        gateway.signal(SIGTERM)
        // drain_seconds = 1; the bound is generous because CI machines are busy.
        let status = try await gateway.waitForExit(seconds: 30)
        #expect(status == 0)
        #expect(stuck.readToEnd().closedByPeer, "the unfinished request's connection was cut")
    }
}
