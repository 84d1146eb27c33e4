import GatewayCore
import GatewayJSON
import GatewayStore
import Logging
import NIOCore

/// The path every event takes, whatever door it came in by:
/// normalize → targets (explicit, or the category-target plugins) → encode once → history → fan-out.
/// Per-recipient filters run later, on each connection's own event loop.
final class EventRouter: @unchecked Sendable {
    private unowned let server: ServerContext
    private let ids: EventIdGenerator

    init(server: ServerContext, ids: EventIdGenerator) {
        self.server = server
        self.ids = ids
    }

    /// Routes one event; returns its id. Throws a GatewayError the caller shows to the client.
    func publish(_ input: JSONView, from publisher: Publisher, ingress: String, hostFallback: String? = nil)
        throws(GatewayError) -> Int64
    {
        server.metrics.eventIn(ingress)
        let chain = server.chain.current
        let id = ids.next()
        let event: JSON
        do {
            event = try EventNormalizer.normalize(input, id: id, publisher: publisher,
                                                  defaultHost: hostFallback ?? server.config.server.defaultHost,
                                                  now: ISOTimestamp.now())
            try server.attachments?.expand(event, for: publisher)
        } catch {
            server.metrics.drop(.invalidEvent)
            throw error
        }
        let view = event.view
        let targets: [String]
        if let explicit = view["target"]["principals"].strings {
            targets = explicit
        } else if let computed = chain.targets(for: view) {
            targets = computed
            event.set("target", EventNormalizer.targetObject(computed))
        } else {
            server.metrics.drop(.noTargets)
            let category = view["category"].string ?? ""
            throw GatewayError(code: "event.no_targets",
                               message: "The event has no 'target' and no category-targets plugin handles category '\(category)'. Give {\"target\": {\"principals\": [...]}} or configure a plugin for it.",
                               status: 422)
        }
        let host = view["host"].string ?? server.config.server.defaultHost
        let sender = view["source"]["id"].string ?? publisher.id
        let payload = event.encoded()
        let frame = WebSocketFrameBytes.text(payload, allocator: server.allocator)
        server.attachments?.grant(event, to: targets)
        server.history?.record(StoredEvent(id: id, host: host, sender: sender, principals: targets,
                                           timestamp: view["timestamp"].string ?? ISOTimestamp.now(), payload: payload))
        server.fanOut.publish(RoutedEvent(id: id, host: host, senderId: sender, targets: targets, frame: frame,
                                          event: event, chain: chain))
        server.metrics.eventsRouted.increment()
        return id
    }

    /// Typing indicators and read marks: straight to fan-out, no history, no filters.
    func publishSignal(_ signal: JSON, targets: [String], host: String, senderId: String) {
        let frame = WebSocketFrameBytes.text(signal.encoded(), allocator: server.allocator)
        server.fanOut.publish(RoutedEvent(id: 0, host: host, senderId: senderId, targets: targets, frame: frame,
                                          event: signal, chain: .empty))
    }
}
