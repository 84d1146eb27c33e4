import GatewayCore
import GatewayJSON
import NIOConcurrencyHelpers
import Testing

/// The pipeline's steps without sockets: an engine and an attachment resolver that record what
/// they were asked, and an executor that records what it had to run off the caller's thread.
@Suite struct EventPipelineTests {
    private let alice = Publisher(id: "alice", title: "Alice", principals: ["alice"])

    final class RecordingEngine: EventEngine {
        let kind = "recording"
        let mayBlock: Bool
        private let state = NIOLockedValueBox<(next: Int64, published: [OutboundEvent], signals: [OutboundEvent])>((0, [], []))
        let refusal: GatewayError?

        init(mayBlock: Bool = false, refusal: GatewayError? = nil) {
            self.mayBlock = mayBlock
            self.refusal = refusal
        }

        var published: [OutboundEvent] { state.withLockedValue { $0.published } }
        var signals: [OutboundEvent] { state.withLockedValue { $0.signals } }

        func nextEventId() throws(GatewayError) -> Int64 { state.withLockedValue { $0.next += 1; return $0.next } }
        func publish(_ event: OutboundEvent) throws(GatewayError) {
            if let refusal { throw refusal }
            state.withLockedValue { $0.published.append(event) }
        }
        func signal(_ event: OutboundEvent, completion: @escaping @Sendable (Result<Void, GatewayError>) -> Void) {
            state.withLockedValue { $0.signals.append(event) }
            completion(.success(()))
        }
        func events(after id: Int64, for reader: Recipient, limit: Int) throws(GatewayError) -> [RecordedEvent] { [] }
        func recentEvents(for reader: Recipient, sinceTimestamp: String?, limit: Int) throws(GatewayError) -> [RecordedEvent] { [] }
        var health: EngineHealth { .ok }
        func shutdown() {}
    }

    final class CountingExecutor: BlockingExecutor {
        private let count = NIOLockedValueBox(0)
        var runs: Int { count.withLockedValue { $0 } }
        func execute(_ work: @escaping @Sendable () -> Void) {
            count.withLockedValue { $0 += 1 }
            work()
        }
    }

    struct StubAttachments: AttachmentResolver {
        let grants = NIOLockedValueBox<[[String]]>([])
        func expand(_ event: JSON, for publisher: Publisher) throws(GatewayError) {
            guard event.view["attachments"][0]["id"].string == "known" else {
                throw GatewayError(code: "attachment.unknown", message: "unknown", status: 400)
            }
            let descriptor = JSON.object()
            descriptor.set("id", "known")
            descriptor.set("src", "/api/v1/attachments/known")
            let list = JSON.array()
            list.append(descriptor)
            event.set("attachments", list)
        }
        func grant(_ event: JSON, to targets: [String]) { grants.withLockedValue { $0.append(targets) } }
    }

    private func pipeline(engine: RecordingEngine, executor: CountingExecutor = CountingExecutor(),
                          attachments: (any AttachmentResolver)? = nil) -> EventPipeline {
        EventPipeline(normalize: NormalizeStep(defaultHost: "example.org"), attachments: AttachmentStep(resolver: attachments),
                      targets: TargetStep(), engine: engine, chain: ChainReference(.empty), blocking: executor,
                      counters: .labelled("pipeline_test"))
    }

    private func publish(_ pipeline: EventPipeline, _ text: String, hostFallback: String? = nil) -> Result<Int64, GatewayError> {
        let result = NIOLockedValueBox<Result<Int64, GatewayError>?>(nil)
        pipeline.publish(try! JSON.parse(text), from: alice, ingress: .http, hostFallback: hostFallback) { outcome in
            result.withLockedValue { $0 = outcome }
        }
        return result.withLockedValue { $0! }
    }

    @Test func routesAnEventWithTypedFieldsAndTheEnginesId() throws {
        let engine = RecordingEngine()
        let executor = CountingExecutor()
        let pipeline = pipeline(engine: engine, executor: executor)
        let first = publish(pipeline, #"{"category":"chat.message","message":"hi","target":{"principals":["bob","carol"]}}"#)
        let second = publish(pipeline, #"{"category":"chat.message","target":{"principals":["bob"]}}"#, hostFallback: "chat.example")
        #expect(try first.get() == 1)
        #expect(try second.get() == 2)
        let event = try #require(engine.published.first).event
        #expect(event.id == 1)
        #expect(event.host == "example.org")
        #expect(event.senderId == "alice")
        #expect(event.category == "chat.message")
        #expect(event.targets == ["bob", "carol"])
        #expect(event.json.view["id"].int == 1)
        #expect(engine.published[1].event.host == "chat.example", "the publisher's Origin is the fallback host")
        // The payload is the encoded document, once.
        #expect(try JSON.parse(engine.published[0].payload).view["message"].string == "hi")
        #expect(executor.runs == 0, "nothing on the way may block: everything ran on the caller's thread")
    }

    @Test func refusalsNeverReachTheEngine() {
        let engine = RecordingEngine()
        let pipeline = pipeline(engine: engine)
        let cases: [(String, String)] = [
            (#"{"message":"no category","target":{"principals":["bob"]}}"#, "event.missing_category"),
            (#"{"category":"c","target":{"principals":"bob"}}"#, "event.bad_target"),
            (#"{"category":"nobody.handles.this"}"#, "event.no_targets"),
            (#"{"category":"c","source":{"id":"mallory"},"target":{"principals":["bob"]}}"#, "event.source_forbidden"),
        ]
        for (text, code) in cases {
            guard case .failure(let error) = publish(pipeline, text) else {
                Issue.record("\(text) was accepted")
                continue
            }
            #expect(error.code == code, "\(text)")
        }
        #expect(engine.published.isEmpty)
    }

    @Test func anEngineRefusalReachesThePublisher() {
        let engine = RecordingEngine(refusal: .engineUnavailable("the store is down"))
        let result = publish(pipeline(engine: engine), #"{"category":"c","target":{"principals":["bob"]}}"#)
        guard case .failure(let error) = result else {
            Issue.record("accepted while the engine refuses")
            return
        }
        #expect(error.code == "engine.unavailable")
        #expect(error.status == 503)
    }

    @Test func attachmentsRunOnTheBlockingExecutorAndAreGrantedToTheTargets() throws {
        let engine = RecordingEngine()
        let executor = CountingExecutor()
        let attachments = StubAttachments()
        let pipeline = pipeline(engine: engine, executor: executor, attachments: attachments)
        let id = try publish(pipeline, #"{"category":"c","attachments":[{"id":"known"}],"target":{"principals":["bob"]}}"#).get()
        #expect(id == 1)
        #expect(executor.runs == 1)
        #expect(engine.published[0].event.json.view["attachments"][0]["src"].string == "/api/v1/attachments/known")
        #expect(attachments.grants.withLockedValue { $0 } == [["bob"]])

        guard case .failure(let error) = publish(pipeline, #"{"category":"c","attachments":[{"id":"other"}],"target":{"principals":["bob"]}}"#) else {
            Issue.record("an unknown attachment was accepted")
            return
        }
        #expect(error.code == "attachment.unknown")
        #expect(executor.runs == 2)
        #expect(engine.published.count == 1)
    }

    @Test func attachmentsWithoutAResolverAreRefused() {
        let result = publish(pipeline(engine: RecordingEngine()), #"{"category":"c","attachments":[{"id":"x"}],"target":{"principals":["b"]}}"#)
        guard case .failure(let error) = result else {
            Issue.record("accepted")
            return
        }
        #expect(error.code == "attachment.disabled")
    }

    @Test func anEngineThatMayBlockRunsOffTheCallersThread() throws {
        let engine = RecordingEngine(mayBlock: true)
        let executor = CountingExecutor()
        _ = try publish(pipeline(engine: engine, executor: executor), #"{"category":"c","target":{"principals":["b"]}}"#).get()
        #expect(executor.runs == 1)
    }

    /// publishInline answers at once what publish would route on the caller's thread, and leaves
    /// alone (nil, nothing published, no id taken) what needs the blocking pool: HTTP answers
    /// without a promise only for the first.
    @Test func publishInlineRoutesOnlyWhatNeedsNoBlockingWork() throws {
        let engine = RecordingEngine()
        let executor = CountingExecutor()
        let pipeline = pipeline(engine: engine, executor: executor)
        let inline = pipeline.publishInline(try JSON.parse(#"{"category":"c","target":{"principals":["b"]}}"#),
                                            from: alice, ingress: .http, hostFallback: nil)
        #expect(try inline?.get() == 1)
        #expect(engine.published.count == 1)
        let refused = pipeline.publishInline(try JSON.parse(#"{"category":"c"}"#), from: alice, ingress: .http, hostFallback: nil)
        guard case .failure = refused else {
            Issue.record("an event without targets was not refused inline: \(String(describing: refused))")
            return
        }
        let held = pipeline.publishInline(try JSON.parse(#"{"category":"c","countdown":5,"target":{"principals":["b"]}}"#),
                                          from: alice, ingress: .http, hostFallback: nil)
        #expect(held == nil)
        let blocking = self.pipeline(engine: RecordingEngine(mayBlock: true), executor: executor)
        #expect(blocking.publishInline(try JSON.parse(#"{"category":"c","target":{"principals":["b"]}}"#),
                                       from: alice, ingress: .http, hostFallback: nil) == nil)
        #expect(engine.published.count == 1)
        #expect(executor.runs == 0)
        // Ids 1 and 2 went to the routed and the refused event; the countdown event took none.
        #expect(try publish(pipeline, #"{"category":"c","target":{"principals":["b"]}}"#).get() == 3)
    }

    @Test func signalsAreAddressedLikeEventsAndNeverRecorded() throws {
        let engine = RecordingEngine()
        let pipeline = pipeline(engine: engine)
        pipeline.signal(Signal(.read(42), targets: ["bob"]), from: alice, host: "chat.example")
        pipeline.signal(Signal(.typing, targets: ["bob", "carol"]), from: alice, host: "chat.example")
        #expect(engine.published.isEmpty)
        #expect(engine.signals.count == 2)
        let read = engine.signals[0].event
        #expect(read.senderId == "alice")
        #expect(read.host == "chat.example")
        #expect(read.targets == ["bob"])
        #expect(read.json.view["type"].string == "read")
        #expect(read.json.view["id"].int == 42)
        #expect(read.json.view["source"]["title"].string == "Alice")
        #expect(engine.signals[1].event.json.view["type"].string == "typing")
        #expect(!engine.signals[1].event.json.view["id"].exists)
    }

    @Test func withoutFiltersEveryRecipientGetsTheSharedBytes() throws {
        let json = try JSON.parse(#"{"id":3,"host":"h","category":"c","source":{"id":"a"},"target":{"principals":["b"]}}"#)
        let event = try #require(Event(routed: json))
        #expect(event.id == 3 && event.senderId == "a" && event.targets == ["b"])
        let outbound = OutboundEvent(event, chain: .empty)
        let bob = Recipient(id: "b", principals: ["b"], host: "h")
        guard case .shared = RecipientView.outcome(of: outbound, for: bob) else {
            Issue.record("an unfiltered event was not shared")
            return
        }
        let recorded = RecordedEvent(id: 3, payload: outbound.payload)
        #expect(RecipientView.bytes(of: recorded, for: bob, chain: .empty) == outbound.payload)
        #expect(RecipientView.document(of: recorded, for: bob, chain: .empty)?.view["id"].int == 3)
        #expect(RecipientView.document(of: RecordedEvent(id: 4, payload: Array("not json".utf8)), for: bob, chain: .empty) == nil)
    }
}
