// A chat_api schema: questions with types (choice, text, number), answers with `next_qid`,
// `required`, and what happens when the last question is answered (`on_finish`). Read from a
// JSON file named in the plugin's config; every mistake is refused at start with its reason.
import GatewayPlugin

struct SurveySchema: Sendable {
    enum OnFinish: String, Sendable, CaseIterable {
        /// Start again from the first question (a tracker).
        case `repeat`
        /// The member's state becomes `open`.
        case open
        /// The member's state becomes `closed`.
        case close
    }

    struct Choice: Sendable {
        let id: Int
        let text: String
        /// The question this answer leads to; nil: the question's own `next_qid`.
        let next: Int?
    }

    struct Question: Sendable {
        enum Kind: String, Sendable { case choice, text, number }
        let id: Int
        let position: Int
        let kind: Kind
        let text: String
        let required: Bool
        /// -1 (or absent): the last question.
        let next: Int?
        let choices: [Choice]
        let minimum: Double?
        let maximum: Double?
        let maxLength: Int
    }

    let id: String
    let title: String
    let onFinish: OnFinish
    /// By position (chat_api: the first question is the one with the lowest position).
    let questions: [Question]

    var first: Question { questions[0] }

    func question(_ id: Int) -> Question? { questions.first { $0.id == id } }

    /// Where an answer to `question` leads: the chosen answer's `next_qid`, else the question's;
    /// nil when the flow ends (-1 or absent).
    func next(after question: Question, choice: Int?) -> Int? {
        let target = choice.flatMap { id in question.choices.first { $0.id == id }?.next } ?? question.next
        guard let target, target != -1 else { return nil }
        return target
    }

    // MARK: Reading a schema file

    init(json view: JSONView, file: String) throws(PluginError) {
        func invalid(_ why: String) -> PluginError {
            PluginError(code: "scripted_flows.schema_invalid", "\(file): \(why)")
        }
        guard view.isObject, let id = view["id"].string, !id.isEmpty else { throw invalid("a schema is an object with a non-empty \"id\" string") }
        self.id = id
        title = view["title"].string ?? id
        let finish = view["on_finish"].string ?? "open"
        guard let onFinish = OnFinish(rawValue: finish) else { throw invalid("on_finish must be repeat, open or close, not '\(finish)'") }
        self.onFinish = onFinish
        var questions: [Question] = []
        for (index, item) in view["questions"].elements.enumerated() {
            guard let qid = item["id"].int, qid >= 0 else { throw invalid("question \(index + 1) needs a non-negative integer \"id\"") }
            guard let text = item["text"].string, !text.isEmpty else { throw invalid("question \(qid) needs a \"text\"") }
            let kindName = item["type"].string ?? ""
            guard let kind = Question.Kind(rawValue: kindName) else {
                throw invalid("question \(qid): type must be choice, text or number, not '\(kindName)'")
            }
            var choices: [Choice] = []
            for answer in item["answers"].elements {
                guard let aid = answer["id"].int, let label = answer["text"].string, !label.isEmpty else {
                    throw invalid("question \(qid): each answer needs an integer \"id\" and a \"text\"")
                }
                choices.append(Choice(id: aid, text: label, next: answer["next_qid"].int))
            }
            if kind == .choice && choices.isEmpty { throw invalid("question \(qid) is a choice without answers") }
            if Set(choices.map(\.id)).count != choices.count { throw invalid("question \(qid) has two answers with one id") }
            questions.append(Question(
                id: qid, position: item["position"].int ?? index, kind: kind, text: text,
                required: item["required"].bool ?? true, next: item["next_qid"].int, choices: choices,
                minimum: item["min"].double, maximum: item["max"].double,
                maxLength: item["max_length"].int ?? 2000))
        }
        guard !questions.isEmpty else { throw invalid("\"questions\" must list at least one question") }
        let ids = Set(questions.map(\.id))
        guard ids.count == questions.count else { throw invalid("two questions share an id") }
        for question in questions {
            for target in [question.next] + question.choices.map(\.next) {
                if let target, target != -1, !ids.contains(target) {
                    throw invalid("question \(question.id) leads to question \(target), which does not exist")
                }
            }
        }
        self.questions = questions.sorted { ($0.position, $0.id) < ($1.position, $1.id) }
    }

    // MARK: Answers

    /// An accepted answer: what is stored and shown.
    struct Answer: Sendable, Equatable {
        let question: Int
        /// The text as given (choice: the answer's own text).
        let text: String
        let choice: Int?
        let number: Double?
    }

    /// Checks `message` (and a chosen `answer_id`) against `question`; the reason is shown to the
    /// member when it is not a valid answer.
    func validate(_ message: String, answerId: Int?, for question: Question) -> Result<Answer, AnswerRefusal> {
        let trimmed = message.trimmingWhitespace
        switch question.kind {
        case .choice:
            let chosen = answerId.flatMap { id in question.choices.first { $0.id == id } }
                ?? question.choices.first { $0.text.lowercased() == trimmed.lowercased() }
            guard let chosen else {
                return .failure(AnswerRefusal("Answer with one of: \(question.choices.map(\.text).joined(separator: ", "))."))
            }
            return .success(Answer(question: question.id, text: chosen.text, choice: chosen.id, number: nil))
        case .number:
            guard let number = Double(trimmed), number.isFinite else {
                return .failure(AnswerRefusal("Answer with a number."))
            }
            if let minimum = question.minimum, number < minimum { return .failure(AnswerRefusal("Answer with a number of at least \(minimum.shortText).")) }
            if let maximum = question.maximum, number > maximum { return .failure(AnswerRefusal("Answer with a number of at most \(maximum.shortText).")) }
            return .success(Answer(question: question.id, text: trimmed, choice: nil, number: number))
        case .text:
            guard !trimmed.isEmpty else { return .failure(AnswerRefusal("Answer with some text.")) }
            guard trimmed.utf8.count <= question.maxLength else {
                return .failure(AnswerRefusal("Answer with at most \(question.maxLength) bytes of text."))
            }
            return .success(Answer(question: question.id, text: trimmed, choice: nil, number: nil))
        }
    }

    // MARK: State (chat_api's visibility and completed rules)

    /// The first question is visible; a visible question makes the one its `next_qid` names
    /// visible; an answer given to a visible question makes the one its chosen answer names
    /// visible. Ids in position order.
    func visibleQuestions(answers: [Int: Answer]) -> [Int] {
        var visible: Set<Int> = [first.id]
        var changed = true
        while changed {
            changed = false
            for question in questions where visible.contains(question.id) {
                var targets = [question.next]
                if let choice = answers[question.id]?.choice {
                    targets.append(question.choices.first { $0.id == choice }?.next)
                }
                for target in targets {
                    if let target, target != -1, visible.insert(target).inserted { changed = true }
                }
            }
        }
        return questions.map(\.id).filter(visible.contains)
    }

    /// All visible required questions are answered.
    func isCompleted(answers: [Int: Answer]) -> Bool {
        let visible = Set(visibleQuestions(answers: answers))
        return questions.allSatisfy { !visible.contains($0.id) || !$0.required || answers[$0.id] != nil }
    }
}

struct AnswerRefusal: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

extension String {
    var trimmingWhitespace: String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let end = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[start...end])
    }
}

extension Double {
    /// 40 rather than 40.0.
    var shortText: String { self == rounded() && abs(self) < 1e15 ? String(Int(self)) : String(self) }
}
