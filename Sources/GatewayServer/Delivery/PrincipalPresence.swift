import NIOConcurrencyHelpers

/// Which event loops hold at least one connection of a principal. Publishing consults it so an
/// event only wakes the loops that have a recipient: a personal message costs one hop, not one
/// per loop, and an event for nobody online costs none.
///
/// Updated on connect/disconnect (rare), read on every publish (frequent): one short lock each.
final class PrincipalPresence: Sendable {
    private let counts = NIOLockedValueBox<[String: [Int32]]>([:])
    private let shardCount: Int

    init(shardCount: Int) {
        self.shardCount = shardCount
    }

    /// Returns true when `principals[0]` (the identity) had no connection before: it came online.
    @discardableResult
    func add(_ principals: [String], shard: Int) -> Bool {
        counts.withLockedValue { table in
            let cameOnline = principals.first.map { table[$0] == nil } ?? false
            for principal in principals {
                table[principal, default: Array(repeating: 0, count: shardCount)][shard] += 1
            }
            return cameOnline
        }
    }

    /// Returns true when `principals[0]` (the identity) has no connection left: it went offline.
    @discardableResult
    func remove(_ principals: [String], shard: Int) -> Bool {
        counts.withLockedValue { table in
            for principal in principals {
                guard var perShard = table[principal] else { continue }
                perShard[shard] -= 1
                table[principal] = perShard.allSatisfy { $0 <= 0 } ? nil : perShard
            }
            return principals.first.map { table[$0] == nil } ?? false
        }
    }

    /// Whether `principal` has a connection on this node.
    func isPresent(_ principal: String) -> Bool {
        counts.withLockedValue { $0[principal] != nil }
    }

    /// Indexes of the shards holding any of `principals`.
    func shards(holdingAnyOf principals: [String]) -> [Int] {
        counts.withLockedValue { table in
            var holding = Array(repeating: false, count: shardCount)
            for principal in principals {
                guard let perShard = table[principal] else { continue }
                for index in 0..<shardCount where perShard[index] > 0 { holding[index] = true }
            }
            return (0..<shardCount).filter { holding[$0] }
        }
    }
}
