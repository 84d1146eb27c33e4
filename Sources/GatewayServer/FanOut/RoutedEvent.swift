import GatewayCore
import GatewayJSON
import NIOCore

/// An event ready to leave: routed once, encoded once, shared (read-only) by every event loop.
final class RoutedEvent: Sendable {
    let id: Int64
    let host: String
    let senderId: String
    let targets: [String]
    /// The whole WebSocket frame (header + JSON payload), written unchanged to each recipient.
    let frame: ByteBuffer
    /// The event as JSON, for per-recipient filters. Never mutated after routing.
    let event: JSON
    /// The chain snapshot this event was routed with; keeps its plugin instances alive until
    /// every loop has delivered the event, even if a reload swaps the chain meanwhile.
    let chain: PluginChain
    /// The recipient filters that must see this event one recipient at a time (often none).
    let filterPlan: PluginChain.FilterPlan
    let acceptedAt: NIODeadline

    init(id: Int64, host: String, senderId: String, targets: [String], frame: ByteBuffer, event: JSON,
         chain: PluginChain) {
        self.filterPlan = chain.filterPlan(for: event.view)
        self.id = id
        self.host = host
        self.senderId = senderId
        self.targets = targets
        self.frame = frame
        self.event = event
        self.chain = chain
        self.acceptedAt = .now()
    }
}
