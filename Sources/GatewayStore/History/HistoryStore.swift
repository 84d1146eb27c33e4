// History of delivered events, kept per target principal in an embedded SQLite file (WAL).
//
// Writes go through HistoryWriter (a queue and one writer thread, never blocking the caller);
// reads use their own read-only connections and see everything committed so far.
// GET /api/v1/notifications uses recent(...); reconnect recovery uses after(id:...).
import Logging

public final class HistoryStore: Sendable {
    /// Counters for /metrics and tests.
    public struct Statistics: Sendable, Equatable {
        public let accepted: UInt64
        public let dropped: UInt64
        public let committed: UInt64
        public let failed: UInt64
        public let duplicates: UInt64
    }

    public let path: String
    public let perPrincipal: Int
    private let writer: HistoryWriter
    private let readers: ReaderPool
    private let logger: Logger

    /// Opens (creating folders and file as needed) and migrates the store, then starts the writer.
    /// - Parameters:
    ///   - perPrincipal: events kept per principal (older ones are pruned); at least 1.
    ///   - queueCapacity: events that may wait for the writer; beyond it record() drops and counts.
    public init(
        path: String, perPrincipal: Int = 50, queueCapacity: Int = 100_000,
        logger: Logger = Logger(label: "gateway.store.history")
    ) throws(StoreError) {
        guard perPrincipal >= 1 else { throw .invalidArgument("history perPrincipal must be at least 1, got \(perPrincipal)") }
        guard queueCapacity >= 1 else { throw .invalidArgument("history queueCapacity must be at least 1, got \(queueCapacity)") }
        guard !path.isEmpty, path != ":memory:" else {
            throw .openFailed("history needs a file path (WAL and separate read connections need a real file), got \"\(path)\"")
        }
        self.path = path
        self.perPrincipal = perPrincipal
        self.logger = logger
        let connection = try StoreSchema.openMigrated(path: path, logger: logger)
        writer = try HistoryWriter(connection: connection, perPrincipal: perPrincipal, capacity: queueCapacity, logger: logger)
        readers = ReaderPool(path: path)
        try writer.start()
        logger.info("history store open", metadata: ["path": "\(path)", "perPrincipal": "\(perPrincipal)",
                                                     "lastEventId": "\(writer.lastEventId)"])
    }

    deinit { close() }

    /// The highest event id ever recorded (also those already pruned, and those still queued), or 0.
    /// The gateway starts its id counter above it so ids keep increasing across restarts.
    public func lastEventId() -> Int64 { writer.lastEventId }

    /// Queues an event for storage and returns at once; never blocks on disk. Events that arrive while
    /// the queue is full are dropped and counted (statistics.dropped) and logged by the writer.
    public func record(_ event: StoredEvent) { writer.enqueue(event) }

    /// Blocks until every event recorded before this call is committed.
    public func flush() { writer.flush() }

    public var statistics: Statistics {
        let counters = writer.snapshot
        return Statistics(accepted: counters.accepted, dropped: counters.dropped, committed: counters.committed,
                          failed: counters.failed, duplicates: counters.duplicates)
    }

    /// What the admin console shows of the store: rows kept and bytes on disk (database + WAL).
    public struct Summary: Sendable, Equatable {
        public let events: Int
        public let deliveries: Int
        public let sizeBytes: Int64
    }

    /// Counts rows with a read connection: call it off the event loops (it reads the whole table).
    public func summary() throws(StoreError) -> Summary {
        let counts = try readers.withConnection { connection throws(StoreError) in
            try connection.withStatement("SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM deliveries)") {
                statement throws(StoreError) in
                _ = try statement.step()
                return (events: Int(statement.int64(0)), deliveries: Int(statement.int64(1)))
            }
        }
        let bytes = (FileSystem.fileSize(path) ?? 0) + (FileSystem.fileSize(path + "-wal") ?? 0)
        return Summary(events: counts.events, deliveries: counts.deliveries, sizeBytes: bytes)
    }

    /// Events for any of `principals` on `host`, not sent by `excludingSender`, newest first.
    /// - Parameter sinceTimestamp: ISO 8601; only events strictly later than it (compared as
    ///   instants, so "…Z" and "+00:00" forms agree). A value that is not a timestamp is an error.
    public func recent(
        principals: [String], host: String, excludingSender: String, sinceTimestamp: String?, limit: Int
    ) throws(StoreError) -> [StoredEvent] {
        guard limit >= 0 else { throw .invalidArgument("limit must not be negative, got \(limit)") }
        guard !principals.isEmpty, limit > 0 else { return [] }
        return try readers.withConnection { connection throws(StoreError) in
            let since = try sinceTimestamp.map { text throws(StoreError) in try Self.julianDay(text, connection) }
            return try connection.withStatement(
                """
                SELECT e.id, e.host, e.sender, e.principals, e.timestamp, e.payload FROM events AS e
                WHERE e.id IN (SELECT d.event_id FROM deliveries AS d
                               WHERE d.principal IN (SELECT value FROM json_each(?1)))
                  AND e.host = ?2 AND e.sender <> ?3
                  AND (?4 IS NULL OR coalesce(julianday(e.timestamp) > ?4, e.timestamp > ?5))
                ORDER BY e.id DESC LIMIT ?6
                """
            ) { statement throws(StoreError) in
                statement.bind(1, PrincipalList.encode(principals))
                statement.bind(2, host)
                statement.bind(3, excludingSender)
                statement.bind(4, since)
                statement.bind(5, sinceTimestamp)
                statement.bind(6, limit)
                return try Self.events(from: statement)
            }
        }
    }

    /// Events after `id` for any of `principals` on `host`, not sent by `excludingSender`, oldest
    /// first: what a client that saw event `id` missed while disconnected.
    public func after(
        id: Int64, principals: [String], host: String, excludingSender: String, limit: Int
    ) throws(StoreError) -> [StoredEvent] {
        guard limit >= 0 else { throw .invalidArgument("limit must not be negative, got \(limit)") }
        guard !principals.isEmpty, limit > 0 else { return [] }
        return try readers.withConnection { connection throws(StoreError) in
            try connection.withStatement(
                """
                SELECT e.id, e.host, e.sender, e.principals, e.timestamp, e.payload FROM events AS e
                WHERE e.id IN (SELECT d.event_id FROM deliveries AS d
                               WHERE d.principal IN (SELECT value FROM json_each(?1)) AND d.event_id > ?2)
                  AND e.host = ?3 AND e.sender <> ?4
                ORDER BY e.id ASC LIMIT ?5
                """
            ) { statement throws(StoreError) in
                statement.bind(1, PrincipalList.encode(principals))
                statement.bind(2, id)
                statement.bind(3, host)
                statement.bind(4, excludingSender)
                statement.bind(5, limit)
                return try Self.events(from: statement)
            }
        }
    }

    /// Commits what is queued, stops the writer and closes every connection. Idempotent; later
    /// record() calls are dropped and reads fail with store.closed.
    public func close() {
        writer.close()
        readers.close()
    }

    // MARK: Helpers

    private static func events(from statement: SQLiteStatement) throws(StoreError) -> [StoredEvent] {
        var events: [StoredEvent] = []
        while try statement.step() {
            events.append(StoredEvent(
                id: statement.int64(0), host: statement.string(1), sender: statement.string(2),
                principals: PrincipalList.decode(statement.string(3)), timestamp: statement.string(4),
                payload: statement.blob(5)))
        }
        return events
    }

    /// SQLite's own ISO 8601 parser, so the filter and the stored values are read the same way.
    private static func julianDay(_ timestamp: String, _ connection: SQLiteConnection) throws(StoreError) -> Double {
        try connection.withStatement("SELECT julianday(?1)") { statement throws(StoreError) in
            statement.bind(1, timestamp)
            guard try statement.step(), !statement.isNull(0) else {
                throw StoreError.invalidArgument(
                    "since \"\(timestamp)\" is not an ISO 8601 timestamp (expected e.g. 2026-11-22T10:00:00.000Z)")
            }
            return statement.double(0)
        }
    }
}
