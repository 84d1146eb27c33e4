import Foundation
import GatewayChatClient
import GatewayJSON
import Testing

/// Every refusal has a stable code and the right HTTP status; none of them hurts the gateway.
@Suite struct BadInputTests {
    @Test func webSocketWithoutValidTokenGets401BeforeUpgrade() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let cases: [(String?, String)] = [
            (nil, "auth.missing_token"),
            ("not-a-jwt", "auth.malformed_token"),
            (gateway.token("x", ttl: -3600), "auth.expired"),
        ]
        for (token, code) in cases {
            do {
                _ = try await gateway.connect(token)
                Issue.record("upgrade with \(code) should be refused")
            } catch let refused as WebSocketUpgradeRefused {
                #expect(refused.status == 401)
                #expect((try? JSON.parse(refused.body))?.view["error"]["code"].string == code, "\(refused.body)")
            }
        }
        // A token signed with another secret.
        let forged = gateway.token("x").split(separator: ".").prefix(2).joined(separator: ".") + ".c2lnbmF0dXJl"
        do {
            _ = try await gateway.connect(forged)
            Issue.record("forged token accepted")
        } catch let refused as WebSocketUpgradeRefused {
            #expect(refused.status == 401)
            #expect((try? JSON.parse(refused.body))?.view["error"]["code"].string == "auth.bad_signature", "\(refused.body)")
        }
    }

    @Test func publishRefusals() throws {
        let gateway = try TestGateway {
            $0.server.maxEventBytes = 2048
            $0.server.unknownEventFields = .refuse
        }
        defer { gateway.stop() }
        let publisher = gateway.token("app", publish: true)
        let reader = gateway.token("reader")
        let cases: [(token: String?, body: String, status: Int, code: String)] = [
            (nil, #"{"category":"c"}"#, 401, "auth.missing_token"),
            (reader, #"{"category":"c","target":{"principals":["a"]}}"#, 403, "auth.publish_forbidden"),
            (publisher, #"{"category":"c""#, 400, "event.invalid_json"),
            // (An array is a batch: PublishBatchTests. Any other non-object is refused.)
            (publisher, #""just a string""#, 400, "event.not_object"),
            (publisher, #"[]"#, 400, "event.batch_empty"),
            (publisher, #"{"message":"no category","target":{"principals":["a"]}}"#, 400, "event.missing_category"),
            (publisher, #"{"category":"c","colour":"red","target":{"principals":["a"]}}"#, 400, "event.unknown_field"),
            (publisher, #"{"category":"c","title":7,"target":{"principals":["a"]}}"#, 400, "event.field_type"),
            (publisher, #"{"category":"c","target":{"principals":"a"}}"#, 400, "event.bad_target"),
            (publisher, #"{"category":"c","timestamp":"yesterday","target":{"principals":["a"]}}"#, 400, "event.bad_timestamp"),
            (publisher, #"{"category":"c","id":5,"target":{"principals":["a"]}}"#, 400, "event.id_not_allowed"),
            (publisher, #"{"category":"c","source":{"id":"someone-else"},"target":{"principals":["a"]}}"#, 403, "event.source_forbidden"),
            (publisher, #"{"category":"nobody.handles.this"}"#, 422, "event.no_targets"),
            (publisher, #"{"category":"c","message":""# + String(repeating: "x", count: 4096) + #""}"#, 413, "http.body_too_large"),
        ]
        for item in cases {
            let response = try gateway.publish(item.body, token: item.token ?? "")
            #expect(response.status == item.status, "\(item.body.prefix(60)): \(response.text)")
            #expect(response.errorCode == item.code, "\(item.body.prefix(60)): \(response.text)")
            #expect(response.header("Content-Type") == "application/json")
        }
        #expect(try gateway.http("GET", "/api/v1/nothing").errorCode == "http.not_found")
        #expect(try gateway.http("GET", "/api/v1/events").status == 405)
        #expect(try gateway.http("GET", "/ws").errorCode == "http.upgrade_required")
        // Still serving after all of that.
        #expect(try gateway.publish(#"{"category":"c","target":{"principals":["a"]}}"#, token: publisher).status == 202)
    }

    @Test func webSocketClientFrameErrorsKeepTheConnection() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let reader = try await gateway.connect(gateway.token("reader"))
        let cases: [(String, String)] = [
            ("{nope", "client.invalid_json"),
            (#"{"ref":"r"}"#, "client.missing_type"),
            (#"{"type":"dance","ref":"r"}"#, "client.unknown_type"),
            (#"{"type":"publish","ref":"r","event":{"category":"c","target":{"principals":["x"]}}}"#, "auth.publish_forbidden"),
            (#"{"type":"typing","ref":"r"}"#, "event.bad_target"),
        ]
        for (frame, code) in cases {
            try await reader.sendJSON(frame)
            let answer = try await reader.nextJSON()
            #expect(answer.view["type"].string == "error", "\(frame)")
            #expect(answer.view["error"]["code"].string == code, "\(frame): \(answer.encodedString())")
        }
        let writer = try await gateway.connect(gateway.token("writer", publish: true))
        try await writer.sendJSON(#"{"type":"publish","ref":"w1","event":{"category":"c","source":{"id":"mallory"},"target":{"principals":["reader"]}}}"#)
        let refused = try await writer.nextJSON()
        #expect(refused.view["error"]["code"].string == "event.source_forbidden")
        #expect(refused.view["ref"].string == "w1")
    }
}

@Suite struct ClientRateLimitTests {
    @Test func floodingClientGetsRateLimitedAndStaysConnected() async throws {
        let gateway = try TestGateway { config in
            config.server.clientFramesPerSecond = 1
            config.server.clientFrameBurst = 3
        }
        defer { gateway.stop() }
        let client = try await gateway.connect(gateway.token("flood"))
        // 20 frames at once against a burst of 3 and 1 frame/s. The bucket may only admit the
        // burst plus what refilled while the frames were being sent and answered, however slow
        // the machine is.
        let sent = 20
        let started = Date()
        for index in 0..<sent {
            try await client.sendJSON(#"{"type":"typing","ref":"\#(index)","target":{"principals":["x"]}}"#)
        }
        var acks = 0, limited = 0
        for _ in 0..<sent {
            let answer = try await client.nextJSON()
            if answer.view["type"].string == "ack" { acks += 1 }
            if answer.view["error"]["code"].string == "client.rate_limited" { limited += 1 }
        }
        #expect(acks + limited == sent, "every frame is answered: acked or refused with a code")
        let refilled = Int(Date().timeIntervalSince(started).rounded(.up))
        #expect(acks >= 3, "the burst passes")
        #expect(acks <= 3 + refilled, "no more than the burst and the refill pass (\(acks) in \(refilled) s)")
        #expect(limited >= sent - 3 - refilled, "the flood is refused")
        // Still connected and served once the budget refills.
        try await Task.sleep(for: .milliseconds(1100))
        try await client.sendJSON(#"{"type":"typing","ref":"later","target":{"principals":["x"]}}"#)
        #expect(try await client.nextJSON().view["type"].string == "ack")
    }
}
