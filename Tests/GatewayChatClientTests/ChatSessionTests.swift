import Foundation
import GatewayChatClient
import Testing

private func object(_ text: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}

@Suite("ChatSession: frames out, lines in")
struct ChatSessionTests {
    @Test func publishFrameHasTheGatewayShapeAndCountingRefs() throws {
        var session = ChatSession(recipients: ["user:bob", "group:x"], category: "chat.message")
        let firstText = session.frame(for: .publish("hi bob"))
        let first = try object(try #require(firstText))
        #expect(first["type"] as? String == "publish")
        #expect(first["ref"] as? String == "1")
        let event = try #require(first["event"] as? [String: Any])
        #expect(event["category"] as? String == "chat.message")
        #expect(event["action"] as? String == "message")
        #expect(event["message"] as? String == "hi bob")
        #expect((event["target"] as? [String: Any])?["principals"] as? [String] == ["user:bob", "group:x"])

        let typing = try object(session.typingFrame())
        #expect(typing["type"] as? String == "typing")
        #expect(typing["ref"] as? String == "2")
        #expect((typing["target"] as? [String: Any])?["principals"] as? [String] == ["user:bob", "group:x"])
    }

    @Test func linesAreInterpreted() {
        #expect(ChatSession.interpret(line: "hello") == .publish("hello"))
        #expect(ChatSession.interpret(line: " /typing ") == .typing)
        #expect(ChatSession.interpret(line: "/quit") == .quit)
        #expect(ChatSession.interpret(line: "   ") == .nothing)
        var session = ChatSession(recipients: ["user:bob"])
        #expect(session.frame(for: .nothing) == nil)
        #expect(session.frame(for: .quit) == nil)
    }

    @Test func messageTextIsEscapedNotInjected() throws {
        var session = ChatSession(recipients: ["user:bob"])
        let frame = try object(session.publishFrame(message: #"say "hi", \o/ ✓"#))
        #expect((frame["event"] as? [String: Any])?["message"] as? String == #"say "hi", \o/ ✓"#)
    }

    @Test func rendersEventsSignalsAndErrors() {
        let session = ChatSession(recipients: ["user:bob"], timeZone: TimeZone(identifier: "UTC")!)
        let event = #"{"id":5,"category":"chat.message","action":"message","message":"hi alice","source":{"id":"user:bob","title":"Bob"},"timestamp":"2024-05-01T10:20:30.123Z"}"#
        #expect(session.render(incoming: event) == "10:20:30 Bob: hi alice")
        let untitled = #"{"id":6,"message":"yo","source":{"id":"user:bob","title":null},"timestamp":"2024-05-01T23:59:01Z"}"#
        #expect(session.render(incoming: untitled) == "23:59:01 user:bob: yo")
        #expect(session.render(incoming: #"{"type":"ack","ref":"1","id":5}"#) == nil)
        #expect(session.render(incoming: #"{"type":"error","ref":"2","error":{"code":"auth.publish_forbidden","message":"No."}}"#)
                == "! auth.publish_forbidden: No.")
        #expect(session.render(incoming: #"{"type":"typing","source":{"id":"user:bob","title":"Bob"}}"#) == "* Bob is typing…")
        #expect(session.render(incoming: #"{"type":"read","id":5,"source":{"id":"user:bob"}}"#) == "* user:bob read message 5")
        #expect(session.render(incoming: "not json") == "! chat.unreadable_frame: not json")
        #expect(session.render(incoming: #"{"type":"mystery"}"#)?.hasPrefix("! chat.unknown_frame") == true)
    }

    @Test func timesAreShownInTheTerminalsZone() {
        let berlin = ChatSession(recipients: [], timeZone: TimeZone(secondsFromGMT: 2 * 3600)!)
        #expect(berlin.clockTime(of: "2024-05-01T10:20:30Z") == "12:20:30")
        #expect(berlin.clockTime(of: 1_714_558_830) == "12:20:30")        // seconds
        #expect(berlin.clockTime(of: 1_714_558_830_000) == "12:20:30")    // milliseconds
    }
}

@Suite("WebSocketURL")
struct WebSocketURLTests {
    @Test func parsesHostPortAndPathWithQuery() throws {
        #expect(try WebSocketURL(parsing: "ws://127.0.0.1:8080/ws?token=a.b.c")
                == WebSocketURL(host: "127.0.0.1", port: 8080, path: "/ws?token=a.b.c"))
        #expect(try WebSocketURL(parsing: "ws://example.org") == WebSocketURL(host: "example.org", port: 80, path: "/"))
        #expect(try WebSocketURL(parsing: "ws://[::1]:9000/ws/chat") == WebSocketURL(host: "::1", port: 9000, path: "/ws/chat"))
        #expect(try WebSocketURL(parsing: "ws://h:1?x=1") == WebSocketURL(host: "h", port: 1, path: "/?x=1"))
    }

    @Test(arguments: [
        ("wss://host/ws", "ws_client.tls_unsupported"),
        ("http://host/ws", "ws_client.invalid_url"),
        ("ws://host:99999/ws", "ws_client.invalid_url"),
        ("ws://host:abc/ws", "ws_client.invalid_url"),
        ("ws:///ws", "ws_client.invalid_url"),
        ("ws://[::1/ws", "ws_client.invalid_url"),
    ])
    func rejectsUnusableURLs(url: String, code: String) {
        let error = #expect(throws: WebSocketClientError.self) { _ = try WebSocketURL(parsing: url) }
        #expect(error?.code == code)
    }
}
