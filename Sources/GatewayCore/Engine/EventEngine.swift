import GatewayJSON

/// The engine: what happens to an event once the pipeline has routed it (ids, history,
/// delivery to connections) and the reads that depend on history (replay, the history
/// endpoint). `[engine] kind` picks one: `memory` (this node only, SQLite history) or `redis`
/// (several nodes).
///
/// What every engine must guarantee — the pipeline, the connections and the tests rely on it:
/// - **Ids.** `nextEventId()` returns an id greater than every id it returned before: across
///   restarts (the memory engine starts above the highest stored id) and, for a shared engine,
///   across every node. Ids are never reused.
/// - **Delivery.** `publish` delivers the event to every registered connection (on every node,
///   for a shared engine) that is in the event's `host`, holds one of its `targets` and does
///   not belong to its sender — exactly once per connection: never twice, even when the
///   connection also replays history. Per-recipient filters then decide what each one gets
///   (`RecipientView`).
/// - **Ordering.** One connection receives the events of one publisher in the order they were
///   published. Events of several publishers may interleave, but a replay (`events(after:)`)
///   is in increasing id order.
/// - **History.** An event `publish` accepted is readable by `events(after:)` and
///   `recentEvents` as soon as `publish` returns (read-your-writes), for each target
///   principal, up to `[history] per_recipient` events per principal.
/// - **Refusal, not loss.** When the engine cannot take an event (its store is down) `publish`
///   throws `engine.unavailable` (HTTP 503) and delivers nothing; an event it accepted is never
///   dropped silently.
/// - **Signals** (typing, read marks) reach the same recipients as an event would, once, and
///   are never recorded. When a shared engine cannot pass a signal to the other nodes (its
///   store is down) it says so (`engine.unavailable`, the sender gets an error frame) and still
///   delivers it to this node's connections when it knows the store never saw it.
///
/// Threads: `nextEventId`, `publish` and `signal` are called from event loops unless
/// `mayBlock` is true, in which case the pipeline calls them on the blocking-work pool.
/// The history reads are always called on the blocking-work pool.
public protocol EventEngine: AnyObject, Sendable {
    /// "memory", "redis": what /healthz and /metrics show.
    var kind: String { get }
    /// True when `nextEventId`, `publish` or `signal` may wait on I/O (a network round trip).
    var mayBlock: Bool { get }
    func nextEventId() throws(GatewayError) -> Int64
    /// Records `event` in history and delivers it to its recipients.
    func publish(_ event: OutboundEvent) throws(GatewayError)
    /// Delivers a typing indicator or read mark; never recorded. `completion` runs once, on any
    /// thread (keep it short: hop to a loop): success, or `engine.unavailable` when the signal
    /// did not reach every node.
    func signal(_ event: OutboundEvent, completion: @escaping @Sendable (Result<Void, GatewayError>) -> Void)
    /// Events after `id` that `reader` may see, oldest first (resume with `?last_id=`).
    func events(after id: Int64, for reader: Recipient, limit: Int) throws(GatewayError) -> [RecordedEvent]
    /// The newest events `reader` may see, newest first, later than `sinceTimestamp` (ISO 8601).
    func recentEvents(for reader: Recipient, sinceTimestamp: String?, limit: Int) throws(GatewayError) -> [RecordedEvent]
    /// Connectivity of the engine's store, for /healthz and /metrics.
    var health: EngineHealth { get }
    /// Drain: every accepted event is committed to history, then the engine stops taking more.
    func shutdown()
}

extension EventEngine {
    /// A signal nobody is waiting to hear about (the server's own: room membership, unread
    /// counts): a failure is the engine's to log.
    public func signal(_ event: OutboundEvent) {
        signal(event, completion: { _ in })
    }
}

/// One event as history holds it: its id and the bytes that were delivered live.
public struct RecordedEvent: Sendable, Equatable {
    public let id: Int64
    public let payload: [UInt8]

    public init(id: Int64, payload: [UInt8]) {
        self.id = id
        self.payload = payload
    }
}

public struct EngineHealth: Sendable, Equatable {
    public enum State: String, Sendable { case ok, degraded }
    public var state: State
    /// Why it is degraded (nil when ok).
    public var reason: String?

    public init(state: State, reason: String? = nil) {
        self.state = state
        self.reason = reason
    }

    public static let ok = EngineHealth(state: .ok)
}

/// The connections of this node, as the engine sees them: it hands each event over once and
/// the fan-out finds the matching connections (SessionIndex) on their own event loops.
public protocol LocalDelivery: Sendable {
    func deliver(_ event: OutboundEvent)
    /// WebSocket connections registered on this node right now.
    var connectionCount: Int { get }
    /// Closes every connection of this node with 1012 (service restart), so their clients
    /// reconnect with `?last_id=`: a shared engine calls it when this node may have missed
    /// events (its link to the others was down while they published).
    func disconnectAll(reason: String)
}

extension GatewayError {
    /// The engine's store cannot take the event now; the client may retry after a pause.
    public static func engineUnavailable(_ reason: String) -> GatewayError {
        GatewayError(code: "engine.unavailable", message: "The event was not accepted: \(reason). Retry shortly.", status: 503)
    }

    public static func historyUnavailable() -> GatewayError {
        GatewayError(code: "history.unavailable", message: "History could not be read; see the gateway log.", status: 503)
    }
}
