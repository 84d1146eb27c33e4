import NIOCore

/// Fan-out: one shard per event loop. Publishing hops once per loop (not once per connection);
/// each shard then writes the shared frame to its own matching connections.
final class FanOut: Sendable {
    let shards: [LoopShard]
    private let shardByLoop: [ObjectIdentifier: LoopShard]

    init(loops: [EventLoop], metrics: GatewayMetrics) {
        shards = loops.map { LoopShard(loop: $0, metrics: metrics) }
        shardByLoop = Dictionary(uniqueKeysWithValues: shards.map { (ObjectIdentifier($0.loop), $0) })
    }

    func shard(for loop: EventLoop) -> LoopShard {
        guard let shard = shardByLoop[ObjectIdentifier(loop)] else {
            preconditionFailure("event loop \(loop) is not one of the server's loops")
        }
        return shard
    }

    func publish(_ event: RoutedEvent) {
        for shard in shards { shard.enqueue(event) }
    }

    /// Connections currently registered, summed over loops (approximate while loops run).
    var connectionCount: Int { shards.reduce(0) { $0 + $1.connectionCount } }
}
