// The single writer behind HistoryStore.record(_:).
//
// record() runs on the gateway's event loops, up to ~100k events/s in bursts, so it must never
// touch the disk: it appends to a bounded in-memory queue under a short lock and returns. A
// dedicated thread takes the whole queue at once and commits it as ONE transaction (a commit
// costs about as much as thousands of row inserts), then prunes the principals that batch touched.
// When the queue is full the event is dropped and counted; blocking an event loop on disk would
// stall every connection it serves, which is worse than a gap in history.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

// @unchecked: the queue, counters and flags are guarded by `lock`; `connection` is used by the
// writer thread only.
final class HistoryWriter: @unchecked Sendable {
    struct Counters: Sendable, Equatable {
        /// Events accepted into the queue.
        var accepted: UInt64 = 0
        /// Events refused because the queue was full or the store closed.
        var dropped: UInt64 = 0
        /// Accepted events whose batch committed.
        var committed: UInt64 = 0
        /// Accepted events whose batch failed to commit (logged).
        var failed: UInt64 = 0
        /// Committed events ignored because their id was already stored.
        var duplicates: UInt64 = 0
    }

    private let connection: SQLiteConnection
    private let perPrincipal: Int
    private let capacity: Int
    private let logger: Logger

    // Guarded by `lock`.
    private let lock = LockWithCondition()
    private var queue: [StoredEvent] = []
    private var counters = Counters()
    private var highestId: Int64
    private var writerSleeping = false
    /// The writer is holding a batch open for more events (group commit).
    private var writerGathering = false
    /// flush() calls waiting: they cut a gathering window short.
    private var flushWaiters = 0
    /// Each flush() asks for everything pending to be pruned; the writer answers in order.
    private var pruneRequests = 0
    private var prunesDone = 0
    private var closing = false
    private var exited = false

    /// Writer thread only: rows each principal gained since it was last pruned.
    private var rowsSincePrune: [String: Int] = [:]
    private var pruneSlack: Int { max(1, perPrincipal / 4) }

    private var thread: pthread_t?
    private var lastDropLogged: UInt64 = 0
    private var lastDropLogTime: Int64 = 0

    init(connection: SQLiteConnection, perPrincipal: Int, capacity: Int, logger: Logger) throws(StoreError) {
        self.connection = connection
        self.perPrincipal = perPrincipal
        self.capacity = capacity
        self.logger = logger
        highestId = try Self.readHighestId(connection)
        queue.reserveCapacity(min(capacity, 4096))
    }

    func start() throws(StoreError) {
        var created = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let status = pthread_create(&created, nil, { raw in
            let writer = Unmanaged<HistoryWriter>.fromOpaque(raw!).takeRetainedValue()
            writer.run()
            return nil
        }, context)
        guard status == 0 else {
            Unmanaged<HistoryWriter>.fromOpaque(context).release()
            throw .io("cannot start the history writer thread: \(FileSystem.errorText(status))")
        }
        thread = created
    }

    // MARK: Called from any thread

    func enqueue(_ event: StoredEvent) {
        lock.withLock {
            guard !closing, queue.count < capacity else {
                counters.dropped += 1
                return
            }
            queue.append(event)
            counters.accepted += 1
            if event.id > highestId { highestId = event.id }
            if writerSleeping || (writerGathering && queue.count >= Self.gatherTarget) { lock.broadcast() }
        }
    }

    /// Group commit: once the first event of a batch arrives, the writer waits up to this long
    /// (or until `gatherTarget` events are queued) before committing. One transaction then
    /// carries many events, instead of one transaction and one thread wake-up per event —
    /// the per-event cost that dominated personal-message throughput.
    static let gatherNanoseconds = 5_000_000
    static let gatherTarget = 1024

    var lastEventId: Int64 { lock.withLock { highestId } }
    var snapshot: Counters { lock.withLock { counters } }

    /// Blocks until every event accepted before this call is committed (or has failed) and
    /// every principal is pruned to its last N.
    func flush() {
        lock.withLock {
            let target = counters.accepted
            pruneRequests += 1
            let ticket = pruneRequests
            flushWaiters += 1
            lock.broadcast()
            while (counters.committed + counters.failed < target || prunesDone < ticket) && !exited { lock.wait() }
            flushWaiters -= 1
        }
    }

    /// Commits what is queued, stops the thread and closes the connection. Idempotent.
    func close() {
        let toJoin: pthread_t? = lock.withLock {
            closing = true
            lock.broadcast()
            defer { thread = nil }
            return thread
        }
        if let toJoin { pthread_join(toJoin, nil) }
    }

    // MARK: The writer thread

    private func run() {
        // Background work: on a busy core the scheduler should favour the event loops that
        // deliver events over this thread that records them (nice 10, this thread only).
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)  // 0: the calling thread on Linux (NPTL)
        var batch: [StoredEvent] = []
        batch.reserveCapacity(min(capacity, 4096))
        var pruneTicket = 0
        while true {
            let stop: Bool = lock.withLock {
                while queue.isEmpty && !closing && prunesDone == pruneRequests {
                    writerSleeping = true
                    lock.wait()
                    writerSleeping = false
                }
                pruneTicket = pruneRequests
                if queue.isEmpty { return closing }
                if !closing && flushWaiters == 0 && queue.count < Self.gatherTarget {
                    let deadline = LockWithCondition.monotonicDeadline(afterNanoseconds: Self.gatherNanoseconds)
                    writerGathering = true
                    while !closing && flushWaiters == 0 && queue.count < Self.gatherTarget && lock.wait(until: deadline) {}
                    writerGathering = false
                }
                pruneTicket = pruneRequests
                swap(&queue, &batch)  // both arrays keep their storage: no allocation per batch
                return false
            }
            if stop { break }
            let pruneEverything = pruneTicket > prunesDoneSnapshot()
            let outcome = batch.isEmpty ? (succeeded: true, duplicates: 0)
                                        : commit(batch, pruneEverything: pruneEverything)
            if batch.isEmpty && pruneEverything { pruneAllPending() }
            lock.withLock {
                if outcome.succeeded { counters.committed += UInt64(batch.count) } else { counters.failed += UInt64(batch.count) }
                counters.duplicates += UInt64(outcome.duplicates)
                if pruneEverything { prunesDone = max(prunesDone, pruneTicket) }
                lock.broadcast()
            }
            batch.removeAll(keepingCapacity: true)
            logDropsIfAny()
        }
        pruneAllPending()
        logDropsIfAny(force: true)
        connection.close()
        lock.withLock {
            exited = true
            lock.broadcast()
        }
    }

    private func prunesDoneSnapshot() -> Int { lock.withLock { prunesDone } }

    /// Prunes every principal with rows added since its last prune (flush, close).
    private func pruneAllPending() {
        guard !rowsSincePrune.isEmpty else { return }
        let due = Set(rowsSincePrune.keys)
        do throws(StoreError) {
            try connection.transaction { () throws(StoreError) in try prune(due) }
            rowsSincePrune.removeAll()
        } catch {
            logger.error("history pruning failed", metadata: ["principals": "\(due.count)", "error": "\(error)"])
        }
    }

    private func commit(_ batch: [StoredEvent], pruneEverything: Bool) -> (succeeded: Bool, duplicates: Int) {
        var touched: [String] = []
        var duplicates = 0
        do throws(StoreError) {
            try connection.transaction { () throws(StoreError) in
                var batchHighest = Int64.min
                for event in batch {
                    batchHighest = max(batchHighest, event.id)
                    // An event nobody receives is not kept: no principal could ever read it.
                    guard !event.principals.isEmpty else { continue }
                    if try insert(event) {
                        touched.append(contentsOf: event.principals)
                    } else {
                        duplicates += 1
                    }
                }
                try saveHighestId(batchHighest)
            }
        } catch {
            logger.error("history batch not stored", metadata: ["events": "\(batch.count)", "error": "\(error)"])
            return (false, 0)
        }
        if duplicates > 0 {
            logger.warning("history ignored events with ids already stored", metadata: ["count": "\(duplicates)"])
        }
        // Pruning runs after the commit, in its own transaction: the new events are durable even if
        // pruning fails, and a failed prune is retried the next time those principals are due.
        // A principal is pruned once it gained `pruneSlack` rows since its last prune (reads use
        // LIMIT, so the extra rows are never seen): with one-recipient chat traffic, pruning every
        // touched principal after every batch cost twice the inserts. flush() and close() prune
        // everything pending, so what is on disk after them is exactly the last N per principal.
        for principal in touched { rowsSincePrune[principal, default: 0] += 1 }
        let due: Set<String>
        if pruneEverything {
            due = Set(rowsSincePrune.keys)
        } else {
            due = Set(rowsSincePrune.lazy.filter { $0.value >= self.pruneSlack }.map(\.key))
        }
        guard !due.isEmpty else { return (true, duplicates) }
        do throws(StoreError) {
            try connection.transaction { () throws(StoreError) in try prune(due) }
            for principal in due { rowsSincePrune.removeValue(forKey: principal) }
        } catch {
            logger.error("history pruning failed", metadata: ["principals": "\(due.count)", "error": "\(error)"])
        }
        return (true, duplicates)
    }

    private func insert(_ event: StoredEvent) throws(StoreError) -> Bool {
        let recipients = Self.distinct(event.principals)
        try connection.withStatement(
            """
            INSERT OR IGNORE INTO events (id, host, sender, timestamp, principals, payload, recipients)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
            """
        ) { statement throws(StoreError) in
            statement.bind(1, event.id)
            statement.bind(2, event.host)
            statement.bind(3, event.sender)
            statement.bind(4, event.timestamp)
            statement.bind(5, PrincipalList.encode(event.principals))
            statement.bind(6, blob: event.payload)
            statement.bind(7, recipients.count)
            try statement.run()
        }
        guard connection.changes == 1 else { return false }
        try connection.withStatement(
            "INSERT OR IGNORE INTO deliveries (principal, event_id) VALUES (?1, ?2)"
        ) { statement throws(StoreError) in
            for principal in recipients {
                statement.bind(1, principal)
                statement.bind(2, event.id)
                try statement.run()
                statement.reset()
            }
        }
        return true
    }

    /// The principals without repeats, in order. Lists are short (a few targets), so a linear
    /// scan beats hashing.
    private static func distinct(_ principals: [String]) -> [String] {
        var unique: [String] = []
        unique.reserveCapacity(principals.count)
        for principal in principals where !unique.contains(principal) { unique.append(principal) }
        return unique
    }

    private func saveHighestId(_ id: Int64) throws(StoreError) {
        guard id != Int64.min else { return }
        try connection.withStatement(
            """
            INSERT INTO store_meta (key, value) VALUES ('last_event_id', ?1)
            ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)
            """
        ) { statement throws(StoreError) in
            statement.bind(1, id)
            try statement.run()
        }
    }

    /// Keeps the newest `perPrincipal` deliveries of each touched principal, then deletes the events
    /// that no delivery references any more.
    private func prune(_ principals: Set<String>) throws(StoreError) {
        var released: [Int64: Int] = [:]
        try connection.withStatement(
            """
            DELETE FROM deliveries WHERE principal = ?1 AND event_id <= (
                SELECT event_id FROM deliveries WHERE principal = ?1 ORDER BY event_id DESC LIMIT 1 OFFSET ?2
            ) RETURNING event_id
            """
        ) { statement throws(StoreError) in
            for principal in principals {
                statement.bind(1, principal)
                statement.bind(2, perPrincipal)
                while try statement.step() { released[statement.int64(0), default: 0] += 1 }
                statement.reset()
            }
        }
        guard !released.isEmpty else { return }
        // Delete the events whose last deliveries went; count down the others.
        try connection.withStatement(
            "DELETE FROM events WHERE id = ?1 AND recipients <= ?2"
        ) { delete throws(StoreError) in
            try connection.withStatement(
                "UPDATE events SET recipients = recipients - ?2 WHERE id = ?1"
            ) { countDown throws(StoreError) in
                for (id, count) in released {
                    delete.bind(1, id)
                    delete.bind(2, count)
                    try delete.run()
                    delete.reset()
                    if connection.changes == 0 {
                        countDown.bind(1, id)
                        countDown.bind(2, count)
                        try countDown.run()
                        countDown.reset()
                    }
                }
            }
        }
    }

    private static func readHighestId(_ connection: SQLiteConnection) throws(StoreError) -> Int64 {
        try connection.withStatement(
            """
            SELECT max(coalesce((SELECT value FROM store_meta WHERE key = 'last_event_id'), 0),
                       coalesce((SELECT max(id) FROM events), 0))
            """
        ) { statement throws(StoreError) in
            try statement.step() ? statement.int64(0) : 0
        }
    }

    /// Drops are counted on the hot path and logged here, at most once per second.
    private func logDropsIfAny(force: Bool = false) {
        let dropped = lock.withLock { counters.dropped }
        guard dropped > lastDropLogged else { return }
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let nowMillis = Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
        guard force || nowMillis - lastDropLogTime >= 1000 else { return }
        logger.warning(
            "history queue full: events dropped from history (they were still delivered live)",
            metadata: ["dropped": "\(dropped - lastDropLogged)", "droppedTotal": "\(dropped)", "capacity": "\(capacity)"])
        lastDropLogged = dropped
        lastDropLogTime = nowMillis
    }
}
