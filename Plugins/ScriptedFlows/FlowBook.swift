// Every member's run through a schema, kept in memory and written to the `store` file (JSON,
// replaced atomically) after each change, so a restart resumes each flow at its question.
import Foundation
import GatewayPlugin

/// One member's run through one schema in one room.
struct Flow: Sendable {
    enum Status: String, Sendable { case running, finished, broken }

    let room: String
    let member: String
    let schema: String
    let onFinish: SurveySchema.OnFinish
    let startedBy: String
    /// The host of the room's events (the question events go to the same host).
    let host: String
    var status: Status
    /// The question waiting for an answer (running flows only).
    var current: Int?
    var answers: [Int: SurveySchema.Answer]
    /// Finished runs' answers, oldest first (on_finish = repeat keeps asking).
    var earlierRuns: [[Int: SurveySchema.Answer]]
}

// @unchecked: `flows` is only touched under `lock`; hooks run on many threads at once.
final class FlowBook: @unchecked Sendable {
    private let lock = NSLock()
    private var flows: [String: Flow] = [:]
    /// nil: in memory only (a restart forgets every flow).
    private let path: String?

    init(path: String?) throws(PluginError) {
        self.path = path
        guard let path, FileManager.default.fileExists(atPath: path) else { return }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PluginError(code: "scripted_flows.store_unreadable", "cannot read \(path)")
        }
        let document: JSON
        do { document = try JSON.parse([UInt8](data)) } catch {
            throw PluginError(code: "scripted_flows.store_unreadable", "\(path) is not JSON: \(error)")
        }
        for item in document.view["flows"].elements {
            guard let flow = Self.flow(item) else {
                throw PluginError(code: "scripted_flows.store_unreadable", "\(path) holds a flow that cannot be read: \(item.encodedString())")
            }
            flows[Self.key(flow.room, flow.member)] = flow
        }
    }

    func flow(room: String, member: String) -> Flow? {
        lock.lock()
        defer { lock.unlock() }
        return flows[Self.key(room, member)]
    }

    /// Changes one flow (nil: none yet; set it to nil to forget it) and writes the store.
    /// Blocks on the file: call it from `routed`, never from a guard on an event loop.
    func change<T>(room: String, member: String, _ body: (inout Flow?) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        let key = Self.key(room, member)
        var flow = flows[key]
        let result = body(&flow)
        flows[key] = flow
        save()
        return result
    }

    func running(in room: String) -> [Flow] {
        lock.lock()
        defer { lock.unlock() }
        return flows.values.filter { $0.room == room && $0.status == .running }
    }

    // MARK: The store file

    private static func key(_ room: String, _ member: String) -> String { room + "\u{0}" + member }

    /// Under `lock`. A failed write is not fatal: the flows go on in memory (logged by the caller's host).
    private func save() {
        guard let path else { return }
        let list = JSON.array()
        for flow in flows.values.sorted(by: { ($0.room, $0.member) < ($1.room, $1.member) }) { list.append(Self.json(flow)) }
        let document = JSON.object()
        document.set("flows", list)
        try? Data(document.encoded()).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    static func json(_ answers: [Int: SurveySchema.Answer]) -> JSON {
        let list = JSON.array()
        for answer in answers.values.sorted(by: { $0.question < $1.question }) {
            let item = JSON.object()
            item.set("question", .integer(answer.question))
            item.set("answer", answer.text)
            if let choice = answer.choice { item.set("answer_id", .integer(choice)) }
            if let number = answer.number { item.set("number", .number(number)) }
            list.append(item)
        }
        return list
    }

    private static func answers(_ view: JSONView) -> [Int: SurveySchema.Answer] {
        var answers: [Int: SurveySchema.Answer] = [:]
        for item in view.elements {
            guard let question = item["question"].int, let text = item["answer"].string else { continue }
            answers[question] = SurveySchema.Answer(question: question, text: text, choice: item["answer_id"].int, number: item["number"].double)
        }
        return answers
    }

    private static func json(_ flow: Flow) -> JSON {
        let item = JSON.object()
        item.set("room", flow.room)
        item.set("member", flow.member)
        item.set("schema", flow.schema)
        item.set("on_finish", flow.onFinish.rawValue)
        item.set("started_by", flow.startedBy)
        item.set("host", flow.host)
        item.set("status", flow.status.rawValue)
        item.set("current", flow.current.map { .integer($0) } ?? .null())
        item.set("answers", json(flow.answers))
        let runs = JSON.array()
        for run in flow.earlierRuns { runs.append(json(run)) }
        item.set("earlier_runs", runs)
        return item
    }

    private static func flow(_ view: JSONView) -> Flow? {
        guard let room = view["room"].string, let member = view["member"].string, let schema = view["schema"].string,
              let onFinish = view["on_finish"].string.flatMap(SurveySchema.OnFinish.init(rawValue:)),
              let status = view["status"].string.flatMap(Flow.Status.init(rawValue:)) else { return nil }
        return Flow(room: room, member: member, schema: schema, onFinish: onFinish,
                    startedBy: view["started_by"].string ?? "", host: view["host"].string ?? "",
                    status: status, current: view["current"].int, answers: answers(view["answers"]),
                    earlierRuns: view["earlier_runs"].elements.map(answers))
    }
}
