import Dispatch
import GatewayCore
import GatewayRedis
import Logging
import NIOConcurrencyHelpers

/// pyams_chat's notifications panel reads the Redis list `<notifications_key>::<host>`
/// (`get_notifications`: LRANGE, then its own filtering). pyams_chat_ws fills it; replacing
/// pyams_chat_ws, the gateway does: every event the engine accepted is pushed there, as the
/// JSON clients receive, and the list is trimmed to `notifications_length`, in one MULTI.
///
/// An engine decorator: the inner engine records and delivers; this adds the list write after
/// it accepted the event. The write runs on a thread of its own, never on an event loop.
final class NotificationsListEngine: EventEngine {
    private let inner: any EventEngine
    private let writer: NotificationsWriter

    init(inner: any EventEngine, writer: NotificationsWriter) {
        self.inner = inner
        self.writer = writer
    }

    var kind: String { inner.kind }
    var mayBlock: Bool { inner.mayBlock }
    func nextEventId() throws(GatewayError) -> Int64 { try inner.nextEventId() }

    func publish(_ event: OutboundEvent) throws(GatewayError) {
        try inner.publish(event)
        writer.record(event)
    }

    func signal(_ event: OutboundEvent, completion: @escaping @Sendable (Result<Void, GatewayError>) -> Void) {
        inner.signal(event, completion: completion)
    }
    func events(after id: Int64, for reader: Recipient, limit: Int) throws(GatewayError) -> [RecordedEvent] {
        try inner.events(after: id, for: reader, limit: limit)
    }
    func recentEvents(for reader: Recipient, sinceTimestamp: String?, limit: Int) throws(GatewayError) -> [RecordedEvent] {
        try inner.recentEvents(for: reader, sinceTimestamp: sinceTimestamp, limit: limit)
    }
    var health: EngineHealth { inner.health }
    func shutdown() {
        inner.shutdown()
        writer.drain()
    }
}

/// Writes to the notifications lists, one event at a time, on a serial queue with its own
/// Redis connection (reopened after a failure). At most `maxPending` writes wait; beyond that
/// an event is left out of the list with a warning (it was still delivered and recorded).
///
/// Once per event across nodes: several gateways subscribed to chat:main each accept the same
/// pyams_chat message, so the write is guarded by `SET <list>::seen::<fingerprint> NX EX 600`,
/// the fingerprint being made of the fields the publisher set (host, timestamp, source, category,
/// title, message), not of the node's event id.
// @unchecked: `connection` is only touched on `queue`.
final class NotificationsWriter: @unchecked Sendable {
    private let endpoint: RedisEndpoint
    private let key: String
    private let length: Int
    private let logger: Logger
    private let queue = DispatchQueue(label: "notifications-writer")
    private let pending = NIOLockedValueBox(0)
    private let maxPending = 10_000
    private var connection: RedisConnection?

    init(endpoint: RedisEndpoint, key: String, length: Int, logger: Logger) {
        self.endpoint = endpoint
        self.key = key
        self.length = length
        self.logger = logger
    }

    func record(_ event: OutboundEvent) {
        let accepted = pending.withLockedValue { count -> Bool in
            guard count < maxPending else { return false }
            count += 1
            return true
        }
        guard accepted else {
            logger.warning("notifications list: too many writes waiting; event left out of the list", metadata: ["id": "\(event.event.id)"])
            return
        }
        let list = "\(key)::\(event.event.host)"
        let payload = event.payload
        let fingerprint = Self.fingerprint(event)
        queue.async { [self] in
            write(list: list, payload: payload, fingerprint: fingerprint)
            pending.withLockedValue { $0 -= 1 }
        }
    }

    /// Waits for the writes already queued (shutdown).
    func drain() { queue.sync {} }

    private func write(list: String, payload: [UInt8], fingerprint: String) {
        for attempt in 1...2 {
            do throws(RedisConnectionError) {
                let redis: RedisConnection
                if let open = connection { redis = open } else { redis = try RedisConnection.open(endpoint); connection = redis }
                let first = try redis.command(["SET", "\(list)::seen::\(fingerprint)", "1", "NX", "EX", "600"])
                guard first != .null else { return }   // another node wrote this event already
                try redis.command(["MULTI"])
                try redis.command([Array("LPUSH".utf8), Array(list.utf8), payload])
                try redis.command(["LTRIM", list, "0", String(length - 1)])
                if case .error(let reason) = try redis.command(["EXEC"]) {
                    logger.warning("notifications list: EXEC refused", metadata: ["list": "\(list)", "error": "\(reason)"])
                }
                return
            } catch {
                connection = nil
                if attempt == 2 || error.isConfigurationError {
                    logger.warning("notifications list: write failed; event left out of the list",
                                   metadata: ["list": "\(list)", "error": "\(error)"])
                    return
                }
            }
        }
    }

    /// FNV-1a (64 bits) over the publisher's fields: the same on every node, unlike Hasher.
    static func fingerprint(_ event: OutboundEvent) -> String {
        let view = event.event.json.view
        let parts = [event.event.host, view["timestamp"].string ?? "", view["source"]["id"].string ?? "",
                     event.event.category, view["title"].string ?? "", view["message"].string ?? ""]
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in parts.joined(separator: "\u{1F}").utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}
