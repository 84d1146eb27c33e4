import GatewayCore
import NIOCore
import NIOWebSocket

/// This node's connections, one shard per event loop. The engine hands each event over once
/// (LocalDelivery); publishing hops once per loop that holds a recipient (not once per
/// connection), and each shard writes the shared frame to its own matching connections.
///
/// Registration state lives here and only here: each shard's SessionIndex, the principal →
/// loops presence table and the connection count all change in `register` / `unregister`.
final class FanOut: LocalDelivery {
    let shards: [LoopShard]
    private let shardByLoop: [ObjectIdentifier: LoopShard]
    private let presence: PrincipalPresence
    private let allocator = ByteBufferAllocator()

    init(loops: [EventLoop], changes: PresenceChanges = PresenceChanges(), metrics: GatewayMetrics) {
        let presence = PrincipalPresence(shardCount: loops.count)
        self.presence = presence
        shards = loops.enumerated().map { LoopShard(loop: $1, position: $0, presence: presence, changes: changes, metrics: metrics) }
        shardByLoop = Dictionary(uniqueKeysWithValues: shards.map { (ObjectIdentifier($0.loop), $0) })
    }

    /// Starts delivering to `connection` (on its event loop) until its channel closes.
    func register(_ connection: ClientConnection, channel: Channel) {
        let shard = shard(for: channel.eventLoop)
        shard.register(connection)
        // Both run on the channel's loop (the shard's), where the connection lives.
        channel.closeFuture.assumeIsolated().whenComplete { _ in shard.unregister(connection) }
    }

    func deliver(_ event: OutboundEvent) {
        let routed = RoutedEvent(event, allocator: allocator)
        if shards.count == 1 {
            shards[0].enqueue(routed)
            return
        }
        for index in presence.shards(holdingAnyOf: event.event.targets) { shards[index].enqueue(routed) }
    }

    /// Whether `principal` has a connection on this node (room presence).
    func isOnline(_ principal: String) -> Bool { presence.isPresent(principal) }

    /// Connections currently registered, summed over loops (approximate while loops run).
    var connectionCount: Int { shards.reduce(0) { $0 + $1.connectionCount } }

    func disconnectAll(reason: String) {
        _ = forEachConnection { connection in
            connection.close(code: WebSocketErrorCode(codeNumber: 1012), reason: reason)
        }
    }

    /// Every connection, visited on its own loop (drain: close them all).
    func forEachConnection(_ body: @escaping @Sendable (ClientConnection) -> Void) -> [EventLoopFuture<Void>] {
        shards.map { shard in shard.loop.submit { shard.forEachConnection(body) } }
    }

    private func shard(for loop: EventLoop) -> LoopShard {
        guard let shard = shardByLoop[ObjectIdentifier(loop)] else {
            preconditionFailure("event loop \(loop) is not one of the server's loops")
        }
        return shard
    }
}
