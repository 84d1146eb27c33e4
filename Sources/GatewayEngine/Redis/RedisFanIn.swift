import GatewayRedis
import Logging
import Synchronization

/// Where events that came through Redis go on this node: its own WebSocket connections.
public protocol RedisLocalDelivery: Sendable {
    /// One event (or signal, id 0) for the connections of this node; called on the subscription's
    /// thread, in id order. The sink decides who matches (host, targets, never the sender).
    func deliver(_ envelope: RedisEnvelope)
    /// This node may have missed events (its subscription was down while others published):
    /// close the local connections so their clients reconnect with `last_id` and get the
    /// missed events from the shared history.
    func resynchronize(reason: String)
}

/// The subscription side of the Redis engine: decodes what arrives on the channel, hands it to
/// the local connections, and after a reconnect finds out whether anything was missed.
///
/// How a gap is found: once SUBSCRIBE is confirmed, the publish sequence counter is read (over
/// the command connection); every event numbered up to that value was published before, so it
/// either was lost or arrives before the PING barrier (`caughtUp`). The sequence has no holes
/// (only a publish that succeeds takes a number), so if fewer events arrived than the counter
/// moved by, some were missed while the subscription was down.
final class RedisFanIn: RedisSubscriptionHandler {
    private struct Window {
        /// The highest sequence number received (nil: never subscribed yet).
        var lastSeen: Int64?
        /// The highest event id received (a floor for the id counter after Redis lost its data).
        var lastEventId: Int64 = 0
        /// Set between `subscribed` and `caughtUp`: numbers in (from, to] must all arrive.
        var expected: (from: Int64, to: Int64, arrived: Int64)?
        /// What arrived while `expected` is set, not yet handed on: if a gap is found, the
        /// connections are closed first and these come back to the clients from history — a
        /// client must never see an event from after the gap before the gap itself.
        var held: [RedisEnvelope] = []
    }

    private let window = Mutex(Window())
    private let local: any RedisLocalDelivery
    private let logger: Logger
    /// Reads the sequence counter (restoring both counters to at least these floors when Redis
    /// lost its data): the engine's `synchronize`.
    private let readCounter: @Sendable (_ sequenceFloor: Int64, _ idFloor: Int64) throws -> Int64
    private let onState: @Sendable (_ subscribed: Bool) -> Void
    private let onResync: @Sendable () -> Void

    init(local: any RedisLocalDelivery, logger: Logger,
         readCounter: @escaping @Sendable (Int64, Int64) throws -> Int64,
         onState: @escaping @Sendable (Bool) -> Void,
         onResync: @escaping @Sendable () -> Void) {
        self.local = local
        self.logger = logger
        self.readCounter = readCounter
        self.onState = onState
        self.onResync = onResync
    }

    /// The highest sequence number and event id this node has received (0 before the first).
    var lastSeen: (sequence: Int64, id: Int64) { window.withLock { ($0.lastSeen ?? 0, $0.lastEventId) } }

    func subscribed() throws {
        let (before, lastId) = window.withLock { ($0.lastSeen, $0.lastEventId) }
        let counter = try readCounter(before ?? 0, lastId)
        window.withLock { window in
            if let before, counter > before {
                window.expected = (from: before, to: counter, arrived: 0)
            } else {
                window.expected = nil
                window.lastSeen = max(window.lastSeen ?? 0, counter)
            }
        }
        onState(true)
    }

    func received(_ message: [UInt8]) {
        let envelope: RedisEnvelope
        do {
            envelope = try RedisEnvelope.decode(message)
        } catch {
            logger.warning("redis engine: a message on the channel is not an event; ignored", metadata: ["error": "\(error)"])
            return
        }
        // Pub/sub never repeats a message on one connection, and a new connection only gets
        // what is published after it subscribed: no duplicates to filter here.
        let holding = window.withLock { window -> Bool in
            guard let expected = window.expected else {
                if !envelope.isSignal {
                    window.lastSeen = max(window.lastSeen ?? 0, envelope.sequence)
                    window.lastEventId = max(window.lastEventId, envelope.id)
                }
                return false
            }
            if !envelope.isSignal, envelope.sequence > expected.from, envelope.sequence <= expected.to {
                window.expected!.arrived += 1
            }
            window.held.append(envelope)
            return true
        }
        if !holding { local.deliver(envelope) }
    }

    func caughtUp() {
        let (missed, held) = window.withLock { window -> (Int64, [RedisEnvelope]) in
            guard let expected = window.expected else { return (0, []) }
            window.expected = nil
            let held = window.held
            window.held.removeAll()
            let events = held.filter { !$0.isSignal }
            window.lastSeen = max(window.lastSeen ?? 0, expected.to, events.map(\.sequence).max() ?? 0)
            window.lastEventId = max(window.lastEventId, events.map(\.id).max() ?? 0)
            return ((expected.to - expected.from) - expected.arrived, held)
        }
        guard missed > 0 else {
            held.forEach(local.deliver)
            return
        }
        logger.warning("redis engine: events were published while this node's subscription was down; closing its connections so clients recover with last_id",
                       metadata: ["missed_at_most": "\(missed)"])
        onResync()
        local.resynchronize(reason: "events may have been missed while the gateway lost Redis; reconnect with last_id")
    }

    func disconnected(_ error: RedisConnectionError) {
        // Held messages were not handed on and do not count as seen: the next subscription
        // finds them missing and the clients recover them from history.
        window.withLock { window in
            window.expected = nil
            window.held.removeAll()
        }
        onState(false)
    }
}
