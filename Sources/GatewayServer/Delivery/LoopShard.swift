import Atomics
import GatewayCore
import NIOConcurrencyHelpers
import NIOCore

/// The connections of one event loop and the queue of events waiting for that loop.
///
/// Events queued while the loop is busy are delivered in one drain: every connection gets all of
/// them written, then a single flush — several events coalesce into one write system call.
final class LoopShard: @unchecked Sendable {  // `index` and `touched` are touched on `loop` only; the rest is locked or atomic
    let loop: EventLoop
    /// This shard's place among the server's loops (PrincipalPresence counts per position).
    private let position: Int
    private let presence: PrincipalPresence
    /// Where first connections and last disconnections of an identity are noted (room presence).
    private let changes: PresenceChanges
    /// Touched only on `loop`.
    private let index = SessionIndex<ClientConnection>()
    private let metrics: GatewayMetrics
    private let queue = NIOLockedValueBox<(events: [RoutedEvent], scheduled: Bool)>(([], false))
    private let registered = ManagedAtomic<Int>(0)
    /// Connections written to during the current drain; flushed once at its end. Loop-only.
    private var touched: [ClientConnection] = []

    init(loop: EventLoop, position: Int, presence: PrincipalPresence, changes: PresenceChanges, metrics: GatewayMetrics) {
        self.loop = loop
        self.position = position
        self.presence = presence
        self.changes = changes
        self.metrics = metrics
    }

    var connectionCount: Int { registered.load(ordering: .relaxed) }

    func register(_ connection: ClientConnection) {
        loop.preconditionInEventLoop()
        let recipient = connection.recipient
        index.add(connection, identityId: recipient.id, principals: recipient.principals, host: recipient.host)
        for principal in presence.add(recipient.principals, shard: position) { changes.noteOnline(principal) }
        registered.wrappingIncrement(ordering: .relaxed)
        metrics.connections.increment()
    }

    func unregister(_ connection: ClientConnection) {
        loop.preconditionInEventLoop()
        guard index.entry(for: connection) != nil else { return }
        index.remove(connection)
        for principal in presence.remove(connection.recipient.principals, shard: position) { changes.noteOffline(principal) }
        registered.wrappingDecrement(ordering: .relaxed)
        metrics.connections.decrement()
    }

    func forEachConnection(_ body: (ClientConnection) -> Void) {
        loop.preconditionInEventLoop()
        var connections: [ClientConnection] = []
        index.forEachSession { connections.append($0.session) }
        connections.forEach(body)
    }

    func enqueue(_ event: RoutedEvent) {
        let mustSchedule = queue.withLockedValue { state -> Bool in
            state.events.append(event)
            if state.scheduled { return false }
            state.scheduled = true
            return true
        }
        if mustSchedule {
            loop.execute { self.drain() }
        }
    }

    private func drain() {
        var events: [RoutedEvent] = []
        queue.withLockedValue { state in
            swap(&events, &state.events)
            state.scheduled = false
        }
        var delivered = 0
        for routed in events {
            let event = routed.outbound.event
            index.forEachRecipient(host: event.host, principals: event.targets, excludingIdentity: event.senderId) { connection in
                switch connection.deliver(routed) {
                case .firstWriteOfDrain:
                    touched.append(connection)
                    delivered += 1
                case .written:
                    delivered += 1
                case .notWritten:
                    break
                }
            }
            let latency = MonotonicClock.nanoseconds() &- routed.outbound.acceptedAtNanoseconds
            metrics.deliveryLatency.recordNanoseconds(Int64(truncatingIfNeeded: latency))
        }
        for connection in touched { connection.flushIfNeeded() }
        touched.removeAll(keepingCapacity: true)
        if delivered > 0 { metrics.deliveries.increment(by: delivered) }
    }
}
