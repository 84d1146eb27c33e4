import NIOConcurrencyHelpers
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Counts the open connections, in all and per client IP address, and decides whether a new one
/// may stay. At the total limit (or when the process is out of file descriptors), the oldest
/// connection that has not yet sent a complete request head (an idle or half-open socket) makes
/// room: parked sockets cannot lock out real clients or the health check. Past the per-address
/// limit a new connection is closed at once.
///
/// Shared by every event loop (accepts happen on one, closes on all): state behind one lock.
final class ConnectionAdmission: Sendable {
    let maxConnections: Int
    let maxPerAddress: Int

    private struct State {
        var total = 0
        var perAddress: [String: Int] = [:]
        var nextId = 0
        /// Connections that have not sent a complete request head yet, oldest first; entries
        /// no longer in `pendingIds` are skipped lazily.
        var pendingOrder = CircularBuffer<(id: Int, channel: Channel)>()
        var pendingIds: Set<Int> = []
    }

    private let state = NIOLockedValueBox(State())

    init(maxConnections: Int, maxPerAddress: Int) {
        self.maxConnections = maxConnections
        self.maxPerAddress = maxPerAddress
    }

    /// What `[server] max_connections = 0` means: what the open-file limit allows, keeping 64
    /// descriptors for the process itself and one more per connection for a file being served.
    static func derivedMaxConnections() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        let files = Int(min(limit.rlim_cur, 1 << 20))   // RLIM_INFINITY is the largest value: capped too
        return max(16, (files - 64) / 2)
    }

    /// Raises the soft open-file limit to the hard one: the default soft limit (1024 on most
    /// systems) is far below what a gateway with many WebSocket clients needs.
    static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    /// A ticket for an admitted connection: `activated()` when its first request head arrives.
    struct Ticket: Sendable {
        fileprivate let id: Int
        fileprivate let admission: ConnectionAdmission
        func activated() { admission.activate(id) }
    }

    /// Admits `channel` or says no. An admitted channel is counted until it closes.
    func admit(_ channel: Channel) -> Ticket? {
        let address = channel.remoteAddress?.ipAddress ?? "unknown"
        var evict: Channel?
        let id: Int? = state.withLockedValue { state in
            if maxPerAddress > 0, state.perAddress[address, default: 0] >= maxPerAddress { return nil }
            if state.total >= maxConnections {
                evict = Self.takeOldestPending(&state)
                if evict == nil { return nil }
            }
            state.total += 1
            state.perAddress[address, default: 0] += 1
            state.nextId += 1
            state.pendingIds.insert(state.nextId)
            state.pendingOrder.append((state.nextId, channel))
            return state.nextId
        }
        // The evicted connection is counted until its own close completes; the new one is
        // admitted in its place now (one over the limit for a moment at most).
        evict?.close(promise: nil)
        guard let id else { return nil }
        channel.closeFuture.whenComplete { _ in self.release(id, address: address) }
        return Ticket(id: id, admission: self)
    }

    /// The process ran out of file descriptors (accept failed with EMFILE): closes the oldest
    /// connection that has not sent a complete request head, as at `max_connections`, and returns
    /// it (its close frees the descriptor the next accept needs); nil when every connection is in use.
    func evictOldestPending() -> Channel? {
        let evict = state.withLockedValue { Self.takeOldestPending(&$0) }
        evict?.close(promise: nil)
        return evict
    }

    private static func takeOldestPending(_ state: inout State) -> Channel? {
        while let oldest = state.pendingOrder.popFirst() {
            if state.pendingIds.remove(oldest.id) != nil { return oldest.channel }
        }
        return nil
    }

    private func activate(_ id: Int) {
        state.withLockedValue { state in
            state.pendingIds.remove(id)
            // Keep the queue from growing with activated entries on a busy server.
            while let first = state.pendingOrder.first, !state.pendingIds.contains(first.id) {
                state.pendingOrder.removeFirst()
            }
        }
    }

    private func release(_ id: Int, address: String) {
        state.withLockedValue { state in
            state.total -= 1
            state.pendingIds.remove(id)
            if let count = state.perAddress[address], count > 1 {
                state.perAddress[address] = count - 1
            } else {
                state.perAddress[address] = nil
            }
            while let first = state.pendingOrder.first, !state.pendingIds.contains(first.id) {
                state.pendingOrder.removeFirst()
            }
        }
    }

    var openConnections: Int { state.withLockedValue { $0.total } }
}
