// Durable state of offline delivery (SQLite, one connection behind a lock): who has which
// address, who opted out of what, who read which event, events held by a countdown and the
// messenger deliveries waiting, retrying or done. Every state change is one statement or one
// transaction, so a restart finds each row either before or after it, never half-way.
//
// The redis engine will need the same five things shared between nodes: addresses, opt-outs and
// read marks as hashes, held events and deliveries as sorted sets scored by due time, claimed with
// a Lua script (ZRANGEBYSCORE + ZREM) so exactly one node fires each.
import Foundation
import Logging

public final class OfflineStore: @unchecked Sendable {  // connection guarded by `lock`
    private let connection: SQLiteConnection
    private let lock = NSLock()

    public init(path: String, logger: Logger) throws(StoreError) {
        connection = try OfflineSchema.open(path: path, logger: logger)
        // A delivery claimed by a process that died mid-send is due again (the messenger gets the
        // same delivery id, so it can de-duplicate).
        try connection.execute("UPDATE deliveries SET state = 'pending' WHERE state = 'sending'")
    }

    private func locked<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    public func close() {
        lock.lock()
        defer { lock.unlock() }
        connection.close()
    }

    // MARK: Addresses and preferences

    public enum AddressSource: String, Sendable { case user, claim }

    /// A claim never replaces what the user set; the user's setting replaces anything.
    public func setAddress(_ address: String, principal: String, alias: String, source: AddressSource) throws(StoreError) {
        let sql = source == .user
            ? "INSERT INTO addresses VALUES (?1, ?2, ?3, 'user') ON CONFLICT (principal, alias) DO UPDATE SET address = ?3, source = 'user'"
            : "INSERT INTO addresses VALUES (?1, ?2, ?3, 'claim') ON CONFLICT (principal, alias) DO UPDATE SET address = ?3 WHERE source = 'claim'"
        try locked { () throws(StoreError) in
            try connection.withStatement(sql) { statement throws(StoreError) in
                statement.bind(1, principal); statement.bind(2, alias); statement.bind(3, address)
                try statement.run()
            }
        }
    }

    public func removeAddress(principal: String, alias: String) throws(StoreError) {
        try locked { () throws(StoreError) in
            try connection.withStatement("DELETE FROM addresses WHERE principal = ?1 AND alias = ?2") { statement throws(StoreError) in
                statement.bind(1, principal); statement.bind(2, alias)
                try statement.run()
            }
        }
    }

    /// alias → address of one principal.
    public func addresses(of principal: String) throws(StoreError) -> [String: String] {
        try locked { () throws(StoreError) in
            try connection.withStatement("SELECT alias, address FROM addresses WHERE principal = ?1") { statement throws(StoreError) in
                statement.bind(1, principal)
                var result: [String: String] = [:]
                while try statement.step() { result[statement.string(0)] = statement.string(1) }
                return result
            }
        }
    }

    /// Replaces a principal's opt-outs: alias → categories ("*" = all).
    public func setOptOuts(_ optOuts: [String: [String]], principal: String) throws(StoreError) {
        try locked { () throws(StoreError) in
            try connection.transaction { () throws(StoreError) in
                try connection.withStatement("DELETE FROM opt_outs WHERE principal = ?1") { statement throws(StoreError) in
                    statement.bind(1, principal)
                    try statement.run()
                }
                for (alias, categories) in optOuts {
                    for category in categories {
                        try connection.withStatement("INSERT OR IGNORE INTO opt_outs VALUES (?1, ?2, ?3)") { statement throws(StoreError) in
                            statement.bind(1, principal); statement.bind(2, alias); statement.bind(3, category)
                            try statement.run()
                        }
                    }
                }
            }
        }
    }

    public func optOuts(of principal: String) throws(StoreError) -> [String: [String]] {
        try locked { () throws(StoreError) in
            try connection.withStatement("SELECT alias, category FROM opt_outs WHERE principal = ?1 ORDER BY alias, category") { statement throws(StoreError) in
                statement.bind(1, principal)
                var result: [String: [String]] = [:]
                while try statement.step() { result[statement.string(0), default: []].append(statement.string(1)) }
                return result
            }
        }
    }

    // MARK: Read marks

    public func markRead(eventId: Int64, principal: String, at time: Double) throws(StoreError) {
        try locked { () throws(StoreError) in
            try connection.withStatement("INSERT OR IGNORE INTO reads VALUES (?1, ?2, ?3)") { statement throws(StoreError) in
                statement.bind(1, principal); statement.bind(2, eventId); statement.bind(3, time)
                try statement.run()
            }
        }
    }

    public func hasRead(eventId: Int64, principal: String) throws(StoreError) -> Bool {
        try locked { () throws(StoreError) in
            try connection.withStatement("SELECT 1 FROM reads WHERE principal = ?1 AND event_id = ?2") { statement throws(StoreError) in
                statement.bind(1, principal); statement.bind(2, eventId)
                return try statement.step()
            }
        }
    }

    // MARK: Held events (countdown)

    public func hold(eventId: Int64, publisher: String, dueAt: Double, payload: [UInt8]) throws(StoreError) {
        try locked { () throws(StoreError) in
            try connection.withStatement("INSERT INTO held_events VALUES (?1, ?2, ?3, ?4, 'held')") { statement throws(StoreError) in
                statement.bind(1, eventId); statement.bind(2, publisher); statement.bind(3, dueAt); statement.bind(4, blob: payload)
                try statement.run()
            }
        }
    }

    public enum CancelOutcome: Sendable, Equatable { case cancelled, notHeld, notYours }

    /// Only the publisher may cancel, and only while the event is still held.
    public func cancelHeld(eventId: Int64, publisher: String) throws(StoreError) -> CancelOutcome {
        try locked { () throws(StoreError) in
            try connection.transaction { () throws(StoreError) -> CancelOutcome in
                let owner: String? = try connection.withStatement("SELECT publisher FROM held_events WHERE id = ?1 AND state = 'held'") { statement throws(StoreError) in
                    statement.bind(1, eventId)
                    return try statement.step() ? statement.string(0) : nil
                }
                guard let owner else { return .notHeld }
                guard owner == publisher else { return .notYours }
                try connection.withStatement("UPDATE held_events SET state = 'cancelled' WHERE id = ?1") { statement throws(StoreError) in
                    statement.bind(1, eventId)
                    try statement.run()
                }
                return .cancelled
            }
        }
    }

    /// Claims due held events (marks them routed in the same transaction: at most once).
    public func claimDueHeld(now: Double, limit: Int) throws(StoreError) -> [(id: Int64, payload: [UInt8])] {
        try locked { () throws(StoreError) in
            try connection.transaction { () throws(StoreError) -> [(id: Int64, payload: [UInt8])] in
                let due = try connection.withStatement(
                    "SELECT id, payload FROM held_events WHERE state = 'held' AND due_at <= ?1 ORDER BY due_at LIMIT ?2"
                ) { statement throws(StoreError) in
                    statement.bind(1, now); statement.bind(2, limit)
                    var rows: [(id: Int64, payload: [UInt8])] = []
                    while try statement.step() { rows.append((statement.int64(0), statement.blob(1))) }
                    return rows
                }
                for row in due {
                    try connection.withStatement("UPDATE held_events SET state = 'routed' WHERE id = ?1") { statement throws(StoreError) in
                        statement.bind(1, row.id)
                        try statement.run()
                    }
                }
                return due
            }
        }
    }

    /// The highest id ever held (0 when none): event ids continue after it on restart.
    public func highestHeldId() throws(StoreError) -> Int64 {
        try locked { () throws(StoreError) in
            try connection.withStatement("SELECT coalesce(max(id), 0) FROM held_events") { statement throws(StoreError) in
                try statement.step() ? statement.int64(0) : 0
            }
        }
    }

    public func heldCount() throws(StoreError) -> Int {
        try locked { () throws(StoreError) in
            try connection.withStatement("SELECT count(*) FROM held_events WHERE state = 'held'") { statement throws(StoreError) in
                try statement.step() ? statement.int(0) : 0
            }
        }
    }

    // MARK: Messenger deliveries

    public struct Delivery: Sendable, Equatable {
        public let eventId: Int64
        public let principal: String
        public let alias: String
        public let attempts: Int
        public let payload: [UInt8]
        public var deliveryID: String { "\(eventId)-\(alias)-\(principal)" }
    }

    /// Schedules one delivery; a second schedule of the same (event, principal, alias) is ignored.
    public func schedule(eventId: Int64, principal: String, alias: String, dueAt: Double, payload: [UInt8]) throws(StoreError) {
        try locked { () throws(StoreError) in
            try connection.withStatement(
                "INSERT OR IGNORE INTO deliveries (event_id, principal, alias, due_at, state, payload) VALUES (?1, ?2, ?3, ?4, 'pending', ?5)"
            ) { statement throws(StoreError) in
                statement.bind(1, eventId); statement.bind(2, principal); statement.bind(3, alias)
                statement.bind(4, dueAt); statement.bind(5, blob: payload)
                try statement.run()
            }
        }
    }

    /// Claims due deliveries (state 'sending'); each must end with `finish` or `retry`.
    public func claimDueDeliveries(now: Double, limit: Int) throws(StoreError) -> [Delivery] {
        try locked { () throws(StoreError) in
            try connection.transaction { () throws(StoreError) -> [Delivery] in
                let due = try connection.withStatement(
                    "SELECT event_id, principal, alias, attempts, payload FROM deliveries WHERE state = 'pending' AND due_at <= ?1 ORDER BY due_at LIMIT ?2"
                ) { statement throws(StoreError) in
                    statement.bind(1, now); statement.bind(2, limit)
                    var rows: [Delivery] = []
                    while try statement.step() {
                        rows.append(Delivery(eventId: statement.int64(0), principal: statement.string(1), alias: statement.string(2),
                                             attempts: statement.int(3), payload: statement.blob(4)))
                    }
                    return rows
                }
                for row in due {
                    try update(row, state: "sending", attempts: row.attempts, dueAt: nil, error: nil)
                }
                return due
            }
        }
    }

    /// Final states: sent, skipped (read, opted out, no address), refused, dead.
    public func finish(_ delivery: Delivery, state: String, attempts: Int, error: String?) throws(StoreError) {
        try locked { () throws(StoreError) in try update(delivery, state: state, attempts: attempts, dueAt: nil, error: error) }
    }

    public func retry(_ delivery: Delivery, attempts: Int, dueAt: Double, error: String) throws(StoreError) {
        try locked { () throws(StoreError) in try update(delivery, state: "pending", attempts: attempts, dueAt: dueAt, error: error) }
    }

    private func update(_ delivery: Delivery, state: String, attempts: Int, dueAt: Double?, error: String?) throws(StoreError) {
        try connection.withStatement(
            "UPDATE deliveries SET state = ?4, attempts = ?5, due_at = coalesce(?6, due_at), last_error = coalesce(?7, last_error) WHERE event_id = ?1 AND principal = ?2 AND alias = ?3"
        ) { statement throws(StoreError) in
            statement.bind(1, delivery.eventId); statement.bind(2, delivery.principal); statement.bind(3, delivery.alias)
            statement.bind(4, state); statement.bind(5, attempts); statement.bind(6, dueAt); statement.bind(7, error)
            try statement.run()
        }
    }

    /// state → count, for tests and health.
    public func deliveryStates() throws(StoreError) -> [String: Int] {
        try locked { () throws(StoreError) in
            try connection.withStatement("SELECT state, count(*) FROM deliveries GROUP BY state") { statement throws(StoreError) in
                var result: [String: Int] = [:]
                while try statement.step() { result[statement.string(0)] = statement.int(1) }
                return result
            }
        }
    }
}
