// scripted-flows: chat_api's scripted chat mode and surveys as a plugin (ABI 1.3; 1.4 for paths). In a room, a
// member with the manage permission starts a schema for another member ("survey.start"); that
// member becomes `scripted`, the plugin posts the current question (a responder: host.publish),
// accepts only a valid answer (a publish guard: anything else is refused with
// survey.invalid_answer), stores it, moves on, and at the end applies `on_finish`. Answers and
// state are served at GET /api/v1/plugins/<entry>/rooms/<room>/<member>/{answers,state}.
import Foundation
import GatewayPlugin

@_cdecl("gateway_plugin_entry")
public func gatewayPluginEntry() -> UnsafeRawPointer { export(ScriptedFlows.self) }

struct ScriptedFlows: PublishGuardPlugin, ResponderPlugin, QueryPlugin {
    static let name = "scripted-flows"
    static let version = "1.0.0"

    let schemas: [String: SurveySchema]
    let book: FlowBook
    let host: PluginHost

    init(config: JSONView, host: PluginHost) throws(PluginConfigError) {
        let reader = try PluginConfig(config, codePrefix: "scripted_flows", allowedKeys: ["schemas", "store"])
        // Relative paths start at gateway.conf's folder (ABI 1.4 config_directory), as the
        // gateway's own paths do: the same config works whatever directory the gateway runs in.
        let files = try reader.strings("schemas", default: []).map(host.resolvePath)
        guard !files.isEmpty else { throw reader.error("no_schemas", "config key 'schemas' must name at least one schema file") }
        var schemas: [String: SurveySchema] = [:]
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw reader.error("schema_unreadable", "cannot read schema file \(file)")
            }
            let json: JSON
            do { json = try JSON.parse([UInt8](data)) } catch {
                throw reader.error("schema_invalid", "\(file) is not JSON: \(error)")
            }
            let schema = try SurveySchema(json: json.view, file: file)
            guard schemas[schema.id] == nil else { throw reader.error("schema_invalid", "two schema files define '\(schema.id)'") }
            schemas[schema.id] = schema
        }
        self.schemas = schemas
        let store = try reader.string("store", default: "")
        book = try FlowBook(path: store.isEmpty ? nil : host.resolvePath(store))
        self.host = host
        guard host.offersResponderServices else {
            throw reader.error("host_too_old", "this plugin needs a gateway with plugin ABI 1.3 (publish and set_member_state)")
        }
    }

    // MARK: The guard (event loops: reads memory only)

    func check(_ publish: PublishRequest) throws -> GuardVerdict {
        let event = publish.event
        if event["category"].string == "survey.start" { return checkStart(publish) }
        if event["data"]["break_state"].exists {
            let allowed = publish.memberships.allSatisfy { $0.permissions.contains("break_scripted") }
            guard !publish.memberships.isEmpty, allowed, event["data"]["break_state"].strings != nil else {
                return .refuse(code: "survey.break_forbidden", status: 403,
                               reason: "\"break_state\" is a list of member ids, in a room where you have the break_scripted permission.")
            }
        }
        // A scripted member's answer to its current question.
        guard let membership = publish.memberships.first(where: { $0.state == "scripted" }),
              let flow = book.flow(room: membership.room, member: publish.publisherId), flow.status == .running,
              let schema = schemas[flow.schema], let current = flow.current, let question = schema.question(current) else {
            return .skip  // not ours: the gateway refuses a scripted member no flow vouches for
        }
        switch schema.validate(event["message"].string ?? "", answerId: event["data"]["answer_id"].int, for: question) {
        case .failure(let refusal):
            return .refuse(code: "survey.invalid_answer", status: 422, reason: "\(question.text) \(refusal.reason)")
        case .success(let answer):
            // The answer carries which question it answers: clients show it, `routed` records it.
            guard let rewritten = event.retained()?.deepCopy() else { return .skip }
            let data = rewritten.view["data"].isObject ? rewritten.view["data"].retained() ?? JSON.object() : JSON.object()
            let survey = JSON.object()
            survey.set("schema", schema.id)
            survey.set("member", flow.member)
            survey.set("question", .integer(question.id))
            survey.set("answer", answer.text)
            if let choice = answer.choice { survey.set("answer_id", .integer(choice)) }
            if let number = answer.number { survey.set("number", .number(number)) }
            data.set("survey", survey)
            rewritten.set("data", data)
            return .rewrite(rewritten)
        }
    }

    private func checkStart(_ publish: PublishRequest) -> GuardVerdict {
        let data = publish.event["data"]
        guard let membership = publish.memberships.first, membership.permissions.contains("manage") else {
            return .refuse(code: "survey.start_forbidden", status: 403, reason: "Starting a survey in a room needs the manage permission there.")
        }
        guard let member = data["member"].string, !member.isEmpty, member != publish.publisherId, let schemaId = data["schema"].string else {
            return .refuse(code: "survey.bad_start", status: 400,
                           reason: "survey.start needs \"data\": {\"schema\": \"<id>\", \"member\": \"<another member>\", \"on_finish\": \"repeat|open|close\"}.")
        }
        guard schemas[schemaId] != nil else {
            return .refuse(code: "survey.unknown_schema", status: 422,
                           reason: "No schema '\(schemaId)'; known: \(schemas.keys.sorted().joined(separator: ", ")).")
        }
        if let onFinish = data["on_finish"].string, SurveySchema.OnFinish(rawValue: onFinish) == nil {
            return .refuse(code: "survey.bad_start", status: 400, reason: "on_finish must be repeat, open or close.")
        }
        if book.flow(room: membership.room, member: member)?.status == .running {
            return .refuse(code: "survey.already_running", status: 409, reason: "'\(member)' is already answering a survey in this room.")
        }
        return .skip
    }

    // MARK: The responder (blocking pool)

    func routed(_ event: JSONView) throws {
        guard let room = event["target"]["rooms"].strings?.first else { return }
        let host = event["host"].string ?? ""
        let sender = event["source"]["id"].string ?? ""
        if event["category"].string == "survey.start" {
            try start(event["data"], room: room, host: host, by: sender)
        } else if let members = event["data"]["break_state"].strings {
            try breakFlows(members, room: room)
        } else if let question = event["data"]["survey"]["question"].int {
            try record(event["data"]["survey"], question: question, room: room, member: sender)
        }
    }

    private func start(_ data: JSONView, room: String, host: String, by starter: String) throws {
        guard let member = data["member"].string, let schema = data["schema"].string.flatMap({ schemas[$0] }) else { return }
        let onFinish = data["on_finish"].string.flatMap(SurveySchema.OnFinish.init(rawValue:)) ?? schema.onFinish
        do {
            try self.host.setMemberState(room: room, member: member, state: "scripted")
        } catch {
            self.host.log(.warning, "survey '\(schema.id)' not started for '\(member)' in room \(room): \(error)")
            return
        }
        let flow = Flow(room: room, member: member, schema: schema.id, onFinish: onFinish, startedBy: starter, host: host,
                        status: .running, current: schema.first.id, answers: [:], earlierRuns: [])
        book.change(room: room, member: member) { $0 = flow }
        try ask(schema.first, of: flow, schema: schema)
    }

    private func record(_ survey: JSONView, question: Int, room: String, member: String) throws {
        guard let answerText = survey["answer"].string else { return }
        let answer = SurveySchema.Answer(question: question, text: answerText, choice: survey["answer_id"].int, number: survey["number"].double)
        enum Next { case ask(Flow, SurveySchema.Question, SurveySchema), finish(Flow, SurveySchema), nothing }
        let next: Next = book.change(room: room, member: member) { flow in
            // Only the answer to the question still waiting counts (two quick answers: the first wins).
            guard var current = flow, current.status == .running, current.current == question,
                  let schema = schemas[current.schema], let asked = schema.question(question) else { return .nothing }
            current.answers[question] = answer
            if let following = schema.next(after: asked, choice: answer.choice).flatMap(schema.question) {
                current.current = following.id
                flow = current
                return .ask(current, following, schema)
            }
            current.earlierRuns.append(current.answers)
            if current.onFinish == .repeat {
                current.answers = [:]
                current.current = schema.first.id
            } else {
                current.status = .finished
                current.current = nil
            }
            flow = current
            return .finish(current, schema)
        }
        switch next {
        case .ask(let flow, let question, let schema):
            try ask(question, of: flow, schema: schema)
        case .finish(let flow, let schema):
            try finish(flow, schema: schema)
        case .nothing:
            return
        }
    }

    private func finish(_ flow: Flow, schema: SurveySchema) throws {
        let answers = flow.earlierRuns.last ?? [:]
        let event = message(flow, schema: schema, category: "survey.finished",
                            text: "\(schema.title): thank you, that was the last question.")
        let survey = event.view["data"]["survey"].retained() ?? JSON.object()
        survey.set("answers", FlowBook.json(answers))
        survey.set("on_finish", flow.onFinish.rawValue)
        survey.set("completed", .bool(schema.isCompleted(answers: answers)))
        try host.publish(event)
        switch flow.onFinish {
        case .repeat: try ask(schema.first, of: flow, schema: schema)
        case .open: try host.setMemberState(room: flow.room, member: flow.member, state: "open")
        case .close: try host.setMemberState(room: flow.room, member: flow.member, state: "closed")
        }
    }

    /// chat_api's break_state: the members leave their flow and may write freely again.
    private func breakFlows(_ members: [String], room: String) throws {
        for member in members {
            let broken = book.change(room: room, member: member) { flow -> Bool in
                guard flow?.status == .running else { return false }
                flow?.status = .broken
                flow?.current = nil
                return true
            }
            if broken { try host.setMemberState(room: room, member: member, state: "open") }
        }
    }

    /// Posts `question` into the flow's room, as the schema (source "survey:<id>").
    private func ask(_ question: SurveySchema.Question, of flow: Flow, schema: SurveySchema) throws {
        let event = message(flow, schema: schema, category: "survey.question", text: question.text)
        let survey = event.view["data"]["survey"].retained() ?? JSON.object()
        let asked = JSON.object()
        asked.set("id", .integer(question.id))
        asked.set("type", question.kind.rawValue)
        asked.set("required", .bool(question.required))
        if question.kind == .choice {
            let choices = JSON.array()
            for choice in question.choices {
                let item = JSON.object()
                item.set("id", .integer(choice.id))
                item.set("text", choice.text)
                choices.append(item)
            }
            asked.set("answers", choices)
        }
        if let minimum = question.minimum { asked.set("min", .number(minimum)) }
        if let maximum = question.maximum { asked.set("max", .number(maximum)) }
        survey.set("question", asked)
        try host.publish(event)
    }

    private func message(_ flow: Flow, schema: SurveySchema, category: String, text: String) -> JSON {
        let event = JSON.object()
        event.set("category", category)
        event.set("message", text)
        if !flow.host.isEmpty { event.set("host", flow.host) }
        let target = JSON.object()
        target.set("rooms", .strings([flow.room]))
        event.set("target", target)
        let source = JSON.object()
        source.set("id", "survey:\(schema.id)")
        source.set("title", schema.title)
        event.set("source", source)
        let survey = JSON.object()
        survey.set("schema", schema.id)
        survey.set("member", flow.member)
        let data = JSON.object()
        data.set("survey", survey)
        event.set("data", data)
        return event
    }

    // MARK: Queries (blocking pool): rooms/<room>/<member>/answers and …/state

    func query(path: String, caller: QueryCaller, parameters: [String: String]) throws -> QueryResult {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4, parts[0] == "rooms", ["answers", "state"].contains(parts[3]) else { return .notFound }
        let (room, member) = (parts[1], parts[2])
        guard let flow = book.flow(room: room, member: member), let schema = schemas[flow.schema] else { return .notFound }
        guard caller.admin || caller.id == flow.startedBy || caller.principals.contains(member) else {
            return .refuse(code: "survey.forbidden", status: 403,
                           reason: "Only the member, the one who started the survey, or an admin may read it.")
        }
        let body = JSON.object()
        body.set("room", room)
        body.set("member", member)
        body.set("schema", schema.id)
        body.set("status", flow.status.rawValue)
        // A finished (or repeating) flow shows its last complete run until new answers arrive.
        let answers = flow.answers.isEmpty ? flow.earlierRuns.last ?? [:] : flow.answers
        if parts[3] == "answers" {
            let list = JSON.array()
            for answer in answers.values.sorted(by: { $0.question < $1.question }) {
                let item = JSON.object()
                item.set("question", .integer(answer.question))
                item.set("text", schema.question(answer.question)?.text ?? "")
                item.set("answer", answer.text)
                if let choice = answer.choice { item.set("answer_id", .integer(choice)) }
                if let number = answer.number { item.set("number", .number(number)) }
                list.append(item)
            }
            body.set("answers", list)
            body.set("runs", .integer(flow.earlierRuns.count))
        } else {
            body.set("current_question", flow.current.map { .integer($0) } ?? .null())
            let state = JSON.object()
            let visibility = JSON.array()
            for id in schema.visibleQuestions(answers: answers) { visibility.append(.integer(id)) }
            state.set("visibility", visibility)
            state.set("completed", .bool(schema.isCompleted(answers: answers)))
            body.set("state", state)
        }
        return .answer(body)
    }
}
