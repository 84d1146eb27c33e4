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

    /// Returns the principals that had no connection on this node before: they came online here.
    /// All of them, not only the identity: a room member may be a group (`group:team`), online
    /// while any connection carries it.
    @discardableResult
    func add(_ principals: [String], shard: Int) -> [String] {
        counts.withLockedValue { table in
            var cameOnline: [String] = []
            for principal in principals {
                if table[principal] == nil { cameOnline.append(principal) }
                table[principal, default: Array(repeating: 0, count: shardCount)][shard] += 1
            }
            return cameOnline
        }
    }

    /// Returns the principals that have no connection left on this node: they went offline here.
    @discardableResult
    func remove(_ principals: [String], shard: Int) -> [String] {
        counts.withLockedValue { table in
            var wentOffline: [String] = []
            for principal in principals {
                guard var perShard = table[principal] else { continue }
                perShard[shard] -= 1
                if perShard.allSatisfy({ $0 <= 0 }) {
                    table[principal] = nil
                    wentOffline.append(principal)
                } else {
                    table[principal] = perShard
                }
            }
            return wentOffline
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
