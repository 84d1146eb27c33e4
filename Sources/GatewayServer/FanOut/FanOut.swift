import NIOCore

/// Fan-out: one shard per event loop. Publishing hops once per loop (not once per connection);
/// each shard then writes the shared frame to its own matching connections.
final class FanOut: Sendable {
    let shards: [LoopShard]
    private let shardByLoop: [ObjectIdentifier: LoopShard]
    let presence: PrincipalPresence

    init(loops: [EventLoop], metrics: GatewayMetrics) {
        let presence = PrincipalPresence(shardCount: loops.count)
        self.presence = presence
        shards = loops.enumerated().map { LoopShard(loop: $1, position: $0, presence: presence, metrics: metrics) }
        shardByLoop = Dictionary(uniqueKeysWithValues: shards.map { (ObjectIdentifier($0.loop), $0) })
    }

    func shard(for loop: EventLoop) -> LoopShard {
        guard let shard = shardByLoop[ObjectIdentifier(loop)] else {
            preconditionFailure("event loop \(loop) is not one of the server's loops")
        }
        return shard
    }

    func publish(_ event: RoutedEvent) {
        if shards.count == 1 {
            shards[0].enqueue(event)
            return
        }
        for index in presence.shards(holdingAnyOf: event.targets) { shards[index].enqueue(event) }
    }

    /// Connections currently registered, summed over loops (approximate while loops run).
    var connectionCount: Int { shards.reduce(0) { $0 + $1.connectionCount } }
}
