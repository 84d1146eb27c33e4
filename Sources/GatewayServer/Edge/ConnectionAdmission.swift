import CoreMetrics
import Logging
import NIOConcurrencyHelpers
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Counts the open connections, in all and per client IP address, and decides whether a new one
/// may stay. At the total limit (or when the process is out of file descriptors), a connection
/// that has not yet sent a complete request head (an idle or half-open socket) makes room: the
/// oldest one of the address holding the most such connections (PendingConnections says why).
/// Parked sockets cannot lock out real clients or the health check, nor push out another
/// client's connection opened ahead of its first request. Past the per-address limit a new
/// connection is closed at once.
///
/// Shared by every event loop (accepts happen on one, closes on all): state behind one lock.
final class ConnectionAdmission: Sendable {
    let maxConnections: Int
    let maxPerAddress: Int

    private struct State {
        var total = 0
        var perAddress: [String: Int] = [:]
        var nextId = 0
        /// Connections that have not sent a complete request head yet: the candidates to make room.
        var pending = PendingConnections()
    }

    private let state = NIOLockedValueBox(State())
    /// Connections closed to make room (`gateway_connections_evicted_total`), each logged at debug.
    private let evictions: CoreMetrics.Counter
    private let logger: Logger

    init(maxConnections: Int, maxPerAddress: Int, evictions: CoreMetrics.Counter, logger: Logger) {
        self.maxConnections = maxConnections
        self.maxPerAddress = maxPerAddress
        self.evictions = evictions
        self.logger = logger
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
        var evict: PendingConnections.Entry?
        let id: Int? = state.withLockedValue { state in
            if maxPerAddress > 0, state.perAddress[address, default: 0] >= maxPerAddress { return nil }
            if state.total >= maxConnections {
                evict = state.pending.takeFromBusiestAddress()
                if evict == nil { return nil }
            }
            state.total += 1
            state.perAddress[address, default: 0] += 1
            state.nextId += 1
            state.pending.add(.init(id: state.nextId, channel: channel, address: address, since: .now()))
            return state.nextId
        }
        // The evicted connection is counted until its own close completes; the new one is
        // admitted in its place now (one over the limit for a moment at most).
        if let evict { close(evict) }
        guard let id else { return nil }
        channel.closeFuture.whenComplete { _ in self.release(id, address: address) }
        return Ticket(id: id, admission: self)
    }

    /// The process ran out of file descriptors (accept failed with EMFILE): closes a connection
    /// that has not sent a complete request head, chosen as at `max_connections`, and returns it
    /// (its close frees the descriptor the next accept needs); nil when every connection is in use.
    func evictPending() -> Channel? {
        guard let evict = state.withLockedValue({ $0.pending.takeFromBusiestAddress() }) else { return nil }
        close(evict)
        return evict.channel
    }

    private func close(_ evicted: PendingConnections.Entry) {
        evictions.increment()
        logger.debug("connection closed to make room", metadata: [
            "address": "\(evicted.address)",
            "pending_ms": "\((NIODeadline.now() - evicted.since).nanoseconds / 1_000_000)",
        ])
        evicted.channel.close(promise: nil)
    }

    private func activate(_ id: Int) {
        state.withLockedValue { $0.pending.remove(id) }
    }

    private func release(_ id: Int, address: String) {
        state.withLockedValue { state in
            state.total -= 1
            state.pending.remove(id)
            if let count = state.perAddress[address], count > 1 {
                state.perAddress[address] = count - 1
            } else {
                state.perAddress[address] = nil
            }
        }
    }

    var openConnections: Int { state.withLockedValue { $0.total } }
}
