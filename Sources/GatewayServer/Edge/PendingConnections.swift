import NIOCore

/// The connections that have not sent a complete request head yet (idle, half-open or just
/// opened), grouped by client address, and the choice of the one that makes room at the limit:
/// the oldest of the address that holds the most of them. An attacker parking thousands of
/// sockets from one address makes room with its own sockets, so a client elsewhere that opened
/// a connection a moment (or a while) before its first request keeps it; from one address only
/// (every client behind one proxy) it is simply the oldest.
///
/// Plain state: ConnectionAdmission keeps it behind its lock. Every operation is O(1) amortized.
struct PendingConnections {
    struct Entry {
        let id: Int
        let channel: Channel
        let address: String
        let since: NIODeadline
    }

    /// One address's pending connections, oldest first. Entries that stopped pending stay until
    /// they reach the front (skipped there); `count` is the ones still pending.
    private struct AddressQueue {
        var entries = CircularBuffer<Entry>()
        var count = 0
    }

    private var queues: [String: AddressQueue] = [:]
    /// The address of every pending connection, by id: membership is "still pending".
    private var addressOf: [Int: String] = [:]
    /// Addresses by how many pending connections they hold, and the largest such number: the
    /// busiest address is found without looking at the others.
    private var addressesByCount: [Int: Set<String>] = [:]
    private var highestCount = 0

    var isEmpty: Bool { addressOf.isEmpty }

    mutating func add(_ entry: Entry) {
        addressOf[entry.id] = entry.address
        var queue = queues.removeValue(forKey: entry.address) ?? AddressQueue()
        queue.entries.append(entry)
        queue.count += 1
        queues[entry.address] = queue
        move(entry.address, from: queue.count - 1, to: queue.count)
    }

    /// The connection sent its first request head, or closed: it no longer pends.
    mutating func remove(_ id: Int) {
        guard let address = addressOf.removeValue(forKey: id), let count = queues[address]?.count else { return }
        move(address, from: count, to: count - 1)
        if count == 1 {
            queues[address] = nil   // its stale entries go with it
            return
        }
        guard var queue = queues.removeValue(forKey: address) else { return }
        queue.count = count - 1
        // Keep the queue from growing with entries that stopped pending on a busy server.
        while let first = queue.entries.first, addressOf[first.id] == nil {
            queue.entries.removeFirst()
        }
        queues[address] = queue
    }

    /// Takes the oldest pending connection of the address with the most of them; nil when none pends.
    mutating func takeFromBusiestAddress() -> Entry? {
        guard highestCount > 0, let address = addressesByCount[highestCount]?.first else { return nil }
        while let oldest = queues[address]?.entries.popFirst() {
            if addressOf[oldest.id] != nil {
                remove(oldest.id)
                return oldest
            }
        }
        return nil   // unreachable: a counted address has a pending entry
    }

    private mutating func move(_ address: String, from old: Int, to new: Int) {
        if old > 0 {
            addressesByCount[old]?.remove(address)
            if addressesByCount[old]?.isEmpty == true { addressesByCount[old] = nil }
        }
        if new > 0 { addressesByCount[new, default: []].insert(address) }
        if new > highestCount {
            highestCount = new
        } else if old == highestCount, addressesByCount[old] == nil {
            highestCount = new   // one address went down by one: the next count holds it
        }
    }
}
