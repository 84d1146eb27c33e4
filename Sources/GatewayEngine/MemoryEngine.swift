import GatewayCore
import GatewayJSON
import GatewayStore
import Logging

/// `[engine] kind = "memory"`: one node. Ids from an in-process counter that starts above the
/// highest stored id, history in the SQLite store (HistoryStore: queued writes, WAL reads),
/// delivery straight to this node's connections. With `[history] enabled = false` nothing is
/// recorded and history reads answer empty.
public final class MemoryEngine: EventEngine {
    public let kind = "memory"
    public let mayBlock = false
    private let history: HistoryStore
    private let recording: Bool
    private let delivery: any LocalDelivery
    private let ids: EventIdGenerator
    private let logger: Logger

    /// `recording`: false for `[history] enabled = false` (nothing is kept for replay).
    /// `reservedIds`: ids handed out but not in history yet (events held by a countdown); new
    /// ids start above them too.
    public init(history: HistoryStore, recording: Bool = true, delivery: any LocalDelivery, reservedIds: Int64 = 0,
                logger: Logger) {
        self.history = history
        self.recording = recording
        self.delivery = delivery
        self.ids = EventIdGenerator(startingAfter: max(history.lastEventId(), reservedIds))
        self.logger = logger
    }

    public func nextEventId() throws(GatewayError) -> Int64 { ids.next() }

    /// Record first (a queue append, never the disk), then deliver: a client that resumes with
    /// `last_id` right after seeing the event finds everything before it in history.
    public func publish(_ outbound: OutboundEvent) throws(GatewayError) {
        let event = outbound.event
        if recording {
            history.record(StoredEvent(id: event.id, host: event.host, sender: event.senderId, principals: event.targets,
                                       timestamp: event.timestamp ?? ISOTimestamp.now(), payload: outbound.payload))
        }
        delivery.deliver(outbound)
    }

    public func signal(_ event: OutboundEvent, completion: @escaping @Sendable (Result<Void, GatewayError>) -> Void) {
        delivery.deliver(event)
        completion(.success(()))
    }

    public func events(after id: Int64, for reader: Recipient, limit: Int) throws(GatewayError) -> [RecordedEvent] {
        guard recording else { return [] }
        do throws(StoreError) {
            // Reads see committed rows only: wait for what is queued (read-your-writes).
            history.flush()
            return try history.after(id: id, principals: reader.principals, host: reader.host,
                                     excludingSender: reader.id, limit: limit).map { RecordedEvent(id: $0.id, payload: $0.payload) }
        } catch {
            logger.error("history read failed", metadata: ["error": "\(error)"])
            throw .historyUnavailable()
        }
    }

    public func recentEvents(for reader: Recipient, sinceTimestamp: String?, limit: Int) throws(GatewayError) -> [RecordedEvent] {
        guard recording else { return [] }
        do throws(StoreError) {
            history.flush()
            return try history.recent(principals: reader.principals, host: reader.host, excludingSender: reader.id,
                                      sinceTimestamp: sinceTimestamp, limit: limit).map { RecordedEvent(id: $0.id, payload: $0.payload) }
        } catch {
            logger.error("history read failed", metadata: ["error": "\(error)"])
            throw .historyUnavailable()
        }
    }

    public var health: EngineHealth { .ok }

    public func shutdown() {
        history.flush()
        history.close()
    }
}
