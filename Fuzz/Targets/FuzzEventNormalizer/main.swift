// libFuzzer target: any bytes as a published event (scripts/fuzz.sh FuzzEventNormalizer).
//
// Drives the real EventPipeline — NormalizeStep (EventNormalizer), DeliveryInstructions,
// TargetStep, OutboundEvent encoding — as an HTTP or WebSocket publish does, over an engine that
// checks what it is handed instead of storing it. The first input byte picks the publisher
// (trusted Redis ingress or an authenticated client, with or without a title) and
// `[server] unknown_event_fields`; the rest is the event JSON.
// The promise checked: a refusal with a stable code, or an event whose id, source and category
// are the gateway's own — never a crash. On the way, JSON.parse (the gateway's own loader) is
// compared with jansson's json_loadb: the same value, or the same error.
import Atomics
import CJansson
@testable import GatewayCore
import GatewayJSON

/// Checks every event the pipeline routes; keeps nothing.
final class CheckingEngine: EventEngine {
    let kind = "fuzz"
    let mayBlock = false
    private let lastId = ManagedAtomic<Int64>(0)
    /// The publisher of the event being routed; nil: a trusted ingress, which keeps its source.
    // nonisolated(unsafe): libFuzzer calls the target on one thread, one input at a time.
    nonisolated(unsafe) var expectedSender: String?

    func nextEventId() throws(GatewayError) -> Int64 { lastId.wrappingIncrementThenLoad(ordering: .relaxed) }

    func publish(_ event: OutboundEvent) throws(GatewayError) {
        let parsed: JSON
        do { parsed = try JSON.parse(event.payload) } catch { preconditionFailure("the routed payload is not JSON: \(error)") }
        let view = parsed.view
        precondition(view.isObject, "the routed payload is not an object")
        precondition(view["id"].int.map(Int64.init) == event.event.id, "payload id differs from the assigned id")
        precondition(event.event.id == lastId.load(ordering: .relaxed), "the event does not carry the id the engine gave")
        precondition(!(view["category"].string ?? "").isEmpty, "a routed event without a category")
        precondition(view["host"].string == event.event.host, "payload host differs from the event's host")
        precondition(view["source"]["id"].string == event.event.senderId, "payload source differs from the sender")
        if let expectedSender {
            precondition(event.event.senderId == expectedSender, "'\(expectedSender)' published as '\(event.event.senderId)'")
        }
        // No plugin and no rooms here: the recipients are exactly the event's target.principals.
        precondition(view["target"]["principals"].strings == event.event.targets, "targets differ from the payload's")
        for field in ["countdown", "fallback"] {
            precondition(!view[field].exists, "the instruction '\(field)' leaked into the delivered event")
        }
    }

    func signal(_ event: OutboundEvent, completion: @escaping @Sendable (Result<Void, GatewayError>) -> Void) {
        completion(.success(()))
    }
    func events(after id: Int64, for reader: Recipient, limit: Int) throws(GatewayError) -> [RecordedEvent] { [] }
    func recentEvents(for reader: Recipient, sinceTimestamp: String?, limit: Int) throws(GatewayError) -> [RecordedEvent] { [] }
    var health: EngineHealth { .ok }
    func shutdown() {}
}

enum Publishers {
    static let client = Publisher(id: "user:fuzz", title: "Fuzz", principals: ["user:fuzz", "group:fuzzers"])
    static let nameless = Publisher(id: "user:nameless", title: nil, principals: ["user:nameless"])
    static let redis = Publisher(id: "redis", title: nil, trusted: true)
}

let engine = CheckingEngine()
let pipelines = UnknownEventFields.allCases.map { unknownFields in
    EventPipeline(normalize: NormalizeStep(defaultHost: "fuzz.example", unknownFields: unknownFields),
                  attachments: AttachmentStep(resolver: nil), targets: TargetStep(rooms: nil), engine: engine,
                  chain: ChainReference(.empty), blocking: InlineExecutor(), counters: .labelled("fuzz"), later: nil)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let selector = Int(data[0])
    let bytes = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let input: JSON
    do {
        input = try JSON.parse(bytes)
    } catch {
        // Not JSON: the ingress refuses it before the pipeline (client.invalid_json), with
        // jansson's message whichever loader read it.
        do {
            _ = try JSON.parseWithJansson(bytes)
            preconditionFailure("JSON.parse refused what jansson takes: \(error)")
        } catch let janssons {
            precondition(janssons.description == error.description, "JSON.parse: \(error), jansson: \(janssons)")
        }
        return 0
    }
    // The gateway's loader (Sources/CJSONLoad) builds what json_loadb builds, key order included.
    guard let janssons = try? JSON.parseWithJansson(bytes) else { preconditionFailure("JSON.parse took what jansson refuses") }
    precondition(json_equal(input.pointer, janssons.pointer) == 1 && input.encoded() == janssons.encoded(),
                 "JSON.parse and jansson read different values")
    let publisher = [Publishers.client, Publishers.nameless, Publishers.redis][selector % 3]
    engine.expectedSender = publisher.trusted ? nil : publisher.id
    let pipeline = pipelines[(selector / 3) % pipelines.count]
    let hostFallback: String? = selector & 0x40 != 0 ? "origin.example" : nil
    do {
        _ = try pipeline.publishBlocking(input, from: publisher, ingress: .http, hostFallback: hostFallback)
    } catch {
        precondition(error.code.contains("."), "unstable error code '\(error.code)'")
        precondition((400...599).contains(error.status), "refusal \(error.code) with status \(error.status)")
    }
    return 0
}
