import GatewayJSON

/// The one path of every event, whatever door it came in by (HTTP publish, a WebSocket publish
/// frame, the Redis channel):
///
///     id (engine) → normalize → attachments → targets → guards (client events) → [held: countdown]
///     → record + deliver (engine) → responders (blocking pool) → owed later: fallback / policies
///
/// Each step is a value built with what it needs; the pipeline owns no socket and no state of
/// its own. Ingress code parses its wire format, calls `publish`, and shows the answer.
///
/// Where it runs: on the caller's thread (an event loop) when nothing on the way may block;
/// on the blocking-work pool when the event carries attachments (SQLite reads, validation
/// plugins) or the engine may block. So no SQLite call and no slow plugin hook runs on an event
/// loop. Per-recipient filters run later, on each connection's event loop (RecipientView).
public final class EventPipeline: Sendable {
    private let normalize: NormalizeStep
    private let attachments: AttachmentStep
    private let targets: TargetStep
    private let guards: GuardStep
    private let engine: any EventEngine
    private let chain: ChainReference
    private let blocking: any BlockingExecutor
    private let counters: PipelineCounters
    /// nil: no offline delivery (then `countdown` is refused and `fallback` can name nothing).
    private let later: (any LaterDelivery)?

    public init(normalize: NormalizeStep, attachments: AttachmentStep, targets: TargetStep, engine: any EventEngine,
                chain: ChainReference, blocking: any BlockingExecutor, counters: PipelineCounters,
                later: (any LaterDelivery)? = nil, guards: GuardStep = GuardStep()) {
        self.later = later
        self.guards = guards
        self.normalize = normalize
        self.attachments = attachments
        self.targets = targets
        self.engine = engine
        self.chain = chain
        self.blocking = blocking
        self.counters = counters
    }

    /// Routes one published event. `completion` runs once, with the event's id or the refusal
    /// to show the client: on the calling thread when every step ran inline, otherwise on a
    /// blocking-work thread (hop back to your event loop before writing).
    ///
    /// - Parameters:
    ///   - input: the published object (retained: it may cross to another thread).
    ///   - hostFallback: the host of an event that names none (the publisher's Origin).
    public func publish(_ input: JSON, from publisher: Publisher, ingress: Ingress, hostFallback: String?,
                        completion: @escaping @Sendable (Result<Int64, GatewayError>) -> Void) {
        if let answer = publishInline(input, from: publisher, ingress: ingress, hostFallback: hostFallback) {
            return completion(answer)
        }
        counters.eventsIn[ingress]?.increment()
        blocking.execute { [self] in
            completion(Result { () throws(GatewayError) in
                try route(input, from: publisher, ingress: ingress, hostFallback: hostFallback)
            })
        }
    }

    /// `publish` for an event whose every step may run on the calling thread: the answer now,
    /// with no callback (an HTTP route answers without a promise). nil, and nothing done, when
    /// the event needs the blocking-work pool: then call `publish`.
    public func publishInline(_ input: JSON, from publisher: Publisher, ingress: Ingress,
                              hostFallback: String?) -> Result<Int64, GatewayError>? {
        guard !needsBlockingWork(input, from: publisher) else { return nil }
        counters.eventsIn[ingress]?.increment()
        return Result { () throws(GatewayError) in try route(input, from: publisher, ingress: ingress, hostFallback: hostFallback) }
    }

    /// Whether a step on the way may block, so the event is routed on the blocking-work pool.
    private func needsBlockingWork(_ input: JSON, from publisher: Publisher) -> Bool {
        // A countdown is written to the offline store: SQLite, so off the event loop too.
        // A guard that may block (GW_GUARD_MAY_BLOCK) sees every client event: off the loop too.
        engine.mayBlock || attachments.needsBlockingWork(input.view) || targets.needsBlockingWork(input.view)
            || input.view["countdown"].exists || (!publisher.trusted && chain.current.guardsMayBlock)
    }

    /// Every step on the calling thread, which must be allowed to block (tests, tools).
    public func publishBlocking(_ input: JSON, from publisher: Publisher, ingress: Ingress,
                                hostFallback: String? = nil) throws(GatewayError) -> Int64 {
        counters.eventsIn[ingress]?.increment()
        return try route(input, from: publisher, ingress: ingress, hostFallback: hostFallback)
    }

    private func route(_ input: JSON, from publisher: Publisher, ingress: Ingress, hostFallback: String?) throws(GatewayError) -> Int64 {
        let chain = self.chain.current
        let id = try engine.nextEventId()
        var json: JSON
        let instructions: DeliveryInstructions
        do throws(GatewayError) {
            json = try normalize.run(input.view, id: id, publisher: publisher, hostFallback: hostFallback)
            instructions = try DeliveryInstructions.parse(input.view, messengers: later?.messengerAliases ?? [])
            try attachments.expand(json, for: publisher)
        } catch {
            counters.invalid.increment()
            throw error
        }
        let resolved: TargetStep.Resolved
        do throws(GatewayError) {
            resolved = try targets.run(json, chain: chain, publisher: publisher)
        } catch {
            counters.noTargets.increment()
            throw error
        }
        json = try guards.run(json, chain: chain, publisher: publisher, memberships: resolved.memberships, ingress: ingress)
        let view = json.view
        let event = Event(id: id, host: view["host"].string ?? normalize.defaultHost,
                          senderId: view["source"]["id"].string ?? publisher.id,
                          category: view["category"].string ?? "", targets: resolved.principals, json: json)
        attachments.grant(event)
        if let countdown = instructions.countdownSeconds {
            guard let later else {
                throw GatewayError(code: "offline.disabled", message: "'countdown' needs offline delivery, which is not configured.", status: 400)
            }
            try later.hold(event, publisher: publisher.id, seconds: countdown, fallback: instructions.fallback)
            return id
        }
        try deliver(event, chain: chain, rooms: resolved.rooms, fallback: instructions.fallback,
                    tellResponders: ingress != .plugin)
        return id
    }

    private func deliver(_ event: Event, chain: PluginChain, rooms: [String],
                         fallback: DeliveryInstructions.Fallback?, tellResponders: Bool = true) throws(GatewayError) {
        let outbound = OutboundEvent(event, chain: chain)
        try engine.publish(outbound)
        targets.delivered(event, payload: outbound.payload, rooms: rooms)
        counters.routed.increment()
        later?.delivered(event, payload: outbound.payload, fallback: fallback)
        // Responders (bots) see it after it was delivered, on the blocking pool: a slow bot
        // delays nobody, and its own events (ingress .plugin) never come back to it.
        if tellResponders && chain.hasResponders {
            blocking.execute { chain.routed(event.json.view) }
        }
    }

    /// A held event whose countdown ran out (offline delivery's scheduler, on the blocking
    /// pool): recorded and delivered now, with the targets computed when it was published.
    public func routeHeld(_ json: JSON, fallback: DeliveryInstructions.Fallback?) throws(GatewayError) {
        guard let event = Event(routed: json) else {
            throw GatewayError(code: "offline.bad_held_event", message: "a held event has no id, host or targets", status: 500)
        }
        try deliver(event, chain: chain.current, rooms: json.view["target"]["rooms"].strings ?? [], fallback: fallback)
    }

    /// `reader` read event `eventId`: stored for offline delivery (no signal to anyone).
    public func markRead(_ eventId: Int64, reader: String) {
        later?.markRead(eventId, reader: reader)
    }

    /// A typing indicator or read mark from `sender`: addressed like an event, never stored,
    /// never filtered by plugins, never echoed to the sender. `completion` (any thread) says
    /// whether it reached every node (see `EventEngine.signal`).
    public func signal(_ signal: Signal, from sender: Publisher, host: String,
                       completion: @escaping @Sendable (Result<Void, GatewayError>) -> Void = { _ in }) {
        let json = JSON.object()
        json.set("type", signal.type)
        if case .read(let id) = signal.kind { json.set("id", .integer(Int(id))) }
        if let room = signal.room { json.set("room", room) }
        if let length = signal.lengthMilliseconds { json.set("length", .integer(length)) }
        let source = JSON.object()
        source.set("id", sender.id)
        source.set("title", sender.title.map { JSON.string($0) } ?? .null())
        json.set("source", source)
        json.set("host", host)
        json.set("target", EventNormalizer.targetObject(signal.targets))
        json.set("timestamp", ISOTimestamp.now())
        let event = Event(id: 0, host: host, senderId: sender.id, category: signal.type, targets: signal.targets, json: json)
        engine.signal(OutboundEvent(event, chain: .empty), completion: completion)
    }
}

/// Typing indicators and read marks (docs/client-protocol.md).
public struct Signal: Sendable {
    public enum Kind: Sendable, Equatable {
        case typing
        /// The id of the event that was read.
        case read(Int64)
    }

    public let kind: Kind
    public let targets: [String]
    /// The room the signal is about (its members are `targets`), for room-scoped typing and reads.
    public let room: String?
    /// How long the typing indicator should show (chat_api's `length`), in milliseconds.
    public let lengthMilliseconds: Int?

    public init(_ kind: Kind, targets: [String], room: String? = nil, lengthMilliseconds: Int? = nil) {
        self.kind = kind
        self.targets = targets
        self.room = room
        self.lengthMilliseconds = lengthMilliseconds
    }

    public var type: String {
        switch kind {
        case .typing: return "typing"
        case .read: return "read"
        }
    }
}
