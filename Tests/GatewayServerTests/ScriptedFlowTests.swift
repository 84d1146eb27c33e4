// The bundled scripted-flows plugin (ABI 1.3: a publish guard, a responder and a query plugin)
// in a real gateway, loaded with dlopen, driven by real WebSocket clients: a survey from
// start to on_finish with invalid answers refused, a closed member refused with its code, a
// restart in the middle of a flow, breaking a scripted state, and the answers/state endpoints.
import Foundation
import GatewayChatClient
import GatewayCore
import GatewayJSON
import Testing

@Suite(.serialized) struct ScriptedFlowTests {
    static let schema = #"""
    {"id": "intake", "title": "Intake", "on_finish": "open", "questions": [
      {"id": 1, "position": 1, "type": "choice", "text": "Do you have a fever?", "required": true,
       "answers": [{"id": 11, "text": "Yes", "next_qid": 2}, {"id": 12, "text": "No", "next_qid": 3}]},
      {"id": 2, "position": 2, "type": "number", "text": "How high, in degrees?", "required": true, "min": 35, "max": 43, "next_qid": 3},
      {"id": 3, "position": 3, "type": "text", "text": "Anything else?", "required": false, "next_qid": -1}]}
    """#

    /// A gateway with the scripted-flows plugin on the intake schema, its store in the data folder.
    /// Both paths are relative: they start at the config's folder (ABI 1.4 config_directory), not
    /// at the test process's working directory, where no intake.json exists.
    private static func gateway(folder: String? = nil) throws -> TestGateway {
        let folder = folder ?? FileManager.default.temporaryDirectory.appendingPathComponent("flows-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let schemaPath = folder + "/intake.json"
        if !FileManager.default.fileExists(atPath: schemaPath) { try schema.write(toFile: schemaPath, atomically: true, encoding: .utf8) }
        return try TestGateway(directory: folder) { config in
            config.plugins = [GatewayConfig.Plugin(name: "surveys", library: "libScriptedFlows.so", config: [
                (key: "schemas", value: .array([.string("intake.json")])),
                (key: "store", value: .string("surveys.json")),
            ])]
        }
    }

    /// Frames arrive interleaved (events, unread counts, membership changes): the first that matches.
    private func next(_ client: WebSocketClient, _ what: String, where matches: (JSONView) -> Bool) async throws -> JSON {
        for _ in 0..<60 {
            let frame = try await client.nextJSON()
            if matches(frame.view) { return frame }
        }
        throw TestFailure("no \(what) among the next 60 frames")
    }

    /// Two frames that may come in either order: a member-state change is sent by the host at
    /// once, while the flow's next event is published by the responder on the blocking pool.
    private func both(_ client: WebSocketClient, _ what: String, _ first: (JSONView) -> Bool,
                      _ second: (JSONView) -> Bool) async throws -> (JSON, JSON) {
        var found: (JSON?, JSON?) = (nil, nil)
        for _ in 0..<60 {
            let frame = try await client.nextJSON()
            if found.0 == nil && first(frame.view) { found.0 = frame } else if found.1 == nil && second(frame.view) { found.1 = frame }
            if let a = found.0, let b = found.1 { return (a, b) }
        }
        throw TestFailure("not both of \(what) among the next 60 frames")
    }

    private static func isMember(_ member: String, in state: String) -> (JSONView) -> Bool {
        { $0["type"].string == "room.member" && $0["member"]["id"].string == member && $0["member"]["state"].string == state }
    }

    private func question(_ client: WebSocketClient, _ text: String) async throws -> JSON {
        try await next(client, "question '\(text)'") { $0["category"].string == "survey.question" && $0["message"].string == text }
    }

    private func answer(_ client: WebSocketClient, _ ref: String, _ text: String, room: String) async throws -> JSONView {
        try await client.sendJSON(#"{"type":"publish","ref":"\#(ref)","event":{"category":"chat.message","message":"\#(text)","target":{"rooms":["\#(room)"]}}}"#)
        return try await next(client, "the answer to \(ref)") { $0["ref"].string == ref }.view
    }

    private func start(_ gateway: TestGateway, _ client: WebSocketClient, room: String, member: String, onFinish: String) async throws -> JSONView {
        try await client.sendJSON(#"{"type":"publish","ref":"start-\#(member)","event":{"category":"survey.start","message":"a few questions for \#(member)","target":{"rooms":["\#(room)"]},"data":{"schema":"intake","member":"\#(member)","on_finish":"\#(onFinish)"}}}"#)
        return try await next(client, "the answer to the start") { $0["ref"].string == "start-\(member)" }.view
    }

    private func memberState(_ client: WebSocketClient, _ member: String, _ state: String) async throws {
        _ = try await next(client, "\(member) becoming \(state)", where: Self.isMember(member, in: state))
    }

    @Test func aSurveyRunsFromStartToOnFinishRefusingInvalidAnswers() async throws {
        let gateway = try Self.gateway()
        defer { gateway.stop() }
        let aliceToken = gateway.token("alice", publish: true)
        let bobToken = gateway.token("bob", publish: true)
        let room = try RoomTests.createRoom(gateway, owner: aliceToken, members: #"[{"id":"bob"},{"id":"carol","state":"closed"}]"#)
        let alice = try await gateway.connect(aliceToken)
        var bob = try await gateway.connect(bobToken)
        let carol = try await gateway.connect(gateway.token("carol", publish: true))

        // A closed member's publish is refused with its code, the plugin loaded or not.
        let closed = try await answer(carol, "c1", "may I?", room: room)
        #expect(closed["error"]["code"].string == "room.write_forbidden", "\(closed.encodedString())")

        // Only a member with manage starts a survey; bob does not have it.
        let refusedStart = try await start(gateway, bob, room: room, member: "carol", onFinish: "open")
        #expect(refusedStart["error"]["code"].string == "survey.start_forbidden", "\(refusedStart.encodedString())")

        #expect(try await start(gateway, alice, room: room, member: "bob", onFinish: "open")["type"].string == "ack")
        let (_, first) = try await both(bob, "bob scripted and the first question", Self.isMember("bob", in: "scripted")) {
            $0["category"].string == "survey.question" && $0["message"].string == "Do you have a fever?"
        }
        #expect(first.view["source"]["id"].string == "survey:intake")
        #expect(first.view["data"]["survey"]["question"]["answers"][1]["text"].string == "No")
        _ = try await question(alice, "Do you have a fever?")

        let invalid = try await answer(bob, "b1", "Maybe", room: room)
        #expect(invalid["error"]["code"].string == "survey.invalid_answer")
        #expect(invalid["error"]["message"].string?.contains("Yes, No") == true, "\(invalid.encodedString())")
        #expect(try await answer(bob, "b2", "yes", room: room)["type"].string == "ack")
        let seen = try await next(alice, "bob's answer") { $0["source"]["id"].string == "bob" && $0["message"].string == "yes" }
        #expect(seen.view["data"]["survey"]["answer"].string == "Yes" && seen.view["data"]["survey"]["question"].int == 1)
        _ = try await question(bob, "How high, in degrees?")

        #expect(try await answer(bob, "b3", "50", room: room)["error"]["code"].string == "survey.invalid_answer")
        #expect(try await answer(bob, "b4", "warm", room: room)["error"]["code"].string == "survey.invalid_answer")

        // A restart in the middle: the flow resumes at its question (the plugin's store).
        await bob.close()
        await alice.close()
        await carol.close()
        try gateway.restart()
        bob = try await gateway.connect(bobToken)
        #expect(try await answer(bob, "b5", "38.5", room: room)["type"].string == "ack")
        _ = try await question(bob, "Anything else?")
        #expect(try await answer(bob, "b6", "no, thanks", room: room)["type"].string == "ack")
        // on_finish = open: bob may write again.
        let (finished, _) = try await both(bob, "the end of the survey and bob open", { $0["category"].string == "survey.finished" },
                                           Self.isMember("bob", in: "open"))
        #expect(finished.view["data"]["survey"]["completed"].bool == true)

        // Free to write again: nothing vouched, nothing rewritten.
        let free = try await answer(bob, "b7", "thanks all", room: room)
        #expect(free["type"].string == "ack", "\(free.encodedString())")

        // The answers and the state (chat_api's visibility and completed).
        let answers = try gateway.http("GET", "/api/v1/plugins/surveys/rooms/\(room)/bob/answers", token: bobToken).json().view
        #expect(answers["answers"].elements.map { $0["answer"].string ?? "" } == ["Yes", "38.5", "no, thanks"], "\(answers.encodedString())")
        #expect(answers["status"].string == "finished" && answers["runs"].int == 1)
        let state = try gateway.http("GET", "/api/v1/plugins/surveys/rooms/\(room)/bob/state",
                                     token: gateway.token("alice")).json().view
        #expect(state["state"]["visibility"].elements.compactMap(\.int) == [1, 2, 3])
        #expect(state["state"]["completed"].bool == true)
        let forbidden = try gateway.http("GET", "/api/v1/plugins/surveys/rooms/\(room)/bob/answers", token: gateway.token("carol"))
        #expect(forbidden.status == 403 && forbidden.errorCode == "survey.forbidden")
        #expect(try gateway.http("GET", "/api/v1/plugins/surveys/rooms/\(room)/nobody/state", token: bobToken).status == 404)
        #expect(try gateway.http("GET", "/api/v1/plugins/nope/x", token: bobToken).status == 404)
        #expect(try gateway.http("GET", "/api/v1/plugins/surveys/rooms/\(room)/bob/state").status == 401)
    }

    @Test func aMemberWithBreakScriptedTakesAnotherOutOfItsFlow() async throws {
        let gateway = try Self.gateway()
        defer { gateway.stop() }
        let aliceToken = gateway.token("alice", publish: true)
        let room = try RoomTests.createRoom(gateway, owner: aliceToken, members: #"[{"id":"bob"},{"id":"carol"}]"#)
        let alice = try await gateway.connect(aliceToken)
        let bob = try await gateway.connect(gateway.token("bob", publish: true))
        let carol = try await gateway.connect(gateway.token("carol", publish: true))
        #expect(try await start(gateway, alice, room: room, member: "bob", onFinish: "close")["type"].string == "ack")
        _ = try await question(bob, "Do you have a fever?")

        // bob is scripted: a message that is not an answer is refused by the flow.
        #expect(try await answer(bob, "b1", "hello?", room: room)["error"]["code"].string == "survey.invalid_answer")
        // carol may not break it (no break_scripted permission) …
        try await carol.sendJSON(#"{"type":"publish","ref":"c1","event":{"category":"chat.message","message":"stop","target":{"rooms":["\#(room)"]},"data":{"break_state":["bob"]}}}"#)
        let carolBreak = try await next(carol, "carol's answer") { $0["ref"].string == "c1" }
        #expect(carolBreak.view["error"]["code"].string == "survey.break_forbidden")
        // … alice (the room's creator has every permission) may.
        try await alice.sendJSON(#"{"type":"publish","ref":"a1","event":{"category":"chat.message","message":"let me take over","target":{"rooms":["\#(room)"]},"data":{"break_state":["bob"]}}}"#)
        #expect(try await next(alice, "alice's answer") { $0["ref"].string == "a1" }.view["type"].string == "ack")
        try await memberState(bob, "bob", "open")
        #expect(try await answer(bob, "b2", "hello again", room: room)["type"].string == "ack")
        let state = try gateway.http("GET", "/api/v1/plugins/surveys/rooms/\(room)/bob/state", token: aliceToken).json().view
        #expect(state["status"].string == "broken")
    }

    @Test func memberStateFramesGoToTheRoomsHost() async throws {
        let gateway = try Self.gateway()
        defer { gateway.stop() }
        // Everything on a host that is not [server] default_host: the room, both connections.
        let origin = [("Origin", "https://clinic.example")]
        let aliceToken = gateway.token("alice", publish: true)
        let created = try gateway.http("POST", "/api/v1/rooms", token: aliceToken, headers: origin + [("Content-Type", "application/json")],
                                       body: Array(#"{"title":"Clinic","members":[{"id":"bob"}]}"#.utf8))
        #expect(created.status == 201, "\(created.text)")
        let room = try #require(try created.json().view["id"].string)
        let alice = try await gateway.connect(aliceToken, headers: origin)
        let bob = try await gateway.connect(gateway.token("bob", publish: true), headers: origin)

        // The plugin sets bob's state (host->set_member_state): bob's and alice's connections on
        // the room's host are told, as they are of a change made over HTTP.
        try await alice.sendJSON(#"{"type":"publish","ref":"start","event":{"category":"survey.start","target":{"rooms":["\#(room)"]},"data":{"schema":"intake","member":"bob","on_finish":"close"}}}"#)
        // The state change may reach alice before her ack.
        let (started, _) = try await both(alice, "the ack and bob scripted", { $0["ref"].string == "start" }, Self.isMember("bob", in: "scripted"))
        #expect(started.view["type"].string == "ack", "\(started.encodedString())")
        _ = try await both(bob, "bob scripted and the first question", Self.isMember("bob", in: "scripted")) {
            $0["category"].string == "survey.question" && $0["message"].string == "Do you have a fever?"
        }
        try await bob.sendJSON(#"{"type":"publish","ref":"b1","event":{"category":"chat.message","message":"no","target":{"rooms":["\#(room)"]}}}"#)
        let (ack, _) = try await both(bob, "the ack and the next question", { $0["ref"].string == "b1" }) {
            $0["category"].string == "survey.question" && $0["message"].string == "Anything else?"
        }
        #expect(ack.view["type"].string == "ack", "\(ack.encodedString())")
        try await bob.sendJSON(#"{"type":"publish","ref":"b2","event":{"category":"chat.message","message":"nothing","target":{"rooms":["\#(room)"]}}}"#)
        let (last, _) = try await both(bob, "the ack and bob closed", { $0["ref"].string == "b2" }, Self.isMember("bob", in: "closed"))
        #expect(last.view["type"].string == "ack", "\(last.encodedString())")
    }
}
