import GatewayCore
import GatewayJSON
import GatewayRedis
import Logging

/// `[engine] kind = "redis"`: the EventEngine seam over RedisEngine. Ids, history and
/// delivery are shared by every node on the same Redis; this node's connections get events
/// from the subscription (the node's own events too), through `LocalDelivery`.
public final class RedisEventEngine: EventEngine {
    public let kind = "redis"
    /// Every call is a round trip to Redis: the pipeline runs them on the blocking-work pool.
    public let mayBlock = true
    private let redis: RedisEngine
    /// This node's connections: signals Redis could not take still reach them.
    private let delivery: any LocalDelivery

    /// Checks the Redis settings (a refused AUTH or SELECT throws here, at start) and starts
    /// the connections; an unreachable Redis is not an error: the node starts degraded.
    public init(settings: RedisEngine.Settings, delivery: any LocalDelivery, chain: ChainReference,
                logger: Logger) throws(RedisConnectionError) {
        self.delivery = delivery
        redis = RedisEngine(settings: settings, logger: logger,
                            local: SubscriptionDelivery(delivery: delivery, chain: chain, logger: logger))
        try redis.start()
    }

    public func nextEventId() throws(GatewayError) -> Int64 { try redis.allocateId() }

    public func publish(_ outbound: OutboundEvent) throws(GatewayError) {
        let event = outbound.event
        try redis.publish(id: event.id, host: event.host, sender: event.senderId, targets: event.targets,
                          timestamp: event.timestamp ?? ISOTimestamp.now(), payload: outbound.payload)
    }

    /// One PUBLISH; every node delivers from its subscription. While Redis is down the signal
    /// goes to this node's connections directly (none of them gets it from Redis, so none gets
    /// it twice) and the sender hears `engine.unavailable`. When the link broke mid-PUBLISH,
    /// Redis may have sent it: then it is not delivered here too (never twice), only reported.
    public func signal(_ outbound: OutboundEvent, completion: @escaping @Sendable (Result<Void, GatewayError>) -> Void) {
        let event = outbound.event
        let delivery = self.delivery
        redis.signal(host: event.host, sender: event.senderId, targets: event.targets,
                     timestamp: event.timestamp ?? ISOTimestamp.now(), payload: outbound.payload) { outcome in
            switch outcome {
            case .published:
                completion(.success(()))
            case .notSent(let cause):
                delivery.deliver(outbound)
                completion(.failure(.signalNotShared(cause, reachedThisNode: true)))
            case .unknown(let cause):
                completion(.failure(.signalNotShared(cause, reachedThisNode: false)))
            }
        }
    }

    public func events(after id: Int64, for reader: Recipient, limit: Int) throws(GatewayError) -> [RecordedEvent] {
        try redis.history(after: id, principals: reader.principals, host: reader.host, excludingSender: reader.id, limit: limit)
            .map { RecordedEvent(id: $0.id, payload: $0.payload) }
    }

    public func recentEvents(for reader: Recipient, sinceTimestamp: String?, limit: Int) throws(GatewayError) -> [RecordedEvent] {
        try redis.recent(principals: reader.principals, host: reader.host, excludingSender: reader.id,
                         sinceTimestamp: sinceTimestamp, limit: limit)
            .map { RecordedEvent(id: $0.id, payload: $0.payload) }
    }

    public var health: EngineHealth {
        let status = redis.status
        if status.isHealthy { return .ok }
        let down = [status.commandsConnected ? nil : "commands", status.subscribed ? nil : "subscription"].compactMap { $0 }
        return EngineHealth(state: .degraded, reason: "Redis \(status.endpoint) unreachable (\(down.joined(separator: ", ")) down); reconnecting")
    }

    public var status: RedisEngine.Status { redis.status }

    public func shutdown() { redis.stop() }
}

/// Events from the subscription, turned back into what this node's fan-out delivers.
struct SubscriptionDelivery: RedisLocalDelivery {
    let delivery: any LocalDelivery
    let chain: ChainReference
    let logger: Logger

    func deliver(_ envelope: RedisEnvelope) {
        guard let json = try? JSON.parse(envelope.payload) else {
            logger.warning("redis engine: an event from Redis is not JSON; dropped", metadata: ["id": "\(envelope.id)"])
            return
        }
        let view = json.view
        let category = view["category"].string ?? view["type"].string ?? ""
        let event = Event(id: envelope.id, host: envelope.host, senderId: envelope.sender, category: category,
                          targets: envelope.targets, json: json)
        delivery.deliver(OutboundEvent(event, payload: envelope.payload, chain: envelope.isSignal ? .empty : chain.current))
    }

    func resynchronize(reason: String) {
        delivery.disconnectAll(reason: reason)
    }
}

extension GatewayError {
    /// A typing indicator or read mark Redis did not pass to the other nodes (client protocol:
    /// an error frame instead of the ack). Same code as a refused publish: the engine's store is
    /// down, retry shortly.
    static func signalNotShared(_ cause: RedisConnectionError, reachedThisNode: Bool) -> GatewayError {
        let reach = reachedThisNode
            ? "it reached only the recipients connected to this gateway node"
            : "it may not have reached its recipients"
        return GatewayError(code: "engine.unavailable",
                            message: "Redis is unavailable (\(cause.message)): \(reach). Retry shortly.", status: 503)
    }
}
